"""Schema versions: ordered migration functions, applied in one IMMEDIATE transaction at open.

Migration N turns a version N-1 database into version N. A database written by a newer ShipTrack
is refused with a clear message rather than guessed at.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from peewee import SchemaManager, SqliteDatabase

from shiptrack_tui.storage import histograms, silences, totals
from shiptrack_tui.storage import models as m
from shiptrack_tui.storage.db import StorageError

ROLLUP_V1: Final = (
    'CREATE TABLE "rollup" ("monitor_id" INTEGER NOT NULL, "span" INTEGER NOT NULL, "hour" INTEGER NOT NULL, '
    '"up" INTEGER NOT NULL, "degraded" INTEGER NOT NULL, "down" INTEGER NOT NULL, '
    '"maintenance" INTEGER NOT NULL, "hist" BLOB NOT NULL, PRIMARY KEY ("monitor_id", "span", "hour")) '
    "WITHOUT ROWID"
)


def _initial_schema(db: SqliteDatabase) -> None:
    for model in m.MODELS:
        if model is not m.Rollup:  # its version 1 shape is frozen here; schema 3 rebuilt it
            SchemaManager(model, database=db).create_all(safe=False)
    for statement in (
        ROLLUP_V1,
        # At most one incident that is not resolved per monitor.
        'CREATE UNIQUE INDEX incident_one_open ON incident (monitor_id) WHERE state != \'resolved\'',
        "CREATE INDEX incident_monitor ON incident (monitor_id, id)",
        "CREATE INDEX timeline_incident ON timeline (incident_id, at)",
        "CREATE INDEX action_pending ON action (id) WHERE applied_at IS NULL AND error IS NULL",
        "CREATE INDEX outbox_pending ON outbox (incident_id, url, id) "
        "WHERE delivered_at IS NULL AND failed_at IS NULL",
    ):
        db.execute_sql(statement)


def _silences(db: SqliteDatabase) -> None:
    silences.create_table(db.connection())


def _compact_rollups(db: SqliteDatabase) -> None:
    """Schema 3: rollups as a rowid table with narrow blobs, no 6 h blocks, and window totals."""
    conn = db.connection()
    conn.create_function("shiptrack_reencode", 1, histograms.reencode, deterministic=True)
    for statement in (
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
        *totals.CREATE_TABLE,
    ):
        conn.execute(statement)
    totals.rebuild(conn)


def _outbox_by_monitor(db: SqliteDatabase) -> None:
    """Schema 4: the outbox is ordered per (monitor, url); index the pending rows that way."""
    db.execute_sql("CREATE INDEX outbox_pending_monitor ON outbox (monitor, url, id) "
                   "WHERE delivered_at IS NULL AND failed_at IS NULL")
    db.execute_sql("DROP INDEX IF EXISTS outbox_pending")  # the (incident, url) order it served is gone


MIGRATIONS: Final[tuple[Callable[[SqliteDatabase], None], ...]] = (_initial_schema, _silences,
                                                                    _compact_rollups, _outbox_by_monitor)
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
