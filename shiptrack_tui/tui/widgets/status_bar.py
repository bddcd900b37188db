"""The header line: counts per state and whether the engine runs here or in a daemon."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Final

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from shiptrack_tui.core.model import MonitorStatus, MonitorSummary
from shiptrack_tui.tui.formatting import MUTED_MARK, STATE_SYMBOLS, status_of

SHOWN: Final = (
    (MonitorStatus.UP, "up", "up"),
    (MonitorStatus.DEGRADED, "degraded", "deg"),
    (MonitorStatus.PENDING, "pending", "pend"),
    (MonitorStatus.DOWN, "down", "down"),
    (MonitorStatus.PAUSED, "paused", "paused"),
)
COMPACT_BELOW: Final = 110


def count_states(summaries: Sequence[MonitorSummary]) -> dict[MonitorStatus, int]:
    counts = Counter(status_of(summary) for summary in summaries)
    return {status: counts.get(status, 0) for status in MonitorStatus}


class StatusBar(Widget):
    """`ShipTrack  ● 5 up  ◐ 1 degraded …  │ engine running`; `-trouble` while anything is down."""

    counts: reactive[dict[MonitorStatus, int]] = reactive(dict, init=False)
    """Monitors per state."""
    mode: reactive[str] = reactive("engine running")
    """"engine running" or "attached to daemon (pid N)"."""
    silenced: reactive[tuple[str, ...]] = reactive(tuple)
    """Active silences with their expiry, e.g. "tag:prod 14m left"."""

    def watch_counts(self, counts: dict[MonitorStatus, int]) -> None:
        self.set_class(counts.get(MonitorStatus.DOWN, 0) > 0, "-trouble")

    def render(self) -> Text:
        compact = self.size.width < COMPACT_BELOW
        counts = self.counts
        text = Text(no_wrap=True, overflow="ellipsis")
        if not compact:
            text.append(" ShipTrack ", style="bold")
        for status, label, short in SHOWN:
            text.append(" " if compact else "  ")
            text.append(f"{STATE_SYMBOLS[status]} {counts.get(status, 0)} {short if compact else label}")
        text.append(" │ " if compact else "   │ ")
        text.append(self.mode, style="bold")
        if self.silenced:
            text.append(f"  │ {MUTED_MARK} ", style="bold")
            text.append(", ".join(self.silenced))
        return text
