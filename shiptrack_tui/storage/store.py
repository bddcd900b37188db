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
from typing import TYPE_CHECKING, Any, Final

from peewee import DatabaseError as PeeweeDatabaseError
from peewee import OperationalError as PeeweeOperationalError

from shiptrack_tui.core.dsn import is_postgres_url, redact
from shiptrack_tui.core.model import (
    Action,
    ActionKind,
    MonitorHistory,
    MonitorSpec,
    MonitorState,
    OutboxRow,
)
from shiptrack_tui.core.vitals import database_label
from shiptrack_tui.storage import (
    batches,
    compaction,
    outbox,
    reads,
    renames,
    retention,
    silences,
)
from shiptrack_tui.storage import push as push_rows
from shiptrack_tui.storage.codec import dump_tags
from shiptrack_tui.storage.db import BUSY_TIMEOUT_SECONDS, StorageError, TrackedDatabase, open_database
from shiptrack_tui.storage.dialect import Connection
from shiptrack_tui.storage.migrations import SCHEMA_VERSION, migrate
from shiptrack_tui.storage.names import Names
from shiptrack_tui.storage.outage import Outage
from shiptrack_tui.storage.pipeline import PipelineWrite, apply_writes
from shiptrack_tui.storage.store_reads import StoreReads
from shiptrack_tui.storage.windows import SegmentCache
from shiptrack_tui.storage.writer import Writer

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from shiptrack_tui.core.model import Silence
    from shiptrack_tui.core.push import Ping
    from shiptrack_tui.storage.postgres import PgDatabase


Fence = Callable[[Any, Sequence[PipelineWrite]], Sequence[PipelineWrite]]
"""(connection, writes) -> the writes whose lease is still held, inside the write transaction."""


SYNC_PATIENCE_SECONDS: Final = 120.0
"""How long `sync_monitors` keeps trying while other engines hold the rows it must write."""


class Store(StoreReads):
    """ShipTrack's database. Open with `Store.open(path or URL)`; times are POSIX seconds."""

    Writer = Writer  # `Store.Writer(store)` and `storage.Writer(store)` are the same batching thread

    def __init__(self, db: TrackedDatabase | PgDatabase, path: Path | None,
                 display_name: str | None = None) -> None:
        self._db = db
        self.path = path  # the SQLite file; None on PostgreSQL
        self.backend = db.backend  # "sqlite" or "postgresql"
        self.display_name = display_name or str(path)  # what to show: the path, or the URL sans password
        self.outage = Outage(database_label(self.backend))  # every storage user of the engine reports to it
        self.gather_seconds = db.dialect.gather_seconds  # what the batching writer waits for company
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

        db, found = pg_schema.open_database(url, busy_timeout, password_file, SCHEMA_VERSION)
        store = cls(db, None, redact(url))
        store.migrated_from = found
        return store

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
    def sync_monitors(self, specs: Sequence[MonitorSpec], now: float, retire: bool = True
                      ) -> dict[str, MonitorState]:
        """Upsert each spec's name/target/tags, mark monitors absent from `specs` removed (their
        history stays; not with `retire=False`: a cluster node's config is not the whole list, see
        engine/cluster.py), and return the stored state of every spec (MonitorState() when new)."""
        wanted = {spec.name: spec for spec in specs}
        deadline = time.monotonic() + SYNC_PATIENCE_SECONDS
        while True:
            try:
                states = self._sync(list(wanted.values()), retire)
                break
            except PeeweeOperationalError:
                # Nodes starting together upsert the same rows: one waits for the other's
                # transaction, and past the lock timeout tries again, when little is left to write.
                if self.backend != "postgresql" or time.monotonic() >= deadline:
                    raise
                time.sleep(0.5)
        return {name: states.get(name, MonitorState()) for name in wanted}

    def _sync(self, specs: Sequence[MonitorSpec], retire: bool) -> dict[str, MonitorState]:
        rows = {spec.name: (spec.url, dump_tags(spec.tags)) for spec in specs}
        with self._db.writing():
            conn = self._conn()
            stored = {row[0]: (row[1], row[2], row[3]) for row in
                      conn.execute("SELECT name, target, tags, removed FROM monitor")}
            # Only rows that differ are written: a node joining a cluster whose monitors are all
            # there already locks nothing another node is writing.
            conn.executemany(
                "INSERT INTO monitor (name, target, tags, removed) VALUES (?, ?, ?, 0) "
                "ON CONFLICT (name) DO UPDATE SET target = excluded.target, tags = excluded.tags, "
                "removed = 0",
                [(name, target, tags) for name, (target, tags) in rows.items()
                 if stored.get(name) != (target, tags, 0)],
            )
            if retire:
                gone = [(name,) for name, row in stored.items() if row[2] == 0 and name not in rows]
                conn.executemany("UPDATE monitor SET removed = 1 WHERE name = ?", gone)
            push_rows.assign_tokens(conn, specs)
            return {row.name: row.state for row in reads.monitor_rows(self._db)}

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
    def commit_batch(self, writes: Sequence[PipelineWrite], mark: batches.Mark | None = None) -> bool:
        """Store checks, rollups, states, incidents, outbox rows and action outcomes atomically.

        With a `mark` (storage/batches.py), a batch whose mark is already stored is not applied
        again: False says it had been committed before (a retry after a lost COMMIT answer)."""
        if not writes:
            return True
        try:
            with self._db.writing():
                conn = self._conn()
                if mark is not None and not batches.claim(conn, mark, time.time()):
                    rewritten = None
                else:
                    if self.fence is not None:
                        writes = self.fence(conn, writes)
                    rewritten = apply_writes(conn, self._names, writes)
        except BaseException:
            self._names.rollback()
            raise
        self._names.commit()
        if rewritten is None:
            self._segments.clear()  # what the first commit rewrote is not known here
            return False
        self._segments.forget(rewritten)
        return True

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

    def announce_rename(self, old: str, new: str, at: float, source: str) -> tuple[int | None, bool]:
        """Write the action that carries `old`'s history to `new`, before the file that renames it
        is saved (storage/renames.py). Returns (its id, whether the history can follow): no action
        when `old` was never checked (nothing to carry) or `new` has a history of its own."""
        if self.history(new) is not None:
            return None, False
        try:
            return self.add_action(ActionKind.RENAME, at, monitor=old, note=new, source=source), True
        except LookupError:
            return None, True

    def withdraw_rename(self, action_id: int, at: float) -> None:
        """The file that renames was not saved: the engine must never apply the rename."""
        self.reject_action(action_id, at, "the config file was not saved")

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

    # -- outbox -------------------------------------------------------------------------------
    def due_outbox(self, now: float, limit: int = 100) -> list[OutboxRow]:
        """Rows to attempt now, oldest first, never one ahead of an undelivered earlier row of the
        same (monitor, url)."""
        return outbox.due_outbox(self._conn(), now, limit)

    def record_attempt(self, row_id: int, at: float, delivered: bool, error: str | None = None,
                       next_attempt_at: float | None = None, give_up: bool = False,
                       detail: str | None = None, seen_attempts: int | None = None) -> None:
        """Record one delivery attempt; a delivery adds 'notified' to the incident's timeline and a
        give-up adds 'notify_failed' (text: `detail`, else one built from the transition/error).
        With `seen_attempts` (the row's count when handed out) a retried record is applied once."""
        with self._db.writing():
            outbox.record_attempt(self._conn(), row_id, at, delivered, error, next_attempt_at, give_up,
                                  detail, seen_attempts)

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

    def pack_checks(self, now: float, max_rows: int = 5000, after: int = 0) -> tuple[int, int | None]:
        """PostgreSQL: pack the closed periods' checks of the next monitors with an id above `after`
        into blocks (storage/compaction.py), one transaction of at most `max_rows` checks; (checks
        packed, the `after` to go on from, None once every monitor was seen). SQLite: (0, None)."""
        return compaction.pack(self._db, now, max_rows, after)

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
