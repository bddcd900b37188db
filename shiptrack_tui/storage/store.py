"""The `Store` facade: every blocking, thread-safe storage call the rest of ShipTrack makes.

A Store is a SQLite file (db.py: peewee's `SqliteDatabase`) or a PostgreSQL database
(postgres.py: psycopg). Either way every thread gets its own connection, so calls from several
threads run side by side, and every write is one transaction (IMMEDIATE on SQLite). The query
modules receive that connection and speak the SQL both backends share (dialect.py).
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from peewee import DatabaseError as PeeweeDatabaseError

from shiptrack_tui.core.days import DayCounts
from shiptrack_tui.core.location_view import LocationView
from shiptrack_tui.core.model import (
    Action,
    ActionKind,
    CheckResult,
    Incident,
    MonitorHistory,
    MonitorSpec,
    MonitorState,
    MonitorStatus,
    MonitorSummary,
    OutboxRow,
    TimelineKind,
    WindowStats,
)
from shiptrack_tui.core.postmortem import CheckSpan, PhaseChecks
from shiptrack_tui.core.stats import WINDOWS
from shiptrack_tui.storage import daily, gauges, outbox, postmortem_reads, reads, renames, retention, silences
from shiptrack_tui.storage import push as push_rows
from shiptrack_tui.storage import windows as windows_module
from shiptrack_tui.storage.codec import dump_tags, load_tags
from shiptrack_tui.storage.db import BUSY_TIMEOUT_SECONDS, StorageError, TrackedDatabase, open_database
from shiptrack_tui.storage.dialect import Connection
from shiptrack_tui.storage.dsn import is_postgres_url, redact
from shiptrack_tui.storage.gauges import StoreGauges
from shiptrack_tui.storage.migrations import SCHEMA_VERSION, migrate
from shiptrack_tui.storage.names import Names
from shiptrack_tui.storage.pipeline import PipelineWrite, apply_writes
from shiptrack_tui.storage.windows import SegmentCache, Subject
from shiptrack_tui.storage.writer import Writer

CHANGE_POLL_SECONDS = 0.05  # how often wait_for_change reads PRAGMA data_version on SQLite

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from shiptrack_tui.core.model import Silence
    from shiptrack_tui.core.push import Ping
    from shiptrack_tui.storage.postgres import PgDatabase


Fence = Callable[[Any, Sequence[PipelineWrite]], Sequence[PipelineWrite]]
"""(connection, writes) -> the writes whose lease is still held, inside the write transaction."""


class Store:
    """ShipTrack's database. Open with `Store.open(path or URL)`; times are POSIX seconds."""

    Writer = Writer  # `Store.Writer(store)` and `storage.Writer(store)` are the same batching thread

    def __init__(self, db: TrackedDatabase | PgDatabase, path: Path | None,
                 display_name: str | None = None) -> None:
        self._db = db
        self.path = path  # the SQLite file; None on PostgreSQL
        self.backend = db.backend  # "sqlite" or "postgresql"
        self.display_name = display_name or str(path)  # what to show: the path, or the URL sans password
        self._names = Names()
        self._segments = SegmentCache()
        self.fence: Fence | None = None  # a cluster node's lease check, run in each commit's transaction
        self.migrated_from: int | None = None
        """The schema version the database had before this open migrated it (0: it was empty)."""

    @classmethod
    def open(cls, target: str | os.PathLike[str], busy_timeout: float = BUSY_TIMEOUT_SECONDS,
             password_file: Path | None = None) -> Store:
        """Open and migrate the database at `target`: a SQLite file path (created 0600, with
        parents) or a `postgresql://` URL (its password from the URL, `password_file` or libpq's
        usual places: PGPASSWORD, ~/.pgpass).

        `busy_timeout` (seconds, default 10) is how long a SQLite write waits for another writer,
        and how long connecting to PostgreSQL may take.
        """
        if is_postgres_url(target):
            return cls._open_postgres(str(target).strip(), busy_timeout, password_file)
        path = Path(target).expanduser()
        try:
            db = open_database(path, busy_timeout)
            found = migrate(db, str(path))
        except (sqlite3.DatabaseError, PeeweeDatabaseError) as error:
            raise StorageError(f"{path} cannot be used as a ShipTrack database ({error}); "
                               "check the --db path.") from error
        except OSError as error:
            raise StorageError(f"{path} cannot be opened ({error.strerror}); check the --db path "
                               "and its permissions.") from error
        store = cls(db, path)
        store.migrated_from = found
        return store

    @classmethod
    def _open_postgres(cls, url: str, busy_timeout: float, password_file: Path | None) -> Store:
        from shiptrack_tui.storage import pg_schema

        db = pg_schema.open_database(url, busy_timeout, password_file, SCHEMA_VERSION)
        return cls(db, None, redact(url))

    def close(self) -> None:
        """Close every connection this store opened, on every thread.

        Call it once the threads using the store (a Writer, workers) are done with it.
        """
        self._db.close_all()

    def connection_context(self) -> AbstractContextManager[object]:
        """Open this thread's connection for a block of work and close it after (thread workers)."""
        return self._db.connection_context()

    def _conn(self) -> Connection:
        """This thread's connection: sqlite3's, or its PostgreSQL twin (postgres.PgConnection)."""
        return self._db.connection()  # type: ignore[return-value]

    # -- monitors -----------------------------------------------------------------------------
    def sync_monitors(self, specs: Sequence[MonitorSpec], now: float) -> dict[str, MonitorState]:
        """Upsert each spec's name/target/tags, mark monitors absent from `specs` removed (their
        history stays), and return the stored state of every spec (MonitorState() when new)."""
        wanted = {spec.name: spec for spec in specs}
        with self._db.writing():
            conn = self._conn()
            conn.executemany(
                "INSERT INTO monitor (name, target, tags, removed) VALUES (?, ?, ?, 0) "
                "ON CONFLICT (name) DO UPDATE SET target = excluded.target, tags = excluded.tags, "
                "removed = 0",
                [(spec.name, spec.url, dump_tags(spec.tags)) for spec in wanted.values()],
            )
            present = [row[0] for row in conn.execute("SELECT name FROM monitor WHERE removed = 0")]
            conn.executemany("UPDATE monitor SET removed = 1 WHERE name = ?",
                             [(name,) for name in present if name not in wanted])
            push_rows.assign_tokens(conn, specs)
            states = {row.name: row.state for row in reads.monitor_rows(self._db)}
        return {name: states.get(name, MonitorState()) for name in wanted}

    def apply_renames(self, configured: Collection[str], now: float) -> list[tuple[str, str]]:
        """Apply pending rename actions (see storage/renames.py) before a config with the names in
        `configured` is synced; return the (old, new) pairs applied."""
        with self._db.writing():
            done = renames.apply(self._conn(), set(configured), now)
        self._names.forget(name for pair in done for name in pair)  # ids cached under either name
        return done

    def history(self, monitor: str) -> MonitorHistory | None:
        """What the database keeps about `monitor` (None when it has no row at all)."""
        return reads.history(self._conn(), monitor)

    def load_states(self) -> dict[str, MonitorState]:
        """The stored state of every monitor that is not removed."""
        return {row.name: row.state for row in reads.monitor_rows(self._db)}

    # -- the check pipeline -------------------------------------------------------------------
    def commit_batch(self, writes: Sequence[PipelineWrite]) -> None:
        """Store checks, rollups, states, incidents, outbox rows and action outcomes atomically."""
        if not writes:
            return
        try:
            with self._db.writing():
                if self.fence is not None:
                    writes = self.fence(self._conn(), writes)
                rewritten = apply_writes(self._conn(), self._names, writes)
        except BaseException:
            self._names.rollback()
            raise
        self._names.commit()
        self._segments.forget(rewritten)

    # -- operator actions ---------------------------------------------------------------------
    def add_action(self, kind: ActionKind, at: float, monitor: str | None = None,
                   incident_id: int | None = None, note: str | None = None, source: str = "cli",
                   value: str | None = None) -> int:
        """Queue an operator action for the engine; return its id.

        With only `incident_id`, the monitor is the incident's. Raises LookupError for an unknown
        incident or monitor, and ValueError when neither is given.
        """
        if incident_id is not None:
            row = self._conn().execute(
                "SELECT m.name FROM incident AS i JOIN monitor AS m ON m.id = i.monitor_id WHERE i.id = ?",
                (incident_id,),
            ).fetchone()
            if row is None:
                raise LookupError(f"There is no incident #{incident_id}; `shiptrack incidents` lists them.")
            if monitor is not None and monitor != row[0]:
                raise LookupError(f"Incident #{incident_id} belongs to {row[0]!r}, not {monitor!r}.")
            monitor = row[0]
        elif monitor is not None:
            if self._names.find_monitor(self._conn(), monitor) is None:
                raise LookupError(f"There is no monitor named {monitor!r}; `shiptrack status` lists them.")
        else:
            raise ValueError("an action needs a monitor or an incident")
        with self._db.writing():
            row = self._conn().execute(
                "INSERT INTO action (at, kind, monitor, incident_id, note, source, value) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (at, ActionKind(kind).value, monitor, incident_id, note, source, value)).fetchone()
            return int(row[0])

    def pending_actions(self) -> list[Action]:
        """Actions neither applied nor refused yet, oldest first."""
        rows = self._conn().execute(
            "SELECT id, at, kind, monitor, incident_id, note, source, value FROM action "
            "WHERE applied_at IS NULL AND error IS NULL ORDER BY id").fetchall()
        return [Action(id=row_id, at=at, kind=ActionKind(kind), monitor=monitor, incident_id=incident_id,
                       note=note, source=source, value=value)
                for row_id, at, kind, monitor, incident_id, note, source, value in rows]

    def reject_action(self, action_id: int, at: float, error: str) -> None:
        """Record why an action could not be applied (`action_outcome` then reports the error)."""
        with self._db.writing():
            self._conn().execute("UPDATE action SET error = ? WHERE id = ?", (error, action_id))

    def action_outcome(self, action_id: int) -> tuple[float | None, str | None]:
        """(applied_at, error): both None while the action waits. LookupError for an unknown id."""
        query = "SELECT applied_at, error FROM action WHERE id = ?"
        row = self._conn().execute(query, (action_id,)).fetchone()
        if row is None:
            raise LookupError(f"There is no action #{action_id}.")
        return row[0], row[1]

    # -- push monitors (storage/push.py) -------------------------------------------------------
    def add_pings(self, pings: Sequence[push_rows.PingRow]) -> None:
        """Store pings (monitor, at, kind, message) for the engine, all in one transaction."""
        with self._db.writing():
            push_rows.add(self._conn(), pings)

    def pending_pings(self, after: int = 0, limit: int = 5000) -> list[Ping]:
        """Pings not applied yet with an id above `after`, oldest first."""
        return push_rows.pending(self._conn(), after, limit)

    def delete_pings(self, ids: Sequence[int]) -> None:
        """Drop pings that apply to nothing (their monitor is gone or no longer a push monitor)."""
        with self._db.writing():
            push_rows.delete(self._conn(), ids)

    def push_tokens(self) -> dict[str, str]:
        """Monitor name -> its stored push token (monitors that are not removed)."""
        return push_rows.tokens(self._conn())

    def push_token(self, monitor: str) -> str | None:
        return push_rows.token_of(self._conn(), monitor)

    def ensure_push_token(self, spec: MonitorSpec) -> str:
        """The push monitor's token, generated and stored now if no engine has done it yet."""
        with self._db.writing():
            return push_rows.ensure_token(self._conn(), spec)

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
        return windows_module.latency_series(self._conn(), monitor_id, since, until, points)

    def failure_series(self, monitor: str, since: float, until: float, points: int) -> list[int]:
        """Failed checks per equal slice of [since, until], sliced like `latency_series`."""
        monitor_id = self._names.find_monitor(self._conn(), monitor)
        if monitor_id is None:
            return [0] * max(points, 0)
        return reads.failure_series(self._db, monitor_id, since, until, points)

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

    # -- outbox -------------------------------------------------------------------------------
    def due_outbox(self, now: float, limit: int = 100) -> list[OutboxRow]:
        """Rows to attempt now, oldest first, never one ahead of an undelivered earlier row of the
        same (monitor, url)."""
        return outbox.due_outbox(self._conn(), now, limit)

    def record_attempt(self, row_id: int, at: float, delivered: bool, error: str | None = None,
                       next_attempt_at: float | None = None, give_up: bool = False,
                       detail: str | None = None) -> None:
        """Record one delivery attempt; a delivery adds 'notified' to the incident's timeline and a
        give-up adds 'notify_failed' (text: `detail`, else one built from the transition/error)."""
        with self._db.writing():
            outbox.record_attempt(self._conn(), row_id, at, delivered, error, next_attempt_at, give_up,
                                  detail)

    def outbox_placeholders(self, prefix: str) -> dict[str, int]:
        """Monitor -> id of its oldest pending outbox row whose URL starts with `prefix`."""
        return outbox.waiting_on_placeholders(self._conn(), prefix)

    def expand_outbox(self, row_id: int, urls: Sequence[str], prefix: str) -> int:
        """Replace a pending placeholder row by a row per URL, keeping the monitor's order."""
        with self._db.writing():
            return outbox.expand(self._conn(), row_id, list(urls), prefix)

    # -- silences -----------------------------------------------------------------------------
    def start_silence(self, silence: Silence, action_id: int | None = None) -> Silence:
        """Store a silence (its `id` is ignored) and return it with its id; marks `action_id`
        applied in the same transaction."""
        with self._db.writing():
            stored = silences.start(self._conn(), silence)
            self._mark_applied(action_id, silence.created_at)
        return stored

    def end_silences(self, ids: Sequence[int], at: float, reason: str, action_id: int | None = None) -> None:
        """End the given silences (already ended ones stay as they were)."""
        with self._db.writing():
            silences.end(self._conn(), ids, at, reason)
            self._mark_applied(action_id, at)

    def active_silences(self) -> list[Silence]:
        """Silences not ended yet, oldest first."""
        return silences.active(self._conn())

    def recent_silences(self, limit: int = 50) -> list[Silence]:
        """The latest silences, ended or not, newest first."""
        return silences.recent(self._conn(), limit)

    def _mark_applied(self, action_id: int | None, at: float) -> None:
        if action_id is not None:
            self._conn().execute("UPDATE action SET applied_at = ? WHERE id = ?", (at, action_id))

    # -- maintenance --------------------------------------------------------------------------
    def prune(self, now: float, keep: retention.Retention, max_rows: int = 5000) -> int:
        """Delete at most `max_rows` rows that `keep` no longer covers (raw checks first), in small
        transactions; return how many went."""
        return retention.prune(self._db, now, keep, max_rows)

    def reclaim(self, max_pages: int = 1000) -> int:
        """Return up to `max_pages` free pages to the file system in one short transaction."""
        return retention.reclaim(self._db, max_pages)

    def free_pages(self) -> tuple[int, bool]:
        """(free pages in the file, whether they can be handed back: auto_vacuum is INCREMENTAL).
        PostgreSQL has no file of its own to shrink here (autovacuum reuses space): (0, True)."""
        if not self._db.dialect.file_pages:
            return 0, True
        incremental = int(self._conn().execute("PRAGMA auto_vacuum").fetchone()[0]) == 2
        return retention.free_pages(self._db), incremental

    def checkpoint(self, truncate: bool = False) -> None:
        """Checkpoint the WAL (PASSIVE by default, so it never waits for the writer)."""
        retention.checkpoint(self._db, truncate)

    def schema_version(self) -> int:
        if self.backend == "postgresql":
            from shiptrack_tui.storage import pg_schema

            return pg_schema.schema_version(self._db)  # type: ignore[arg-type]
        from shiptrack_tui.storage.migrations import schema_version

        return schema_version(self._db)  # type: ignore[arg-type]
