"""Packing closed periods of checks into blocks on PostgreSQL (storage/packing.py reads them).

`pack` is a chore beside retention (engine/retention.py; in a cluster, the chores-lease holder's):
each call is one transaction over a chunk of monitors and at most `max_rows` raw checks, so the
writer never waits long. It moves the monitors' checks of periods that ended more than `GRACE`
ago (far past any writer retry) from `check` into `check_block` and deletes the raw rows it
packed, by their exact keys: a check written meanwhile stays raw. A late check landing in an
already packed period stays in `check` until the next call merges it into that period's block
(the block is rewritten). Calls are idempotent, and an advisory lock keeps two packers (a lease
handover) from working at once. SQLite keeps every check as its own row: nothing to do.

The packer and the writer (storage/pipeline.py) agree on one lock order: `MOVE_LOCK` first, then
raw rows, then blocks. Only late writes can touch a check the packer may move: a batch held in
memory through a database outage (the writer never drops one), a push ping applied long after it
arrived, the same check written again (which replaces the stored one, raw or packed). A batch
holding a check older than `LATE` takes `MOVE_LOCK` shared before any row; the packer takes it
exclusively before reading the rows it moves. So a late write sees each of its checks either raw
or in its block, never in between: its UPDATE of a raw row cannot miss a row just moved (the
check's new values lost), and the two never wait for each other's rows in opposite orders (a
deadlock). One lock rather than one per monitor or hour: the packer moves up to 500 monitors'
checks per transaction and a catch-up batch holds up to 5,000 monitors, more entries than the
server's shared lock table may have (max_locks_per_transaction x max_connections: 6,400 by
default). Fresh checks take no lock: the packer never touches them.

A day is packed by the hour when any of its hours holds `DENSE_PER_HOUR` checks (or it has hour
blocks already), else as one block once the whole day is closed: a monitor checked every hour
still gets 24 checks per block, and one checked every 10 s 360.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Final

from shiptrack_tui.storage.codec import HOUR
from shiptrack_tui.storage.packing import (
    BLOCK_COLUMNS,
    DAY_MS,
    HOUR_MS,
    INSERT_BLOCK,
    MAX_SPAN_MS,
    Block,
    CheckRow,
    day_spans,
    packs,
    period_of,
)

GRACE: Final = 3600.0
"""Seconds after a period ends before it is packed."""
MONITORS_PER_TRANSACTION: Final = 500
BLOCKS_PER_TRANSACTION: Final = 200
PACK_LOCK: Final = 0x5041_434B  # "PACK": held (per transaction) while packing
MOVE_LOCK: Final = 0x5041_434D  # "PACM": exclusive while checks move into blocks, shared by late writes
LATE: Final = GRACE / 2
"""A check older than this (s, by the writer's clock) may lie in a period the packer moves: the
writer holds MOVE_LOCK while writing it. Half the grace: nodes' clocks may differ by half an hour."""
_UPDATE_BLOCK: Final = ("UPDATE check_block SET n = ?, at_off = ?::integer[], code = ?::smallint[], "
                        "latency_us = ?::integer[], status = ?::smallint[], error_id = ?::integer[] "
                        "WHERE monitor_id = ? AND start_ms = ?")
_KEYS: Final = "unnest(?::bigint[], ?::bigint[]) AS k(monitor_id, at)"
_B_COLUMNS: Final = ", ".join(f"b.{column}" for column in BLOCK_COLUMNS.split(", "))


def closed_before(now: float) -> int:
    """Checks before this instant (ms, an hour boundary) lie in periods closed for packing; a
    day-long period is closed when it ends at or before it too."""
    return int((now - GRACE) // HOUR) * HOUR_MS


Target = tuple[int, int, int]  # monitor_id, period start, period end


def plan(rows: Sequence[CheckRow], existing: dict[int, dict[int, int]], cutoff_ms: int
         ) -> dict[tuple[int, int], Target]:
    """(monitor_id, at_ms) -> the block each packable row goes into; rows left out stay raw.

    `rows`: raw checks, grouped by monitor (those at or after `cutoff_ms` stay raw); `existing`:
    monitor_id -> {block start: block end} of the blocks already stored in the days they touch."""
    by_monitor: dict[int, list[CheckRow]] = {}
    for row in rows:
        if row[1] < cutoff_ms:
            by_monitor.setdefault(row[0], []).append(row)
    targets: dict[tuple[int, int], Target] = {}
    for monitor_id, mine in by_monitor.items():
        stored = existing.get(monitor_id, {})
        spans: dict[int, int | None] = {}
        for day, dense in day_spans(mine).items():
            day_end = day + DAY_MS
            if stored.get(day) == day_end:
                spans[day] = DAY_MS  # the day was packed whole: late checks join it
            elif dense or any(day <= start < day_end for start in stored):
                spans[day] = HOUR_MS
            else:  # a sparse day: packed whole once it has closed
                spans[day] = DAY_MS if day_end <= cutoff_ms else None
        for row in mine:
            span = spans[period_of(row[1], DAY_MS)]
            if span is not None:
                start = period_of(row[1], span)
                targets[(monitor_id, row[1])] = (monitor_id, start, start + span)
    return targets


def late_before(now: float) -> int:
    """Checks before this instant (ms) are late: writing one needs `hold_for_late_writes` first."""
    return round((now - LATE) * 1000)


def hold_for_late_writes(conn: Any) -> None:
    """Wait for a packer moving checks, and keep the next from starting until this transaction
    ends. The first lock of a batch writing late checks (see the module docstring). No-op on SQLite."""
    if packs(conn.dialect):
        conn.execute("SELECT pg_advisory_xact_lock_shared(?)", (MOVE_LOCK,))


def _existing(conn: Any, monitors: Sequence[int], rows: Sequence[CheckRow]) -> dict[int, dict[int, int]]:
    if not rows:
        return {}
    low = period_of(min(row[1] for row in rows), DAY_MS)
    high = period_of(max(row[1] for row in rows), DAY_MS) + DAY_MS
    found: dict[int, dict[int, int]] = {}
    for monitor_id, start, end in conn.execute(
            "SELECT monitor_id, start_ms, end_ms FROM check_block WHERE monitor_id = ANY(?) "
            "AND start_ms >= ? AND start_ms < ?", (list(monitors), low, high)):
        found.setdefault(monitor_id, {})[start] = end
    return found


def _stored_blocks(conn: Any, keys: Iterable[tuple[int, int]]) -> dict[tuple[int, int], Block]:
    """The stored blocks with these (monitor_id, start_ms), locked for this transaction."""
    keys = list(keys)
    if not keys:
        return {}
    rows = conn.execute(
        f"SELECT {_B_COLUMNS} FROM check_block AS b JOIN {_KEYS} "
        "ON b.monitor_id = k.monitor_id AND b.start_ms = k.at FOR UPDATE OF b",
        ([k[0] for k in keys], [k[1] for k in keys])).fetchall()
    return {(m, s): Block.decode(m, s, e, *arrays) for m, s, e, _n, *arrays in rows}


def write_blocks(conn: Any, fresh: dict[Target, list[CheckRow]],
                 stored: dict[tuple[int, int], Block]) -> None:
    """Store each target's rows as its block, merged into the stored block when there is one (a
    row at the same ms as a stored one replaces it)."""
    inserts, updates = [], []
    for (monitor_id, start, end), rows in fresh.items():
        old = stored.get((monitor_id, start))
        merged = {row[1]: row for row in old.rows} if old is not None else {}
        merged.update((row[1], row) for row in rows)
        block = Block(monitor_id, start, end, tuple(merged[at] for at in sorted(merged)))
        columns = block.columns()
        if old is None:
            inserts.append(columns)
        else:
            updates.append((*columns[3:], monitor_id, start))
    if inserts:
        conn.executemany(INSERT_BLOCK, inserts)
    if updates:
        conn.executemany(_UPDATE_BLOCK, updates)


def _monitors_to_pack(conn: Any, after: int, cutoff_ms: int) -> list[int]:
    return [row[0] for row in conn.execute(
        'SELECT m.id FROM monitor AS m WHERE m.id > ? AND EXISTS (SELECT 1 FROM "check" AS c '
        "WHERE c.monitor_id = m.id AND c.at_ms < ?) ORDER BY m.id LIMIT ?",
        (after, cutoff_ms, MONITORS_PER_TRANSACTION))]


def pack(db: Any, now: float, max_rows: int, after: int = 0) -> tuple[int, int | None]:
    """Pack closed periods of the next monitors with an id above `after`, reading at most
    `max_rows` raw checks, in one transaction; (checks packed, the `after` to continue from, or
    None when every monitor has been seen). A no-op on SQLite."""
    if not packs(db.dialect):
        return 0, None
    cutoff_ms = closed_before(now)
    monitors = _monitors_to_pack(db.connection(), after, cutoff_ms)
    if not monitors:
        return 0, None
    with db.writing():
        conn = db.connection()
        if not conn.execute("SELECT pg_try_advisory_xact_lock(?)", (PACK_LOCK,)).fetchone()[0]:
            return 0, None  # another node packs right now (a chores lease changing hands)
        # Batches writing late checks finish first (the next ones wait): nothing read below
        # changes underneath until this commits.
        conn.execute("SELECT pg_advisory_xact_lock(?)", (MOVE_LOCK,))
        rows = conn.execute(
            'SELECT monitor_id, at_ms, code, latency_us, status, error_id FROM "check" '
            "WHERE monitor_id = ANY(?) AND at_ms < ? ORDER BY monitor_id, at_ms LIMIT ?",
            (monitors, cutoff_ms, max_rows)).fetchall()
        packed = pack_rows(conn, monitors, rows, cutoff_ms)
    if len(rows) < max_rows:
        return packed, monitors[-1]
    # A chunk cut short by `max_rows` goes on from its last monitor (what it left is merged then),
    # unless nothing could be packed: then past it, so that a pass always ends.
    return packed, rows[-1][0] - 1 if packed else rows[-1][0]


def pack_rows(conn: Any, monitors: Sequence[int], rows: Sequence[CheckRow], cutoff_ms: int) -> int:
    """Move the packable ones of `rows` (raw checks read in this transaction) into blocks."""
    targets = plan(rows, _existing(conn, monitors, rows), cutoff_ms)
    if not targets:
        return 0
    keys = list(targets)
    # The rows as they are now, deleted by their exact keys: the DELETE waits for a writer
    # replacing one of them, and what it returns is what goes into the blocks.
    deleted = conn.execute(
        f'DELETE FROM "check" AS c USING {_KEYS} WHERE c.monitor_id = k.monitor_id AND c.at_ms = k.at '
        "RETURNING c.monitor_id, c.at_ms, c.code, c.latency_us, c.status, c.error_id",
        ([k[0] for k in keys], [k[1] for k in keys])).fetchall()
    fresh: dict[Target, list[CheckRow]] = {}
    for row in deleted:
        fresh.setdefault(targets[(row[0], row[1])], []).append(tuple(row))  # type: ignore[arg-type]
    stored = _stored_blocks(conn, {(t[0], t[1]) for t in fresh})
    write_blocks(conn, fresh, stored)
    return len(deleted)


def take_packed(conn: Any, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], tuple[int, int | None]]:
    """Remove these (monitor_id, at_ms) from the blocks holding them; {key: (code, latency_us)} of
    those found. The pipeline calls it for a check written again long after it ran (a write held
    through a database outage longer than GRACE): the new one goes in raw, the old one out."""
    if not keys or not packs(conn.dialect):
        return {}
    holders = conn.execute(
        f"SELECT DISTINCT b.monitor_id, b.start_ms FROM check_block AS b JOIN {_KEYS} "
        "ON b.monitor_id = k.monitor_id AND b.start_ms <= k.at AND b.start_ms > k.at - ? AND b.end_ms > k.at",
        ([k[0] for k in keys], [k[1] for k in keys], MAX_SPAN_MS)).fetchall()
    if not holders:
        return {}
    wanted = set(keys)
    found: dict[tuple[int, int], tuple[int, int | None]] = {}
    for (monitor_id, start), block in _stored_blocks(conn, [tuple(h) for h in holders]).items():
        kept = []
        for row in block.rows:
            if (row[0], row[1]) in wanted:
                found[(row[0], row[1])] = (row[2], row[3])
            else:
                kept.append(row)
        if len(kept) == len(block.rows):
            continue
        if kept:
            columns = Block(monitor_id, start, block.end_ms, tuple(kept)).columns()
            conn.execute(_UPDATE_BLOCK, (*columns[3:], monitor_id, start))
        else:
            conn.execute("DELETE FROM check_block WHERE monitor_id = ? AND start_ms = ?", (monitor_id, start))
    return found


def prune_blocks(db: Any, cutoff_ms: int, budget: int) -> int:
    """Delete blocks whose whole period ended at or before `cutoff_ms` (a day block straddling it
    stays until it is all older), at most `budget`; each block counts as one row."""
    if not packs(db.dialect):
        return 0
    deleted = 0
    while deleted < budget:
        step = min(BLOCKS_PER_TRANSACTION, budget - deleted)
        with db.writing():
            count = db.execute_sql(
                "DELETE FROM check_block WHERE (monitor_id, start_ms) IN (SELECT monitor_id, start_ms "
                "FROM check_block WHERE monitor_id IN (SELECT id FROM monitor) AND start_ms < ? "
                "AND end_ms <= ? LIMIT ?)", (cutoff_ms, cutoff_ms, step)).rowcount
        deleted += count
        if count < step:
            break
    return deleted


def due_blocks(conn: Any, cutoff_ms: int) -> int:
    """Packed checks the next prune would remove (see prune_blocks); 0 on a plain sqlite3
    connection (`shiptrack db info` reads the file that way)."""
    dialect = getattr(conn, "dialect", None)
    if dialect is None or not packs(dialect):
        return 0
    return int(conn.execute("SELECT COALESCE(sum(n), 0) FROM check_block WHERE monitor_id IN "
                            "(SELECT id FROM monitor) AND start_ms < ? AND end_ms <= ?",
                            (cutoff_ms, cutoff_ms)).fetchone()[0])


class BlockWriter:
    """Packs rows arriving in (monitor_id, at_ms) order into an empty PostgreSQL database
    (`shiptrack db copy --to postgresql://...`): closed periods as blocks, the rest raw."""

    def __init__(self, conn_of: Any, now: float, write_raw: Any) -> None:
        self._conn_of = conn_of  # () -> the destination connection
        self._cutoff = closed_before(now)
        self._write_raw = write_raw  # (rows) -> None: the plain COPY into "check"
        self._monitor: int | None = None
        self._rows: list[CheckRow] = []

    def add(self, rows: Sequence[CheckRow]) -> None:
        for row in rows:
            if row[0] != self._monitor:
                self.flush()
                self._monitor = row[0]
            self._rows.append(row)

    def flush(self) -> None:
        rows, self._rows = self._rows, []
        if not rows:
            return
        targets = plan(rows, {}, self._cutoff)
        fresh: dict[Target, list[CheckRow]] = {}
        raw = []
        for row in rows:
            target = targets.get((row[0], row[1]))
            if target is None:
                raw.append(row)
            else:
                fresh.setdefault(target, []).append(row)
        if raw:
            self._write_raw(raw)
        write_blocks(self._conn_of(), fresh, {})
