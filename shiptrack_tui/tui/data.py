"""What the dashboard shows, read from the store in one go on the database thread.

These functions run off the UI loop; they return plain frozen data the widgets can render.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from shiptrack_tui.core.model import (
    CheckResult,
    Incident,
    IncidentState,
    MonitorSummary,
    Outcome,
    Silence,
    WindowStats,
)
from shiptrack_tui.core.stats import WINDOWS

if TYPE_CHECKING:
    from shiptrack_tui.tui.store_access import StoreReader

SPARK_WIDTH: Final = 10
CHART_WINDOWS: Final = ("1h", "24h", "7d")
CHART_POINTS: Final = 120
RECENT_RESOLVED: Final = 20
RECENT_CHECKS: Final = 12


@dataclass(frozen=True, slots=True)
class Overview:
    """Every monitor, its recent latency, and the incident list, as of `now`."""

    now: float
    summaries: tuple[MonitorSummary, ...] = ()
    sparks: Mapping[str, tuple[float | None, ...]] = field(default_factory=dict)
    incidents: tuple[Incident, ...] = ()
    silences: tuple[Silence, ...] = ()


@dataclass(frozen=True, slots=True)
class MonitorDetail:
    """The selected monitor: chart series for one window, stats for each window, recent checks."""

    now: float
    summary: MonitorSummary
    window: str
    series: tuple[float | None, ...]
    stats: Mapping[str, WindowStats]
    checks: tuple[CheckResult, ...]


def _spark_of(checks: list[CheckResult]) -> tuple[float | None, ...]:
    ordered = sorted(checks, key=lambda check: check.at)
    return tuple(None if c.outcome is Outcome.DOWN else c.latency_ms for c in ordered)


def read_overview(store: StoreReader, now: float, previous: Overview | None = None) -> Overview:
    """Read the overview; sparklines are re-read only for monitors checked since `previous`."""
    summaries = tuple(store.monitor_summaries(now, windows=("24h",)))
    old_checked = {s.name: s.state.last_check_at for s in previous.summaries} if previous else {}
    old_sparks = previous.sparks if previous else {}
    sparks: dict[str, tuple[float | None, ...]] = {}
    for summary in summaries:
        name = summary.name
        if name in old_sparks and old_checked.get(name) == summary.state.last_check_at:
            sparks[name] = old_sparks[name]
        elif summary.state.last_check_at is None:
            sparks[name] = ()
        else:
            sparks[name] = _spark_of(store.recent_checks(name, limit=SPARK_WIDTH))
    return Overview(now=now, summaries=summaries, sparks=sparks, incidents=read_incidents(store),
                    silences=tuple(store.active_silences()))


def read_incidents(store: StoreReader) -> tuple[Incident, ...]:
    """Open and acknowledged incidents first (newest first), then recently resolved ones."""
    active = store.incidents(open_only=True)
    recent = store.incidents(limit=RECENT_RESOLVED + len(active))
    resolved = [i for i in recent if i.state is IncidentState.RESOLVED][:RECENT_RESOLVED]
    active_sorted = sorted(
        active, key=lambda i: (i.state is not IncidentState.OPEN, -i.opened_at, -i.id)
    )
    resolved_sorted = sorted(resolved, key=lambda i: (-(i.resolved_at or i.opened_at), -i.id))
    return (*active_sorted, *resolved_sorted)


def read_detail(store: StoreReader, summary: MonitorSummary, window: str, now: float) -> MonitorDetail:
    seconds = WINDOWS[window]
    series = store.latency_series(summary.name, now - seconds, now, CHART_POINTS)
    stats = {name: store.window_stats(summary.name, now, WINDOWS[name]) for name in CHART_WINDOWS}
    checks = sorted(store.recent_checks(summary.name, limit=RECENT_CHECKS), key=lambda c: -c.at)
    return MonitorDetail(
        now=now, summary=summary, window=window, series=tuple(series), stats=stats, checks=tuple(checks)
    )
