"""What the dashboard shows, read from the store in one go on the database thread.

These functions run off the UI loop; they return plain frozen data the widgets can render.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from shiptrack_tui.core.cluster_view import checkers_text
from shiptrack_tui.core.location_view import LocationView
from shiptrack_tui.core.model import (
    CheckResult,
    Incident,
    IncidentState,
    MonitorSummary,
    Outcome,
    Silence,
    WindowStats,
)
from shiptrack_tui.core.push import PUSH_TARGET
from shiptrack_tui.core.stats import WINDOWS

if TYPE_CHECKING:
    from shiptrack_tui.tui.store_access import StoreReader

SPARK_WIDTH: Final = 10
STATS_SECONDS: Final = 15.0
"""Each monitor's 24 h figures in the table are re-read at least this often (a slice per read)."""
CHART_WINDOWS: Final = ("1h", "24h", "7d")
CHART_POINTS: Final = 120
RECENT_RESOLVED: Final = 20
RECENT_CHECKS: Final = 12
MIN_SPAN: Final = 10.0


@dataclass(frozen=True, slots=True)
class Overview:
    """Every monitor, its recent latency, and the incident list, as of `now`."""

    now: float
    summaries: tuple[MonitorSummary, ...] = ()
    sparks: Mapping[str, tuple[float | None, ...]] = field(default_factory=dict)
    incidents: tuple[Incident, ...] = ()
    silences: tuple[Silence, ...] = ()
    marks: Mapping[str, tuple[object, ...]] = field(default_factory=dict)
    """Per monitor, what `Store.monitor_marks` said when this was read: the next read's baseline."""
    timeline_id: int = 0
    """The newest timeline entry when this was read: incidents are re-read only when it moves."""
    stats_cursor: int = 0
    """Where the rolling re-read of 24 h figures continues (an index into the sorted names)."""
    changed: frozenset[str] | None = None
    """Monitors re-read since the previous overview (None: everything was read)."""


@dataclass(frozen=True, slots=True)
class MonitorDetail:
    """The selected monitor: chart series for one window, stats for each window, recent checks."""

    now: float
    summary: MonitorSummary
    window: str
    series: tuple[float | None, ...]
    stats: Mapping[str, WindowStats]
    checks: tuple[CheckResult, ...]
    failures: tuple[int, ...] = ()
    """Failed checks per chart slice (the same slices as `series`)."""
    span: float = 0.0
    """Seconds the chart covers, ending at `now`: the window, or less for a younger monitor."""
    push_token: str | None = field(default=None, repr=False)
    """A push monitor's token: its ping URL is /push/<token> (shown in the pane, never logged)."""
    locations: tuple[LocationView, ...] = ()
    """A multi-location monitor: each location's latest check (DESIGN §12)."""
    checked_by: str | None = None
    """On a cluster, who checks it: `fra-1 (eu-west)` ("" when no node holds its lease now);
    None when no cluster shares the store (SQLite, or PostgreSQL without nodes)."""


def _spark_of(checks: list[CheckResult]) -> tuple[float | None, ...]:
    ordered = sorted(checks, key=lambda check: check.at)
    return tuple(None if c.outcome is Outcome.DOWN else c.latency_ms for c in ordered)


def _read_sparks(store: StoreReader, summaries: Iterable[MonitorSummary], previous: Overview | None,
                 into: dict[str, tuple[float | None, ...]]) -> None:
    """Sparklines for `summaries`, re-read only for monitors checked since `previous`."""
    old_by_name = {s.name: s for s in previous.summaries} if previous else {}
    old_sparks = previous.sparks if previous else {}
    for summary in summaries:
        name = summary.name
        old = old_by_name.get(name)
        if name in old_sparks and old is not None and old.state.last_check_at == summary.state.last_check_at:
            into[name] = old_sparks[name]
        elif summary.state.last_check_at is None:
            into[name] = ()
        else:
            into[name] = _spark_of(store.recent_checks(name, limit=SPARK_WIDTH))


def read_overview(store: StoreReader, now: float, previous: Overview | None = None) -> Overview:
    """Read everything: every monitor with its 24 h figures, sparklines, incidents, silences."""
    timeline_id, marks = store.monitor_marks()  # first: a change after this shows up next time
    summaries = tuple(store.monitor_summaries(now, windows=("24h",)))
    sparks: dict[str, tuple[float | None, ...]] = {}
    _read_sparks(store, summaries, previous, sparks)
    return Overview(now=now, summaries=summaries, sparks=sparks, incidents=read_incidents(store),
                    silences=tuple(store.active_silences()), marks=marks, timeline_id=timeline_id)


def read_changes(store: StoreReader, now: float, previous: Overview) -> Overview:
    """Re-read only what changed since `previous`, plus a slice of the 24 h figures.

    `Store.monitor_marks` (well under a millisecond for 1,000 monitors) names the monitors whose
    row or incident changed; only those are read again, with their sparklines. The 24 h figures
    of the others age slowly: a rolling slice of them is re-read each time, so each is at most
    `STATS_SECONDS` old and no single read pays for all of them. Incidents are re-read only when
    the timeline moved. Unchanged monitors keep their very summary objects, so the table skips
    them cheaply.
    """
    timeline_id, marks = store.monitor_marks()
    changed = {name for name, mark in marks.items() if previous.marks.get(name) != mark}
    if len(changed) > len(marks) // 2:
        return read_overview(store, now, previous)
    names = sorted(marks)
    removed = previous.marks.keys() - marks.keys()
    timeline_moved = timeline_id != previous.timeline_id
    old_by_name = {s.name: s for s in previous.summaries}
    if timeline_moved:  # a failed notification flags its open incident's monitor
        changed |= {s.name for s in previous.summaries if s.open_incident_id is not None}
    share = min(1.0, max(0.0, now - previous.now) / STATS_SECONDS)
    count = min(len(names), math.ceil(len(names) * share))
    cursor = previous.stats_cursor % len(names) if names else 0
    rolling = {names[(cursor + step) % len(names)] for step in range(count)}
    wanted = (changed | rolling) & marks.keys()
    read = store.monitor_summaries(now, windows=("24h",), names=wanted) if wanted else []
    fresh = {summary.name: summary for summary in read}
    summaries = tuple(fresh.get(name) or old_by_name[name] for name in names
                      if name in fresh or name in old_by_name)
    sparks = {name: spark for name, spark in previous.sparks.items() if name in marks}
    _read_sparks(store, (fresh[name] for name in changed if name in fresh), previous, sparks)
    incidents = read_incidents(store) if timeline_moved else previous.incidents
    return Overview(now=now, summaries=summaries, sparks=sparks, incidents=incidents,
                    silences=tuple(store.active_silences()), marks=marks, timeline_id=timeline_id,
                    stats_cursor=cursor + count, changed=frozenset(wanted | removed))


def read_incidents(store: StoreReader) -> tuple[Incident, ...]:
    """Open incidents first (acknowledged ones too), then recently resolved ones; each group by
    start time (the first failed check, where "for" and "lasted" count from), newest first."""
    active = store.incidents(open_only=True)
    recent = store.incidents(limit=RECENT_RESOLVED + len(active))
    resolved = [i for i in recent if i.state is IncidentState.RESOLVED][:RECENT_RESOLVED]
    return tuple(sorted((*active, *resolved),
                        key=lambda i: (i.state is IncidentState.RESOLVED, -i.started_at, -i.id)))


def chart_span(window_seconds: float, now: float, first_check_at: float | None) -> float:
    """The chart's span: the window, zoomed to the data when the monitor is younger than it."""
    if first_check_at is None or now - first_check_at >= window_seconds:
        return window_seconds
    # A little room before the first check, so it lands inside the chart.
    age = max(0.0, now - first_check_at)
    return min(window_seconds, max(MIN_SPAN, age * 1.05 + 1.0))


def read_detail(store: StoreReader, summary: MonitorSummary, window: str, now: float,
                clustered: bool = False) -> MonitorDetail:
    """The selected monitor's detail; `clustered` (nodes share this PostgreSQL database) adds who
    checks it."""
    name = summary.name
    span = chart_span(WINDOWS[window], now, store.first_check_at(name))
    stats = {each: store.window_stats(name, now, WINDOWS[each]) for each in CHART_WINDOWS}
    points = CHART_POINTS
    if span < WINDOWS[window]:  # a young monitor: about one slice per check, so bars stay together
        points = max(10, min(CHART_POINTS, stats["1h"].checks))
    series = store.latency_series(name, now - span, now, points)
    failures = store.failure_series(name, now - span, now, points)
    checks = sorted(store.recent_checks(name, limit=RECENT_CHECKS), key=lambda c: -c.at)
    token = store.push_token(name) if summary.target == PUSH_TARGET else None
    locations = store.location_states([name]).get(name, ())
    checked_by = checkers_text(store.monitor_checkers([name]).get(name, ())) if clustered else None
    return MonitorDetail(now=now, summary=summary, window=window, series=tuple(series), stats=stats,
                         checks=tuple(checks), failures=tuple(failures), span=span, push_token=token,
                         locations=locations, checked_by=checked_by)
