"""Retention in small steps: each transaction deletes a bounded number of rows, so a prune never
holds the write lock long enough to stall the check pipeline. Then free pages go back to the file
system a few at a time (`reclaim`), and the WAL is checkpointed.

What is kept (`Retention`, from `[storage]`):
- raw checks for `raw`, cut on an hour boundary: an hour's checks go all at once, so a window whose
  first hour is older than `raw` starts on the nearest whole hour and never on a half-pruned one;
  on PostgreSQL packed blocks go whole once their period has ended before that boundary (a day
  block of a sparse monitor straddling it stays until all of it is older: at most a day more);
- hour rollups (span 1) for `hourly`: the 24 h / 7 d / 30 d statistics read hour rows at their
  edges, hence at least `MIN_HOURLY`;
- day and week blocks (spans 24 and 168) for `daily`: they carry the same latency histogram, so
  p50/p95 over them stay within the 2 % of the hour rows;
- resolved incidents, with their timeline and outbox rows, for `incidents` after they resolved
  (an open or acknowledged incident is never removed, nor one with a notification still pending);
- delivered or abandoned notifications and finished actions for `BOOKKEEPING_KEEP_SECONDS`;
- the exactly-once marks of storage writers that stopped writing (storage/batches.py) for a week.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from shiptrack_tui.storage import batches, compaction
from shiptrack_tui.storage.codec import HOUR, to_ms
from shiptrack_tui.storage.dialect import Connection, Database

DAY: Final = 86400.0
MIN_HOURLY: Final = 32 * DAY  # 30-day windows (and their totals) read hour rows up to ~31 days back
ROWS_PER_TRANSACTION: Final = 1000
INCIDENTS_PER_TRANSACTION: Final = 100  # each takes its timeline and outbox rows along
# Delivered or abandoned notifications and finished actions are kept this long for inspection.
BOOKKEEPING_KEEP_SECONDS: Final = 30 * DAY
RECLAIM_SLACK_PAGES: Final = 1024  # free pages left in the file for the next inserts to reuse


@dataclass(frozen=True, slots=True)
class Retention:
    """How long each kind of data is kept, in seconds (the `[storage] keep_*` keys)."""

    raw: float = 2 * DAY
    hourly: float = 32 * DAY
    daily: float = 180 * DAY
    incidents: float = 180 * DAY

    def raw_cutoff_ms(self, now: float) -> int:
        """Raw checks before this instant (an hour boundary) are due to go."""
        return to_ms((now - self.raw) // HOUR * HOUR)

    def hour_cutoff(self, now: float, keep: float) -> int:
        """Rollup blocks that end at or before this epoch hour are due to go."""
        return int((now - keep) // HOUR)


def _rollup_condition(span: int, cutoff_hour: int) -> str:
    """Blocks of `span` hours that end at or before `cutoff_hour` (sargable: walks the index)."""
    return f"span = {span} AND hour <= {cutoff_hour - span}"


def _delete_old(db: Database, table: str, key: str, where: str, budget: int,
                params: tuple[object, ...] = ()) -> int:
    """Delete rows matching `where`, at most `budget` in all, ROWS_PER_TRANSACTION at a time.

    The inner select walks the primary key monitor by monitor, so it never scans the table.
    """
    deleted = 0
    while deleted < budget:
        step = min(ROWS_PER_TRANSACTION, budget - deleted)
        with db.writing():
            count = db.execute_sql(
                f'DELETE FROM "{table}" WHERE ({key}) IN (SELECT {key} FROM "{table}" '
                f"WHERE monitor_id IN (SELECT id FROM monitor) AND {where} LIMIT ?)",
                (*params, step),
            ).rowcount
        deleted += count
        if count < step:
            break
    return deleted


_OLD_INCIDENTS: Final = (
    "SELECT id FROM incident AS i WHERE state = 'resolved' AND resolved_at < ? AND NOT EXISTS "
    "(SELECT 1 FROM outbox AS o WHERE o.incident_id = i.id AND o.delivered_at IS NULL "
    "AND o.failed_at IS NULL)"
)


def _delete_incidents(db: Database, cutoff: float, budget: int) -> int:
    """Delete resolved incidents older than `cutoff` (their timeline and outbox rows cascade)."""
    deleted = 0
    while deleted < budget:
        step = min(INCIDENTS_PER_TRANSACTION, budget - deleted)
        with db.writing():
            count = db.execute_sql(f"DELETE FROM incident WHERE id IN ({_OLD_INCIDENTS} LIMIT ?)",
                                   (cutoff, step)).rowcount
        deleted += count
        if count < step:
            break
    return deleted


def prune(db: Database, now: float, keep: Retention, max_rows: int) -> int:
    """Delete up to `max_rows` rows that `keep` no longer covers; return how many went.

    Raw checks first (the bulk), then rollups, incidents and bookkeeping with what is left of the
    budget; a caller repeats until fewer than `max_rows` go.
    """
    spare = max_rows
    raw_cutoff = keep.raw_cutoff_ms(now)
    spare -= _delete_old(db, "check", "monitor_id, at_ms", "at_ms < ?", spare, (raw_cutoff,))
    if spare > 0:
        spare -= compaction.prune_blocks(db, raw_cutoff, spare)  # PostgreSQL's packed checks
    for span, kept in ((1, keep.hourly), (24, keep.daily), (168, keep.daily)):
        if spare > 0:
            condition = _rollup_condition(span, keep.hour_cutoff(now, kept))
            spare -= _delete_old(db, "rollup", "monitor_id, span, hour", condition, spare)
    if spare > 0:
        spare -= _delete_incidents(db, now - keep.incidents, spare)
    if spare > 0:
        cutoff = now - BOOKKEEPING_KEEP_SECONDS
        with db.writing():
            spare -= db.execute_sql(
                "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE "
                "COALESCE(delivered_at, failed_at) < ? LIMIT ?)", (cutoff, min(spare, ROWS_PER_TRANSACTION))
            ).rowcount
        if spare > 0:
            with db.writing():
                spare -= db.execute_sql(
                    "DELETE FROM action WHERE id IN (SELECT id FROM action WHERE at < ? AND "
                    "(applied_at IS NOT NULL OR error IS NOT NULL) LIMIT ?)",
                    (cutoff, min(spare, ROWS_PER_TRANSACTION)),
                ).rowcount
    if spare > 0:
        with db.writing():
            spare -= batches.prune(db.connection(), now - batches.KEEP_SECONDS)
    return max_rows - spare


def due(conn: Connection, now: float, keep: Retention) -> dict[str, int]:
    """How many rows of each kind the next prune would remove (read-only; for `shiptrack db info`)."""

    def count(sql: str, *params: object) -> int:
        return int(conn.execute(sql, params).fetchone()[0])

    raw_cutoff = keep.raw_cutoff_ms(now)
    found = {"check": count('SELECT COUNT(*) FROM "check" WHERE monitor_id IN (SELECT id FROM monitor) '
                            "AND at_ms < ?", raw_cutoff) + compaction.due_blocks(conn, raw_cutoff)}
    for label, span, kept in (("rollup (hourly)", 1, keep.hourly), ("rollup (daily)", 24, keep.daily),
                              ("rollup (weekly)", 168, keep.daily)):
        found[label] = count("SELECT COUNT(*) FROM rollup WHERE monitor_id IN (SELECT id FROM monitor) AND "
                             + _rollup_condition(span, keep.hour_cutoff(now, kept)))
    incidents = f"({_OLD_INCIDENTS})"
    found["incident"] = count(f"SELECT COUNT(*) FROM {incidents} AS old", now - keep.incidents)
    found["timeline"] = count(f"SELECT COUNT(*) FROM timeline WHERE incident_id IN {incidents}",
                              now - keep.incidents)
    cutoff = now - BOOKKEEPING_KEEP_SECONDS
    found["outbox"] = count(f"SELECT COUNT(*) FROM outbox WHERE incident_id IN {incidents} "
                            "OR COALESCE(delivered_at, failed_at) < ?", now - keep.incidents, cutoff)
    found["action"] = count("SELECT COUNT(*) FROM action WHERE at < ? AND "
                            "(applied_at IS NOT NULL OR error IS NOT NULL)", cutoff)
    return found


def free_pages(db: Database) -> int:
    """Free pages in the SQLite file (0 on PostgreSQL, whose autovacuum reuses space itself)."""
    if not db.dialect.file_pages:
        return 0
    return int(db.execute_sql("PRAGMA freelist_count").fetchone()[0])


def reclaim(db: Database, max_pages: int) -> int:
    """Hand up to `max_pages` free pages back to the file system; return how many went.

    Leaves `RECLAIM_SLACK_PAGES` for the next inserts (in steady state retention frees about what
    new checks need). A no-op on a file made without `auto_vacuum = INCREMENTAL`. The file itself
    shrinks when the WAL is next checkpointed.
    """
    if not db.dialect.file_pages:
        return 0  # PostgreSQL: autovacuum makes dead rows' space reusable; nothing to hand back here
    before = free_pages(db)
    pages = min(max_pages, before - RECLAIM_SLACK_PAGES)
    if pages <= 0:
        return 0
    conn = db.connection()
    try:
        # executescript steps the pragma to the end: through execute() it frees one page per call.
        conn.executescript(f"BEGIN IMMEDIATE; PRAGMA incremental_vacuum({int(pages)}); COMMIT;")
    except BaseException:
        if conn.in_transaction:
            conn.rollback()
        raise
    return before - free_pages(db)


def checkpoint(db: Database, truncate: bool = False) -> tuple[int, int, int]:
    """Copy the WAL back into the database: (busy, log frames, checkpointed frames).

    PASSIVE never waits for anyone; TRUNCATE waits for readers and writers, then empties the log.
    """
    if not db.dialect.file_pages:
        return 0, 0, 0  # PostgreSQL checkpoints on its own
    mode = "TRUNCATE" if truncate else "PASSIVE"
    busy, log_frames, done = db.execute_sql(f"PRAGMA wal_checkpoint({mode})").fetchone()
    return int(busy), int(log_frames), int(done)
