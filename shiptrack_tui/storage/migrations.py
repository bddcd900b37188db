"""Schema versions: ordered migration functions, applied in one IMMEDIATE transaction at open.

Migration N turns a version N-1 database into version N. A database written by a newer ShipTrack
is refused with a clear message rather than guessed at.

Every version's DDL is written out here as literal SQL, exactly as it shipped: never edit a
released version, add the next one. Nothing here reads the peewee models, so changing a model
cannot change what a fresh database is built from (tests/fixtures/schema_v1.sql is version 1 as
it shipped; a test migrates it upward and compares it with a fresh database).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from peewee import SqliteDatabase

from shiptrack_tui.storage import histograms, totals
from shiptrack_tui.storage.db import StorageError

V1: Final = (
    'CREATE TABLE "meta" ("key" TEXT NOT NULL PRIMARY KEY, "value" TEXT NOT NULL)',
    'CREATE TABLE "monitor" ("id" INTEGER NOT NULL PRIMARY KEY, "name" TEXT NOT NULL, '
    '"target" TEXT NOT NULL DEFAULT \'\', "tags" TEXT NOT NULL DEFAULT \'[]\', '
    '"removed" INTEGER NOT NULL DEFAULT 0, "status" TEXT NOT NULL DEFAULT \'unknown\', '
    '"consecutive_failures" INTEGER NOT NULL DEFAULT 0, "consecutive_successes" INTEGER NOT NULL DEFAULT 0, '
    '"first_failure_at" REAL, "first_failure_reason" TEXT, "last_check_at" REAL, "last_latency_ms" REAL, '
    '"last_error" TEXT, "paused" INTEGER NOT NULL DEFAULT 0, "last_status_code" INTEGER, '
    '"cert_days_left" INTEGER, "rolled_hour" INTEGER, "newest_check_ms" INTEGER)',
    'CREATE UNIQUE INDEX "monitor_name" ON "monitor" ("name")',
    'CREATE TABLE "reason" ("id" INTEGER NOT NULL PRIMARY KEY, "text" TEXT NOT NULL)',
    'CREATE UNIQUE INDEX "reason_text" ON "reason" ("text")',
    'CREATE TABLE "check" ("monitor_id" INTEGER NOT NULL, "at_ms" INTEGER NOT NULL, "code" INTEGER NOT NULL, '
    '"latency_us" INTEGER, "status" INTEGER, "error_id" INTEGER, PRIMARY KEY ("monitor_id", "at_ms")) '
    "WITHOUT ROWID",
    'CREATE TABLE "incident" ("id" INTEGER NOT NULL PRIMARY KEY, "monitor_id" INTEGER NOT NULL, '
    '"state" TEXT NOT NULL, "cause" TEXT NOT NULL, "started_at" REAL NOT NULL, "opened_at" REAL NOT NULL, '
    '"acknowledged_at" REAL, "resolved_at" REAL, '
    'FOREIGN KEY ("monitor_id") REFERENCES "monitor" ("id") ON DELETE CASCADE)',
    'CREATE TABLE "timeline" ("id" INTEGER NOT NULL PRIMARY KEY, "incident_id" INTEGER NOT NULL, '
    '"at" REAL NOT NULL, "kind" TEXT NOT NULL, "detail" TEXT, '
    'FOREIGN KEY ("incident_id") REFERENCES "incident" ("id") ON DELETE CASCADE)',
    'CREATE TABLE "action" ("id" INTEGER NOT NULL PRIMARY KEY, "at" REAL NOT NULL, "kind" TEXT NOT NULL, '
    '"monitor" TEXT, "incident_id" INTEGER, "note" TEXT, "source" TEXT NOT NULL, "applied_at" REAL, '
    '"error" TEXT, FOREIGN KEY ("incident_id") REFERENCES "incident" ("id") ON DELETE SET NULL)',
    'CREATE INDEX "action_incident_id" ON "action" ("incident_id")',
    'CREATE TABLE "outbox" ("id" INTEGER NOT NULL PRIMARY KEY, "incident_id" INTEGER, '
    '"monitor" TEXT NOT NULL, "transition" TEXT NOT NULL, "url" TEXT NOT NULL, "title" TEXT NOT NULL, '
    '"body" TEXT NOT NULL, '
    '"notify_type" TEXT NOT NULL, "created_at" REAL NOT NULL, "attempts" INTEGER NOT NULL, '
    '"next_attempt_at" REAL NOT NULL, "delivered_at" REAL, "failed_at" REAL, "last_error" TEXT, '
    'FOREIGN KEY ("incident_id") REFERENCES "incident" ("id") ON DELETE CASCADE)',
    'CREATE INDEX "outbox_incident_id" ON "outbox" ("incident_id")',
    'CREATE TABLE "rollup" ("monitor_id" INTEGER NOT NULL, "span" INTEGER NOT NULL, "hour" INTEGER NOT NULL, '
    '"up" INTEGER NOT NULL, "degraded" INTEGER NOT NULL, "down" INTEGER NOT NULL, '
    '"maintenance" INTEGER NOT NULL, "hist" BLOB NOT NULL, PRIMARY KEY ("monitor_id", "span", "hour")) '
    "WITHOUT ROWID",
    # At most one incident that is not resolved per monitor.
    "CREATE UNIQUE INDEX incident_one_open ON incident (monitor_id) WHERE state != 'resolved'",
    "CREATE INDEX incident_monitor ON incident (monitor_id, id)",
    "CREATE INDEX timeline_incident ON timeline (incident_id, at)",
    "CREATE INDEX action_pending ON action (id) WHERE applied_at IS NULL AND error IS NULL",
    "CREATE INDEX outbox_pending ON outbox (incident_id, url, id) "
    "WHERE delivered_at IS NULL AND failed_at IS NULL",
)

V2: Final = (
    "CREATE TABLE silence (id INTEGER NOT NULL PRIMARY KEY, scope TEXT NOT NULL, value TEXT NOT NULL, "
    "created_at REAL NOT NULL, until REAL, until_resolved INTEGER NOT NULL DEFAULT 0, "
    "source TEXT NOT NULL DEFAULT 'cli', ended_at REAL, end_reason TEXT)",
    "CREATE INDEX silence_active ON silence (id) WHERE ended_at IS NULL",
)

# Schema 3: rollups as a rowid table with narrow blobs, no 6 h blocks, and window totals.
V3: Final = (
    'CREATE TABLE "rollup_v3" ("id" INTEGER NOT NULL PRIMARY KEY, "monitor_id" INTEGER NOT NULL, '
    '"span" INTEGER NOT NULL, "hour" INTEGER NOT NULL, "up" INTEGER NOT NULL, '
    '"degraded" INTEGER NOT NULL, "down" INTEGER NOT NULL, "maintenance" INTEGER NOT NULL, '
    '"hist" BLOB NOT NULL)',
    'INSERT INTO "rollup_v3" (monitor_id, span, hour, up, degraded, down, maintenance, hist) '
    "SELECT monitor_id, span, hour, up, degraded, down, maintenance, shiptrack_reencode(hist) "
    "FROM rollup WHERE span IN (1, 24, 168) ORDER BY monitor_id, span, hour",
    'DROP TABLE "rollup"',
    'ALTER TABLE "rollup_v3" RENAME TO "rollup"',
    'CREATE UNIQUE INDEX "rollup_monitor_id_span_hour" ON "rollup" ("monitor_id", "span", "hour")',
    "CREATE TABLE IF NOT EXISTS window_total (id INTEGER PRIMARY KEY, monitor_id INTEGER NOT NULL, "
    "hours INTEGER NOT NULL, through_hour INTEGER NOT NULL, up INTEGER NOT NULL, "
    "degraded INTEGER NOT NULL, down INTEGER NOT NULL, maintenance INTEGER NOT NULL, "
    "hist BLOB NOT NULL)",
    "CREATE UNIQUE INDEX IF NOT EXISTS window_total_key ON window_total (monitor_id, hours)",
)


def _run(db: SqliteDatabase, statements: tuple[str, ...]) -> None:
    conn = db.connection()
    for statement in statements:
        conn.execute(statement)


def _initial_schema(db: SqliteDatabase) -> None:
    _run(db, V1)


def _silences(db: SqliteDatabase) -> None:
    _run(db, V2)


def _compact_rollups(db: SqliteDatabase) -> None:
    # The data steps are code (re-encoding blobs, computing totals); the DDL is V3 above.
    db.connection().create_function("shiptrack_reencode", 1, histograms.reencode, deterministic=True)
    _run(db, V3)
    totals.rebuild(db.connection())


def _outbox_by_monitor(db: SqliteDatabase) -> None:
    """Schema 4: the outbox is ordered per (monitor, url); index the pending rows that way."""
    db.execute_sql("CREATE INDEX outbox_pending_monitor ON outbox (monitor, url, id) "
                   "WHERE delivered_at IS NULL AND failed_at IS NULL")
    db.execute_sql("DROP INDEX IF EXISTS outbox_pending")  # the (incident, url) order it served is gone


def _timeline_by(db: SqliteDatabase) -> None:
    """Schema 5: an operator's timeline entry (acknowledged, note) records who made it."""
    db.execute_sql('ALTER TABLE "timeline" ADD COLUMN "by" TEXT')


def _incident_severity(db: SqliteDatabase) -> None:
    """Schema 6: an incident keeps the severity its monitor had when it opened (DESIGN §10)."""
    db.execute_sql("ALTER TABLE incident ADD COLUMN severity TEXT NOT NULL DEFAULT 'high'")


V7: Final = (
    "ALTER TABLE incident ADD COLUMN status TEXT NOT NULL DEFAULT 'investigating'",
    "UPDATE incident SET status = 'resolved' WHERE state = 'resolved'",
    'ALTER TABLE "timeline" ADD COLUMN "status" TEXT',
    'ALTER TABLE "action" ADD COLUMN "value" TEXT',
)


def _incident_status(db: SqliteDatabase) -> None:
    """Schema 7: status updates (investigating → … → resolved) and a value on actions (DESIGN §10)."""
    _run(db, V7)


# Schema 8: push monitors (DESIGN §11). A generated push token and the /start of the run in
# progress live on the monitor; pings wait in their own table until the engine applies them (it
# deletes each in the transaction that stores its check). AUTOINCREMENT: ids never come back, so
# the engine can read "every ping after the last one it took".
V8: Final = (
    'ALTER TABLE "monitor" ADD COLUMN "push_token" TEXT',
    'ALTER TABLE "monitor" ADD COLUMN "run_started_at" REAL',
    'CREATE TABLE "ping" ("id" INTEGER PRIMARY KEY AUTOINCREMENT, "monitor" TEXT NOT NULL, '
    '"at" REAL NOT NULL, "kind" TEXT NOT NULL, "message" TEXT)',
)


def _push_monitors(db: SqliteDatabase) -> None:
    _run(db, V8)


# Schema 9: each storage writer's last batch number, written with the batch (storage/batches.py),
# so a batch retried after a connection lost during COMMIT is applied exactly once.
V9: Final = (
    'CREATE TABLE "write_batch" ("writer" TEXT NOT NULL PRIMARY KEY, "seq" INTEGER NOT NULL, '
    '"at" REAL NOT NULL)',
)


def _write_batches(db: SqliteDatabase) -> None:
    _run(db, V9)


def _cluster_tables(db: SqliteDatabase) -> None:
    """Schema 10 is PostgreSQL's cluster tables (storage/cluster.py: nodes, leases, location
    results, outbox claims); a SQLite file has no cluster, and only keeps its number in step."""


def _node_generations(db: SqliteDatabase) -> None:
    """Schema 11 is PostgreSQL's node-level liveness (a generation per cluster node, leases that no
    longer expire: storage/cluster.py); nothing on SQLite but the number."""


def _packed_checks(db: SqliteDatabase) -> None:
    """Schema 12 is PostgreSQL's packed check blocks (storage/packing.py); a SQLite file keeps
    every check as its own row (about 30 bytes, WITHOUT ROWID), and only keeps its number in step."""


MIGRATIONS: Final[tuple[Callable[[SqliteDatabase], None], ...]] = (_initial_schema, _silences,
                                                                    _compact_rollups, _outbox_by_monitor,
                                                                    _timeline_by, _incident_severity,
                                                                    _incident_status, _push_monitors,
                                                                    _write_batches, _cluster_tables,
                                                                    _node_generations, _packed_checks)
SCHEMA_VERSION: Final = len(MIGRATIONS)


def schema_version(db: SqliteDatabase) -> int:
    """The version recorded in the file; 0 for a new, empty database."""
    if not db.table_exists("meta"):
        return 0
    row = db.execute_sql("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else 0


def migrate(db: SqliteDatabase, path: str) -> int:
    """Bring the database up to `SCHEMA_VERSION`; return the version it had before."""
    if schema_version(db) == SCHEMA_VERSION:
        return SCHEMA_VERSION  # the common case takes no write lock: a viewer opens beside the engine
    with db.atomic("IMMEDIATE"):
        found = schema_version(db)
        if found > SCHEMA_VERSION:
            raise StorageError(
                f"{path} was written by a newer ShipTrack (schema {found}, this version reads up to "
                f"{SCHEMA_VERSION}); upgrade ShipTrack or point --db at another file."
            )
        for version in range(found + 1, SCHEMA_VERSION + 1):
            MIGRATIONS[version - 1](db)
            db.execute_sql(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(version),),
            )
    return found
