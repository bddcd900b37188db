"""Shields-style "flat" SVG badges: a grey label and a coloured value, sized to their text.

Text widths are estimated from Verdana's advance widths at 11 px (the font shields.io measures
with); `textLength` then makes any fallback font fit the same box. Every text is XML-escaped.
"""

from __future__ import annotations

import unicodedata
from typing import Final

from markupsafe import escape

# Named colours as shields.io draws them.
COLOURS: Final = {
    "brightgreen": "#4c1", "green": "#97ca00", "yellowgreen": "#a4a61d", "yellow": "#dfb317",
    "orange": "#fe7d37", "red": "#e05d44", "blue": "#007ec6", "grey": "#555", "lightgrey": "#9f9f9f",
}
MAX_TEXT: Final = 48  # characters; longer labels are cut with an ellipsis

# Verdana advance widths (units of 1/2048 em) for " " through "~".
_VERDANA_UNITS: Final = (
    720, 824, 1032, 1668, 1303, 2215, 1487, 563, 1018, 1018, 1303, 1716, 745, 862, 745, 1298,
    1303, 1303, 1303, 1303, 1303, 1303, 1303, 1303, 1303, 1303, 929, 929, 1716, 1716, 1716, 1118,
    2048, 1401, 1405, 1430, 1577, 1294, 1178, 1587, 1540, 862, 946, 1420, 1145, 1757, 1532, 1614,
    1241, 1614, 1432, 1401, 1243, 1499, 1401, 2025, 1403, 1243, 1403, 1018, 1298, 1018, 1716, 1303,
    1303, 1229, 1264, 1057, 1264, 1208, 720, 1264, 1296, 562, 676, 1183, 562, 1992, 1296, 1247,
    1264, 1264, 874, 1063, 807, 1296, 1183, 1675, 1183, 1183, 1063, 1300, 929, 1300, 1716,
)
_PX_PER_UNIT: Final = 11 / 2048
_OTHER_PX: Final = 7.5  # a letter outside ASCII
_WIDE_PX: Final = 11.0  # East Asian wide and full-width characters


def text_width(text: str) -> float:
    """The estimated width of `text` in Verdana 11 px, in pixels."""
    width = 0.0
    for char in text:
        code = ord(char)
        if 32 <= code <= 126:
            width += _VERDANA_UNITS[code - 32] * _PX_PER_UNIT
        elif unicodedata.combining(char):
            continue
        elif unicodedata.east_asian_width(char) in ("W", "F"):
            width += _WIDE_PX
        else:
            width += _OTHER_PX
    return width


def _cut(text: str) -> str:
    text = " ".join(text.split())  # no line breaks or runs of spaces inside a badge
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def render_badge(label: str, value: str, colour: str) -> str:
    """The SVG document for `label | value`; `colour` is a name in COLOURS or a #hex colour."""
    label, value = _cut(label), _cut(value)
    fill = COLOURS.get(colour, colour)
    label_text, value_text = round(text_width(label)), round(text_width(value))
    label_box, value_box = label_text + 10, value_text + 10
    width = label_box + value_box
    shown_label, shown_value, fill_attr = escape(label), escape(value), escape(fill)
    title = escape(f"{label}: {value}")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" role="img" '
        f'aria-label="{title}"><title>{title}</title>'
        '<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/>'
        '<stop offset="1" stop-opacity=".1"/></linearGradient>'
        f'<clipPath id="r"><rect width="{width}" height="20" rx="3" fill="#fff"/></clipPath>'
        f'<g clip-path="url(#r)"><rect width="{label_box}" height="20" fill="#555"/>'
        f'<rect x="{label_box}" width="{value_box}" height="20" fill="{fill_attr}"/>'
        f'<rect width="{width}" height="20" fill="url(#s)"/></g>'
        '<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" '
        'text-rendering="geometricPrecision" font-size="110">'
        f'{_text(label_box * 5, label_text, shown_label)}'
        f'{_text(label_box * 10 + value_box * 5, value_text, shown_value)}'
        "</g></svg>"
    )


def _text(x: int, length: int, shown: str) -> str:
    """A text with shields' drop shadow, centred at x (tenths of a pixel)."""
    fit = f'transform="scale(.1)" textLength="{length * 10}"'
    return (f'<text aria-hidden="true" x="{x}" y="150" fill="#010101" fill-opacity=".3" {fit}>{shown}</text>'
            f'<text x="{x}" y="140" fill="#fff" {fit}>{shown}</text>')
