"""Retention in small steps: each transaction deletes a bounded number of rows, so a prune never
holds the write lock long enough to stall the check pipeline. Plus WAL checkpoints."""

from __future__ import annotations

from typing import Final

from peewee import SqliteDatabase

from shiptrack_tui.storage.codec import HOUR, to_ms
from shiptrack_tui.storage.rollups import SPANS

ROLLUP_KEEP_SECONDS: Final = 400 * 86400.0
ROWS_PER_TRANSACTION: Final = 1000
# Delivered or abandoned notifications and finished actions are kept this long for inspection.
BOOKKEEPING_KEEP_SECONDS: Final = 30 * 86400.0


def _delete_old(db: SqliteDatabase, table: str, key: str, column: str, cutoff: int, budget: int,
                where: str = "1") -> int:
    """Delete rows with `column` < cutoff, at most `budget` in all, ROWS_PER_TRANSACTION at a time.

    The inner select walks the primary key monitor by monitor, so it never scans the table.
    """
    deleted = 0
    while deleted < budget:
        step = min(ROWS_PER_TRANSACTION, budget - deleted)
        with db.atomic("IMMEDIATE"):
            count = db.execute_sql(
                f'DELETE FROM "{table}" WHERE ({key}) IN (SELECT {key} FROM "{table}" '
                f"WHERE monitor_id IN (SELECT id FROM monitor) AND {where} AND {column} < ? LIMIT ?)",
                (cutoff, step),
            ).rowcount
        deleted += count
        if count < step:
            break
    return deleted


def prune(db: SqliteDatabase, now: float, keep_raw_seconds: float, max_rows: int) -> int:
    """Delete up to `max_rows` raw checks older than `keep_raw_seconds`; return how many.

    Also trims rollups past 400 days and old finished outbox and action rows, within the same budget.
    """
    deleted = _delete_old(db, "check", "monitor_id, at_ms", "at_ms", to_ms(now - keep_raw_seconds), max_rows)
    spare = max(0, max_rows - deleted)
    if spare:
        oldest_hour = int((now - ROLLUP_KEEP_SECONDS) // HOUR)
        for span in SPANS:
            spare -= _delete_old(db, "rollup", "monitor_id, span, hour", "hour", oldest_hour, spare,
                                 where=f"span = {span}")
        cutoff = now - BOOKKEEPING_KEEP_SECONDS
        with db.atomic("IMMEDIATE"):
            db.execute_sql(
                "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE "
                "COALESCE(delivered_at, failed_at) < ? LIMIT ?)", (cutoff, ROWS_PER_TRANSACTION))
            db.execute_sql(
                "DELETE FROM action WHERE id IN (SELECT id FROM action WHERE at < ? AND "
                "(applied_at IS NOT NULL OR error IS NOT NULL) LIMIT ?)", (cutoff, ROWS_PER_TRANSACTION))
    return deleted


def checkpoint(db: SqliteDatabase, truncate: bool = False) -> tuple[int, int, int]:
    """Copy the WAL back into the database: (busy, log frames, checkpointed frames).

    PASSIVE never waits for anyone; TRUNCATE waits for readers and writers, then empties the log.
    """
    mode = "TRUNCATE" if truncate else "PASSIVE"
    busy, log_frames, done = db.execute_sql(f"PRAGMA wal_checkpoint({mode})").fetchone()
    return int(busy), int(log_frames), int(done)
