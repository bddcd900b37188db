"""Scrollbars whose thumbs are drawn in whole cells.

Textual ends a scrollbar's thumb with eighth blocks (`▁▂▃▄▅▆▇`) for sub-cell precision: the very
glyphs the latency chart and the sparklines draw. With the default themes the thumb's body is
barely brighter than its track, so only those two-cell ends stood out, and at the edge of the
chart, in the incidents pane, over the help and in the command palette they read as chart
fragments left behind. Whole cells trade an eighth of a cell of precision for a thumb that cannot
be mistaken for data.
"""

from __future__ import annotations

from typing import ClassVar

from textual.scrollbar import ScrollBar, ScrollBarRender


class WholeCellScrollBarRender(ScrollBarRender):
    """Textual's scrollbar with blank thumb ends: `render_bar` draws no partial glyph for a blank."""

    VERTICAL_BARS: ClassVar[list[str]] = [" "] * 8
    HORIZONTAL_BARS: ClassVar[list[str]] = [" "] * 8


def install() -> None:
    """Every scrollbar in this process draws whole cells (Textual's documented `renderer` hook)."""
    ScrollBar.renderer = WholeCellScrollBarRender
