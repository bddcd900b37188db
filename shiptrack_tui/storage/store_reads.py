"""The Store's reads for the dashboard, the CLI and the HTTP surface (a mixin of store.Store).

Every method reads through the calling thread's connection; none writes.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any

from shiptrack_tui.core.cluster_view import DEFAULT_LEASE
from shiptrack_tui.core.days import DayCounts
from shiptrack_tui.core.location_view import LocationView
from shiptrack_tui.core.model import (
    CheckResult,
    Incident,
    MonitorStatus,
    MonitorSummary,
    TimelineKind,
    WindowStats,
)
from shiptrack_tui.core.postmortem import CheckSpan, PhaseChecks
from shiptrack_tui.core.stats import WINDOWS
from shiptrack_tui.storage import daily, gauges, postmortem_reads, reads, series
from shiptrack_tui.storage import windows as windows_module
from shiptrack_tui.storage.codec import load_tags
from shiptrack_tui.storage.gauges import StoreGauges
from shiptrack_tui.storage.windows import Subject

if TYPE_CHECKING:
    from shiptrack_tui.core.cluster_view import Checker, ClusterNode
    from shiptrack_tui.storage.dialect import Connection
    from shiptrack_tui.storage.names import Names
    from shiptrack_tui.storage.windows import SegmentCache

CHANGE_POLL_SECONDS = 0.05  # how often wait_for_change reads PRAGMA data_version on SQLite


class StoreReads:
    """Reads shared by every reader of the database; `Store` provides the connection."""

    _db: Any
    _names: Names
    _segments: SegmentCache
    backend: str

    def _conn(self) -> Connection:
        raise NotImplementedError

    # -- reads for the dashboard and the CLI --------------------------------------------------
    def monitor_summaries(self, now: float, windows: Sequence[str] = ("1h", "24h", "7d", "30d"),
                          names: Collection[str] | None = None) -> list[MonitorSummary]:
        """Every monitor that is not removed (or only those in `names`), by name, with stats for
        the named windows."""
        failed = reads.notify_failed_incidents(self._db)
        rows = reads.monitor_rows(self._db, names)
        subjects = [Subject(row.id, row.rolled_hour, row.newest_check_ms) for row in rows]
        seconds = [WINDOWS[name] for name in windows]
        stats = windows_module.window_stats_many(self._conn(), subjects, now, seconds, self._segments)
        by_window = dict(zip(windows, stats, strict=True))
        summaries = []
        for row in rows:
            stats = {name: by_window[name][row.id] for name in windows}
            incident_id = row.open_incident_id
            summaries.append(MonitorSummary(
                name=row.name, target=row.target, tags=load_tags(row.tags), state=row.state,
                last_status_code=row.last_status_code, cert_days_left=row.cert_days_left,
                windows=stats, open_incident_id=incident_id, notify_failed=incident_id in failed,
            ))
        return summaries

    def monitor_marks(self) -> tuple[int, dict[str, tuple[object, ...]]]:
        """A cheap fingerprint of what the dashboard shows: (the newest timeline entry's id,
        name -> a tuple that changes whenever that monitor's row or open incident changes).

        Comparing two answers names the monitors to re-read (~0.5 ms for 1,000 monitors)."""
        return reads.latest_timeline_id(self._db), reads.monitor_marks(self._db)

    def window_stats(self, monitor: str, now: float, window_seconds: float) -> WindowStats:
        """Uptime and p50/p95 over (now - window_seconds, now]; WindowStats() without data."""
        row = self._conn().execute("SELECT id, rolled_hour, newest_check_ms FROM monitor WHERE name = ?",
                                   (monitor,)).fetchone()
        if row is None:
            return WindowStats()
        found = windows_module.window_stats_many(self._conn(), [Subject(*row)], now, [window_seconds],
                                                 self._segments)
        return found[0][row[0]]

    def incidents(self, open_only: bool = False, monitor: str | None = None,
                  limit: int | None = None) -> list[Incident]:
        """Newest first, open/acknowledged before resolved, each with its timeline in time order."""
        return reads.incidents(self._db, open_only=open_only, monitor=monitor, limit=limit)

    def incident(self, incident_id: int) -> Incident | None:
        found = reads.incidents(self._db, incident_id=incident_id)
        return found[0] if found else None

    def statuses(self, monitors: Collection[str]) -> dict[str, MonitorStatus]:
        """The stored status of each named monitor (removed ones and unknown names are absent)."""
        return daily.statuses(self._conn(), monitors)

    def daily_counts(self, monitors: Collection[str], first_day: int,
                     stop_day: int) -> dict[str, dict[int, DayCounts]]:
        """Checks per outcome for each named monitor and UTC day (epoch seconds // 86400) in
        [first_day, stop_day), from the day rollups; days without checks are absent."""
        ids = daily.monitor_ids(self._conn(), monitors)
        counts = daily.daily_counts(self._conn(), list(ids.values()), first_day, stop_day)
        return {name: counts[monitor_id] for name, monitor_id in ids.items()}

    def recent_incidents(self, monitors: Collection[str], resolved_since: float, limit: int,
                         kinds: Collection[TimelineKind]) -> list[Incident]:
        """The named monitors' open incidents and those resolved since `resolved_since` (open first,
        then newest first, at most `limit`), each with only its timeline entries of `kinds`."""
        return daily.recent_incidents(self._conn(), monitors, resolved_since, limit, kinds)

    def recent_checks(self, monitor: str, limit: int = 50, since: float | None = None) -> list[CheckResult]:
        """The monitor's latest raw checks (only those at or after `since`), newest first."""
        monitor_id = self._names.find_monitor(self._conn(), monitor)
        if monitor_id is None:
            return []
        return reads.recent_checks(self._db, monitor_id, monitor, limit, since)

    def incident_checks(self, monitor: str, spans: Sequence[CheckSpan]) -> tuple[PhaseChecks, ...]:
        """The monitor's stored checks in each span (core/postmortem.py), each read capped at its limit."""
        monitor_id = self._names.find_monitor(self._conn(), monitor)
        if monitor_id is None:
            return tuple(PhaseChecks(span) for span in spans)
        return postmortem_reads.span_checks(self._db, monitor_id, monitor, spans)

    def latency_series(self, monitor: str, since: float, until: float, points: int) -> list[float | None]:
        """Median latency per equal slice of [since, until] (None where empty), for charts."""
        monitor_id = self._names.find_monitor(self._conn(), monitor)
        if monitor_id is None:
            return [None] * max(points, 0)
        return series.latency_series(self._conn(), monitor_id, since, until, points)

    def failure_series(self, monitor: str, since: float, until: float, points: int) -> list[int]:
        """Failed checks per equal slice of [since, until], sliced like `latency_series`."""
        monitor_id = self._names.find_monitor(self._conn(), monitor)
        if monitor_id is None:
            return [0] * max(points, 0)
        return series.failure_series(self._db, monitor_id, since, until, points)

    def first_check_at(self, monitor: str) -> float | None:
        """When the monitor's oldest stored raw check ran (None without one)."""
        monitor_id = self._names.find_monitor(self._conn(), monitor)
        return None if monitor_id is None else reads.first_check_at(self._db, monitor_id)

    def gauges(self, monitors: bool = True) -> StoreGauges:
        """Open incidents by severity and the outbox's depth, with (`monitors`) each monitor's
        state, latency and certificate figures, in one snapshot (what `/metrics` exposes)."""
        return gauges.read_gauges(self._db, monitors)

    def data_version(self) -> int:
        """A number that changes when another connection commits: SQLite's PRAGMA data_version on
        this thread's connection; on PostgreSQL, notifications on `shiptrack_changes`."""
        if self.backend == "postgresql":
            return self._db.data_version()  # type: ignore[union-attr]
        return int(self._conn().execute("PRAGMA data_version").fetchone()[0])

    def wait_for_change(self, timeout: float) -> bool:
        """Block until another connection commits (True) or `timeout` seconds pass (False)."""
        if self.backend == "postgresql":
            return self._db.wait_for_change(timeout)  # type: ignore[union-attr]
        deadline = time.monotonic() + max(0.0, timeout)
        seen = self.data_version()
        while time.monotonic() < deadline:
            time.sleep(min(CHANGE_POLL_SECONDS, max(0.0, deadline - time.monotonic())))
            if self.data_version() != seen:
                return True
        return False

    # -- multi-location monitors (PostgreSQL only; storage/locations.py) ----------------------
    def location_states(self, monitors: Collection[str] | None = None) -> dict[str, tuple[LocationView, ...]]:
        """Monitor -> each location's latest check (DESIGN §12), all monitors when None; {} on
        SQLite, which has no cluster."""
        if self.backend != "postgresql":
            return {}
        from shiptrack_tui.storage.locations import read_views

        return read_views(self._conn().raw, monitors)

    # -- a cluster's nodes (PostgreSQL only; storage/cluster_reads.py) ---------------------------
    def cluster_nodes(self, lease_seconds: float = DEFAULT_LEASE) -> list[ClusterNode]:
        """Every node that has written a heartbeat (alive: within `lease_seconds`), by name;
        [] on SQLite, which has no cluster."""
        if self.backend != "postgresql":
            return []
        from shiptrack_tui.storage import cluster_reads

        return cluster_reads.cluster_nodes(self._conn(), lease_seconds)

    def monitor_checkers(self, monitors: Collection[str]) -> dict[str, tuple[Checker, ...]]:
        """Monitor -> the nodes holding a live lease on it (owner first); {} on SQLite."""
        if self.backend != "postgresql":
            return {}
        from shiptrack_tui.storage import cluster_reads

        return cluster_reads.checkers(self._conn(), monitors)
