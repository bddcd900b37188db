"""A small latency chart that can draw gaps: blank where there is no data, a red ✕ row for failures.

Textual's Sparkline draws every value as a bar, so an empty slice looks like the fastest one. This
widget resamples the series to its width, draws eighth-block bars `BAR_ROWS` rows tall (see
`bar_rows`), leaves empty columns blank and marks columns holding a failed check with ✕ on the row
beneath. It renders one small `Text`; nothing is drawn per frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Final

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

BLOCKS: Final = " ▁▂▃▄▅▆▇█"
BAR_ROWS: Final = 4
FAILURE_MARK: Final = "✕"


def resample(values: Sequence[float | None], failures: Sequence[int], width: int
             ) -> tuple[list[float | None], list[bool]]:
    """Fold the slices into `width` columns: each column's highest latency and whether it failed.

    Fewer slices than columns: each slice is widened so the chart fills the width."""
    count = len(values)
    if width <= 0 or count == 0:
        return [], []
    if count < width:
        slices = [column * count // width for column in range(width)]
        return ([values[index] for index in slices],
                [bool(failures and failures[index]) for index in slices])
    columns = min(width, count)
    peaks: list[float | None] = []
    failed: list[bool] = []
    for column in range(columns):
        start, end = column * count // columns, (column + 1) * count // columns
        present = [v for v in values[start:end] if v is not None]
        peaks.append(max(present) if present else None)
        failed.append(any(failures[start:end]) if failures else False)
    return peaks, failed


def bar_rows(peaks: Sequence[float | None], rows: int = BAR_ROWS) -> list[str]:
    """The bars as `rows` strings, top row first; a column without data stays blank.

    Bars rise from a baseline half the spread below the lowest value (never below zero), so small
    variations show while the lowest bar still has height."""
    present = [p for p in peaks if p is not None]
    high, low = (max(present), min(present)) if present else (0.0, 0.0)
    base = max(0.0, low - (high - low) / 2)
    levels = rows * (len(BLOCKS) - 1)
    span = high - base
    heights = [0 if p is None else max(1, round((p - base) / span * levels)) if span > 0 else levels
               for p in peaks]
    lines = []
    for row in range(rows - 1, -1, -1):
        base = row * (len(BLOCKS) - 1)
        lines.append("".join(BLOCKS[min(len(BLOCKS) - 1, max(0, h - base))] for h in heights))
    return lines


class LatencyChart(Widget):
    """Latency per time slice with gaps and failures; the detail pane sets `series` and `failures`."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"latency-chart--bar", "latency-chart--failure"}

    series: reactive[tuple[float | None, ...]] = reactive((), layout=False)
    """Median latency per slice, oldest first; None where the slice holds no successful check."""
    failures: reactive[tuple[int, ...]] = reactive(())
    """Failed checks per slice (same slices as `series`)."""

    def render(self) -> Text:
        width = self.size.width
        peaks, failed = resample(self.series, self.failures, width)
        text = Text(no_wrap=True, overflow="crop")
        if not peaks:
            return text
        pad = " " * (width - len(peaks))
        bar_style = self.get_component_rich_style("latency-chart--bar", partial=True)
        for line in bar_rows(peaks):
            text.append(pad + line + "\n", style=bar_style)
        marks = "".join(FAILURE_MARK if bad else " " for bad in failed)
        text.append(pad + marks, style=self.get_component_rich_style("latency-chart--failure", partial=True))
        return text
