"""The header line: counts per state, whether the engine runs here or in a daemon, the nodes of a
cluster (PostgreSQL), and trouble with the engine itself (a storage stall, a stuck loop)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import ClassVar, Final

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from shiptrack_tui.core.cluster_view import ClusterHeader
from shiptrack_tui.core.model import MonitorStatus, MonitorSummary
from shiptrack_tui.tui.formatting import MUTED_MARK, STATE_SYMBOLS, status_of

SHOWN: Final = (
    (MonitorStatus.UP, "up", "up"),
    (MonitorStatus.DEGRADED, "degraded", "deg"),
    (MonitorStatus.PENDING, "pending", "pend"),
    (MonitorStatus.DOWN, "down", "down"),
    (MonitorStatus.PAUSED, "paused", "paused"),
)
INCIDENT_MARK: Final = "⚑"


def count_states(summaries: Sequence[MonitorSummary]) -> dict[MonitorStatus, int]:
    counts = Counter(status_of(summary) for summary in summaries)
    return {status: counts.get(status, 0) for status in MonitorStatus}


def short_mode(mode: str) -> str:
    """`attached to daemon (pid 42)` → `daemon 42`; `daemon stopped 3m ago` → `stopped 3m`;
    `engine running` → `engine`."""
    if mode.startswith("attached to daemon (pid "):
        return "daemon " + mode.removeprefix("attached to daemon (pid ").rstrip(")")
    if mode.startswith("daemon stopped "):
        return "stopped " + mode.removeprefix("daemon stopped ").removesuffix(" ago")
    return mode.split(" ")[0]


class StatusBar(Widget):
    """`ShipTrack  ● 5 up … ✖ 1 down … ⚑ 1 open incident │ engine running`; red (`-trouble`) while
    anything is down. Narrower terminals drop words before numbers: `●5 ◐0 ▲0 ✖1 ‖0 ⚑1 │ engine`.
    On a cluster the nodes follow: `│ 3 nodes alive`, or `│ 2 of 3 nodes alive │ config skew: fra-2
    │ no node in ap-south` in the warning colour."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"status-bar--warning"}

    counts: reactive[dict[MonitorStatus, int]] = reactive(dict, init=False)
    """Monitors per state."""
    incidents: reactive[int] = reactive(0)
    """Open or acknowledged incidents."""
    mode: reactive[str] = reactive("engine running")
    """"engine running", "attached to daemon (pid N)" or "daemon stopped 3m ago"."""
    silenced: reactive[tuple[str, ...]] = reactive(tuple)
    """Active silences with their expiry, e.g. "tag:prod 14m left"."""
    engine_problem: reactive[str] = reactive("")
    """What is wrong with the engine, e.g. "storage stalled for 45s: database is locked; …"."""
    cluster: reactive[ClusterHeader | None] = reactive(None)
    """The nodes sharing the database (None: not a cluster, as on SQLite)."""

    def watch_counts(self, counts: dict[MonitorStatus, int]) -> None:
        self.set_class(counts.get(MonitorStatus.DOWN, 0) > 0 or bool(self.engine_problem), "-trouble")

    def watch_engine_problem(self, problem: str) -> None:
        self.set_class(self.counts.get(MonitorStatus.DOWN, 0) > 0 or bool(problem), "-trouble")

    def _variants(self) -> list[Text]:
        """From the widest to the narrowest: words go first, numbers stay."""
        counts, open_count = self.counts, self.incidents
        incident_label = "open incident" if open_count == 1 else "open incidents"
        variants = []
        for level, short_mode_text in ((0, False), (1, False), (1, True), (2, True)):
            text = Text(no_wrap=True, overflow="ellipsis")
            if level == 0:
                text.append(" ShipTrack ", style="bold")
            for status, label, short in SHOWN:
                count = counts.get(status, 0)
                if level == 2:
                    text.append(f" {STATE_SYMBOLS[status]}{count}")
                else:
                    text.append(f"{'  ' if level == 0 else ' '}{STATE_SYMBOLS[status]} {count} "
                                f"{label if level == 0 else short}")
            incidents = (f"{INCIDENT_MARK} {open_count} {incident_label}",
                         f"{INCIDENT_MARK} {open_count} open", f"{INCIDENT_MARK}{open_count}")[level]
            text.append("  " if level < 2 else " ")
            text.append(incidents, style="bold" if open_count else "")
            text.append("   │ " if level == 0 else " │ ")
            text.append(short_mode(self.mode) if short_mode_text else self.mode, style="bold")
            variants.append(text)
        return variants

    def _cluster_text(self) -> Text:
        """`  │ 3 nodes alive`, or the warning-coloured `  │ 2 of 3 nodes alive  │ config skew: fra-2`."""
        text = Text()
        cluster = self.cluster
        if cluster is None:
            return text
        warning = self.get_component_rich_style("status-bar--warning", partial=True)
        text.append("  │ ")
        text.append(cluster.nodes_text, style=warning if cluster.missing else "")
        if cluster.skewed:
            text.append("  │ ")
            text.append(cluster.skew_text, style=warning)
        if cluster.unserved:
            text.append("  │ ")
            text.append(cluster.unserved_text, style=warning)
        return text

    def render(self) -> Text:
        width = self.size.width
        variants = self._variants()
        cluster = self._cluster_text()
        # The engine's trouble must show whole: counts drop their words to make room for it.
        room = len(f"  │ ⚠ {self.engine_problem}") if self.engine_problem else 0
        room += cluster.cell_len
        text = next((v for v in variants if v.cell_len + room <= width), variants[-1])
        text.append_text(cluster)
        if self.engine_problem:  # before the silences: it is the more urgent news
            text.append("  │ ⚠ ", style="bold")
            text.append(self.engine_problem, style="bold")
        if self.silenced:
            text.append(f"  │ {MUTED_MARK} ", style="bold")
            text.append(", ".join(self.silenced))
        return text
