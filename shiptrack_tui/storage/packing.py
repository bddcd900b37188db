"""Where stored checks are read from: the `check` table, and on PostgreSQL its packed blocks too.

On PostgreSQL, closed periods of a monitor's checks are packed into one `check_block` row
(storage/compaction.py writes them): one hour of checks, or one UTC day for a monitor checked
less than `DENSE_PER_HOUR` times an hour, as parallel arrays (offsets in ms from the period's
start, codes, latencies, status codes, reason ids). One row per period instead of one per check
takes the 24-byte tuple header, the item pointer and the primary-key index entry once per period:
about 18 bytes per check at 60 s, against about 100 for a row per check (issue #14).

Every read of checks goes through this module, in one of two forms, with the monitor and time
bounds applied to the raw rows and to the blocks alike, so that each walks its primary key:
- `checks()`: a FROM item, for reads that sort, limit or join in SQL (recent checks, postmortem
  spans): on SQLite the plain table, on PostgreSQL the raw rows UNION ALL the unnested blocks;
- `check_rows()`: the rows themselves, for bulk reads (every monitor's window edges, charts).
A check is in exactly one of the two places at any commit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final

from shiptrack_tui.storage.codec import HOUR
from shiptrack_tui.storage.dialect import Connection, Dialect

HOUR_MS: Final = HOUR * 1000
DAY_MS: Final = 24 * HOUR_MS
MAX_SPAN_MS: Final = DAY_MS
"""The widest period a block covers (periods are aligned hours or days)."""
DENSE_PER_HOUR: Final = 8
"""A day whose checks reach this many in some hour is packed by the hour, else as one block."""
EARLIEST: Final = -(2**62)
LATEST: Final = 2**62

PACKED_DDL: Final = (
    # 3 x 8 + 4 bytes, then the arrays; the offsets are ms after start_ms, ascending, and the
    # arrays are parallel (element i of each is check i). [start_ms, end_ms) is the aligned period.
    'CREATE TABLE "check_block" ("monitor_id" BIGINT NOT NULL, "start_ms" BIGINT NOT NULL, '
    '"end_ms" BIGINT NOT NULL, "n" INTEGER NOT NULL, "at_off" INTEGER[] NOT NULL, '
    '"code" SMALLINT[] NOT NULL, "latency_us" INTEGER[] NOT NULL, "status" SMALLINT[] NOT NULL, '
    '"error_id" INTEGER[] NOT NULL, PRIMARY KEY ("monitor_id", "start_ms"))',
)
COLUMNS: Final = ("monitor_id", "at_ms", "code", "latency_us", "status", "error_id")
BLOCK_COLUMNS: Final = "monitor_id, start_ms, end_ms, n, at_off, code, latency_us, status, error_id"
CheckRow = tuple[int, int, int, int | None, int | None, int | None]
"""A stored check as the `check` table holds it: COLUMNS, in order."""


def packs(dialect: Dialect) -> bool:
    """Whether this backend keeps packed blocks (PostgreSQL)."""
    return dialect.name == "postgresql"


@dataclass(frozen=True, slots=True)
class Wanted:
    """Which checks a read wants: one monitor id or several, at_ms in [low_ms, high_ms].

    `first` (with `newest`): the read keeps only the first `first` checks of each monitor in that
    order (ORDER BY at_ms ... LIMIT), so blocks that cannot hold one of them are not unpacked.
    """

    monitors: int | Sequence[int]
    low_ms: int = EARLIEST
    high_ms: int = LATEST
    first: int | None = None
    newest: bool = True
    columns: tuple[str, ...] = COLUMNS
    """What the read takes (at least monitor_id and at_ms): unnesting fewer arrays is cheaper."""


def _monitor_condition(dialect: Dialect, column: str, wanted: Wanted) -> tuple[str, object]:
    if isinstance(wanted.monitors, int):
        return f"{column} = ?", wanted.monitors
    return dialect.in_list(column), dialect.values(wanted.monitors)


def _raw(dialect: Dialect, wanted: Wanted) -> tuple[list[str], str, list[object]]:
    """(columns taken, the raw rows' SELECT, its parameters)."""
    raw_ids, ids = _monitor_condition(dialect, "monitor_id", wanted)
    columns = [column for column in COLUMNS if column in wanted.columns or column in ("monitor_id", "at_ms")]
    raw = f'SELECT {", ".join(columns)} FROM "check" WHERE {raw_ids} AND at_ms >= ? AND at_ms <= ?'
    return columns, raw, [ids, wanted.low_ms, wanted.high_ms]


def _blocks_in_range(dialect: Dialect, wanted: Wanted) -> tuple[str, list[object]]:
    """The WHERE of the blocks holding checks in `wanted`'s range, and its parameters."""
    block_ids, ids = _monitor_condition(dialect, "monitor_id", wanted)
    low = wanted.low_ms
    # Periods are aligned hours or days and never overlap: the blocks in range start inside it,
    # or are the hour or the day holding its start (two short walks of the primary key).
    return (f"{block_ids} AND ((start_ms >= ? AND start_ms <= ?) OR start_ms = ?) AND end_ms > ?",
            [ids, period_of(low, HOUR_MS), wanted.high_ms, period_of(low, DAY_MS), low])


Expand = Callable[[Iterable[Sequence[Any]]], Iterable[Sequence[Any]]]
"""Turns a query's rows into check tuples (a block's array slices into one tuple per check)."""


def check_queries(dialect: Dialect, wanted: Wanted) -> list[tuple[str, list[object], Expand | None]]:
    """The statements `check_rows` runs, each with its parameters and how its rows become check
    tuples (None: they are already): for readers that run them ahead (storage/read_ahead.py)."""
    columns, raw, params = _raw(dialect, wanted)
    queries: list[tuple[str, list[object], Expand | None]] = [(raw, params, None)]
    if not packs(dialect):
        return queries
    where, block_params = _blocks_in_range(dialect, wanted)
    arrays = "".join(f", b.{column}[s.i:s.j]" for column in ("at_off", *columns[2:]))
    # The offsets' positions: the first at or after the range's start, the last at or before its
    # end (values clamped into the period, where they count the same, so that they fit INTEGER).
    sql = (f"SELECT b.monitor_id, b.start_ms{arrays} FROM check_block AS b CROSS JOIN LATERAL (SELECT "
           "width_bucket(LEAST(GREATEST(? - b.start_ms - 1, -1), b.end_ms - b.start_ms)::integer, b.at_off) "
           "+ 1 AS i, width_bucket(LEAST(GREATEST(? - b.start_ms, -1), b.end_ms - b.start_ms)::integer, "
           f"b.at_off) AS j) AS s WHERE s.i <= s.j AND {where}")
    queries.append((sql, [wanted.low_ms, wanted.high_ms, *block_params], _unnest))
    return queries


def _unnest(rows: Iterable[Sequence[Any]]) -> Iterator[tuple[Any, ...]]:
    for monitor_id, start, offsets, *values in rows:
        for offset, *taken in zip(offsets, *values, strict=True):
            yield (monitor_id, start + offset, *taken)


def check_rows(conn: Connection, wanted: Wanted) -> Iterator[Sequence[Any]]:
    """The stored checks `wanted` as tuples of (monitor_id, at_ms, *the other wanted.columns in
    COLUMNS order), in no particular order: what bulk reads (window edges for every monitor)
    take. On PostgreSQL each block in range comes as one row of array slices holding just the
    checks in range (width_bucket bisects the sorted offsets), unnested here: for a half hour of
    1,000 monitors that took half the time of 30,000 unnested rows, or of as many raw rows."""
    for sql, params, expand in check_queries(conn.dialect, wanted):
        rows = conn.execute(sql, params)
        yield from (rows if expand is None else expand(rows))


def checks(dialect: Dialect, wanted: Wanted) -> tuple[str, list[object]]:
    """A FROM item (alias it) with `wanted.columns`: the stored checks `wanted`; and its
    parameters, to bind before any of the enclosing query's own. For reads that sort, limit or
    join in SQL; `check_rows` is quicker for bulk reads."""
    columns, raw, params = _raw(dialect, wanted)
    if not packs(dialect):
        return f"({raw})", params
    where, block_params = _blocks_in_range(dialect, wanted)
    low, high = wanted.low_ms, wanted.high_ms
    params += block_params
    if wanted.first is None:
        blocks = f"(SELECT * FROM check_block WHERE {where})"
    else:
        # Walking the blocks from the wanted end, one whose predecessors (but the first, which may
        # lie partly outside the range) hold `first` checks already cannot contribute.
        order = "DESC" if wanted.newest else "ASC"
        blocks = ("(SELECT * FROM (SELECT *, SUM(n) OVER w - n - FIRST_VALUE(n) OVER w AS ahead, "
                  f"ROW_NUMBER() OVER w AS nth FROM check_block WHERE {where} "
                  f"WINDOW w AS (PARTITION BY monitor_id ORDER BY start_ms {order})) AS ranked "
                  "WHERE nth = 1 OR ahead < ?)")
        params.append(wanted.first)
    arrays = columns[2:]  # the parallel arrays to unnest beside the offsets
    taken, unnested, named = ("".join(f", {prefix}{a}" for a in arrays) for prefix in ("u.", "b.", ""))
    unpacked = (f"SELECT b.monitor_id, b.start_ms + u.off{taken} FROM {blocks} AS b CROSS JOIN LATERAL "
                f"unnest(b.at_off{unnested}) AS u(off{named}) "
                "WHERE b.start_ms + u.off >= ? AND b.start_ms + u.off <= ?")
    params += [low, high]
    return f"({raw} UNION ALL {unpacked})", params


def count(conn: Connection, monitor_id: int) -> int:
    """How many checks of the monitor are stored, raw or packed (a packed block says its count)."""
    sql = 'SELECT (SELECT count(*) FROM "check" WHERE monitor_id = ?1)'
    if packs(conn.dialect):
        sql += " + COALESCE((SELECT sum(n) FROM check_block WHERE monitor_id = ?1), 0)"
    return int(conn.execute(sql, (monitor_id,)).fetchone()[0])


def count_all(db: Any) -> int:
    """Every stored check of the database (`db`: anything with `execute_sql` and `dialect`)."""
    sql = 'SELECT (SELECT count(*) FROM "check")'
    if packs(db.dialect):
        sql += " + COALESCE((SELECT sum(n) FROM check_block), 0)"
    return int(db.execute_sql(sql).fetchone()[0])


@dataclass(frozen=True, slots=True)
class Block:
    """One packed period of one monitor's checks, unpacked into rows (at_ms ascending)."""

    monitor_id: int
    start_ms: int
    end_ms: int
    rows: tuple[CheckRow, ...]

    @classmethod
    def decode(cls, monitor_id: int, start_ms: int, end_ms: int, at_off: Sequence[int], code: Sequence[int],
               latency_us: Sequence[int | None], status: Sequence[int | None],
               error_id: Sequence[int | None]) -> Block:
        rows = tuple((monitor_id, start_ms + off, c, lat, st, err)
                     for off, c, lat, st, err in zip(at_off, code, latency_us, status, error_id, strict=True))
        return cls(monitor_id, start_ms, end_ms, rows)

    def columns(self) -> tuple[object, ...]:
        """The block's row as BLOCK_COLUMNS, for an INSERT."""
        rows = self.rows
        return (self.monitor_id, self.start_ms, self.end_ms, len(rows), [r[1] - self.start_ms for r in rows],
                [r[2] for r in rows], [r[3] for r in rows], [r[4] for r in rows], [r[5] for r in rows])


INSERT_BLOCK: Final = (f"INSERT INTO check_block ({BLOCK_COLUMNS}) VALUES "
                       "(?, ?, ?, ?, ?::integer[], ?::smallint[], ?::integer[], ?::smallint[], ?::integer[])")


def blocks_in_order(db: Any, batch: int) -> Iterator[list[Block]]:
    """Every block of the database by (monitor_id, start_ms), `batch` blocks at a time (keyset
    pagination, for `shiptrack db copy`)."""
    after = (EARLIEST, EARLIEST)
    while True:
        rows = db.execute_sql(f"SELECT {BLOCK_COLUMNS} FROM check_block WHERE (monitor_id, start_ms) > "
                              "(?, ?) ORDER BY monitor_id, start_ms LIMIT ?", (*after, batch)).fetchall()
        if not rows:
            return
        yield [Block.decode(m, s, e, *arrays) for m, s, e, _n, *arrays in rows]
        after = (rows[-1][0], rows[-1][1])
        if len(rows) < batch:
            return


def period_of(at_ms: int, span_ms: int) -> int:
    """The start of the aligned period of `span_ms` holding `at_ms`."""
    return at_ms // span_ms * span_ms


def day_spans(rows: Iterable[CheckRow]) -> dict[int, bool]:
    """Day start -> whether some hour of that day holds DENSE_PER_HOUR of `rows` (one monitor's)."""
    per_hour: dict[int, int] = {}
    for row in rows:
        hour = period_of(row[1], HOUR_MS)
        per_hour[hour] = per_hour.get(hour, 0) + 1
    dense: dict[int, bool] = {}
    for hour, found in per_hour.items():
        day = period_of(hour, DAY_MS)
        dense[day] = dense.get(day, False) or found >= DENSE_PER_HOUR
    return dense
