"""Settled window totals: per monitor, the sum of the last n folded hours, for the standard windows.

A 24 h, 7 d or 30 d window that ends inside the current hour holds 23, 167 or 719 whole hours
before it. `window_total` keeps, per monitor and n, the counts and histogram of hours
[through_hour - n + 1, through_hour], where through_hour is the monitor's `rolled_hour`. The
writer moves them along when it folds completed hours (adding the hours that enter, taking away
the ones that leave, as packed integers) and adds checks that land in already folded hours, all
in the batch's own transaction. A cold `shiptrack status` then reads one row per monitor and
window instead of dozens of rollup blocks (windows.py adds or removes a few hour rows when a
monitor's totals are an hour or two behind).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Final

from shiptrack_tui.storage import histograms
from shiptrack_tui.storage.dialect import Connection, Dialect
from shiptrack_tui.storage.histograms import LANE_BITS
from shiptrack_tui.storage.lookups import HourRow, hour_rows
from shiptrack_tui.storage.spans import decompose

TOTAL_HOURS: Final = (23, 167, 719)  # whole hours in the 24h, 7d and 30d windows
MAX_STEP_HOURS: Final = 24  # a longer step recomputes (see advance)
_UPSERT: Final = (
    "INSERT INTO window_total (monitor_id, hours, through_hour, up, degraded, down, maintenance, hist) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (monitor_id, hours) DO UPDATE SET "
    "through_hour = excluded.through_hour, up = excluded.up, degraded = excluded.degraded, "
    "down = excluded.down, maintenance = excluded.maintenance, hist = excluded.hist"
)
_HOURS: Final = ("SELECT up, degraded, down, maintenance, hist FROM rollup "
                 "WHERE monitor_id = ? AND span = ? AND hour >= ? AND hour < ?")

Sum = list[int]  # [up, degraded, down, maintenance, packed histogram]
StoredTotal = tuple[int, int, int, int, int, int]  # through_hour, up, degraded, down, maintenance, packed


def packed_of(hist: dict[int, int]) -> int:
    """A bucket -> count mapping (counts may be negative) as a packed integer."""
    packed = 0
    for bucket, count in hist.items():
        packed += count << (LANE_BITS * bucket)
    return packed


def _add_rows(total: Sum, rows: Iterable[tuple[int, int, int, int, bytes]], sign: int) -> None:
    for up, degraded, down, maintenance, blob in rows:
        total[0] += sign * up
        total[1] += sign * degraded
        total[2] += sign * down
        total[3] += sign * maintenance
        total[4] += sign * histograms.to_packed(blob)


def _within(rows: dict[int, HourRow], first: int, stop: int) -> list[HourRow]:
    return [row for hour, row in rows.items() if first <= hour < stop]


def _recompute(conn: Connection, monitor_id: int, first: int, stop: int) -> Sum:
    total: Sum = [0, 0, 0, 0, 0]
    for span, low, high in decompose(first, stop, stop):
        _add_rows(total, conn.execute(_HOURS, (monitor_id, span, low, high)), 1)
    return total


Late = Sequence[tuple[int, int, int, int, int, int]]


def advance(conn: Connection, monitor_id: int, old_rolled: int | None, new_rolled: int, late: Late) -> None:
    """Bring one monitor's totals to `new_rolled` (see `advance_many`)."""
    advance_many(conn, [(monitor_id, old_rolled, new_rolled, late)])


def advance_many(conn: Connection, steps: Sequence[tuple[int, int | None, int, Late]]) -> None:
    """Bring monitors' totals to their new rolled hour; call after their rollup rows are written.

    Each step is (monitor_id, old_rolled, new_rolled, late): `late` holds this batch's deltas
    (hour, up, degraded, down, maintenance, packed) for hours already folded before it
    (hour <= old_rolled): the totals took them in no other way. The stored totals and the hour
    rows entering and leaving the windows are read for all monitors at once.
    """
    if not steps:
        return
    stored = read(conn, [monitor_id for monitor_id, *_rest in steps])
    plans: list[tuple[int, int | None, int, Late, list[int]]] = []
    ranges: list[tuple[int, int, int]] = []
    for monitor_id, old_rolled, new_rolled, late in steps:
        mine = stored.get(monitor_id, {})
        # After a long gap the hours leaving the window are old enough for retention to have
        # dropped their hour rows: those totals are rebuilt from the (kept) day and week blocks.
        stepped = [] if old_rolled is None else [
            n for n in TOTAL_HOURS if n in mine and mine[n][0] == old_rolled
            and new_rolled - old_rolled <= min(n - 1, MAX_STEP_HOURS)]
        if stepped and old_rolled is not None:
            ranges.append((monitor_id, old_rolled + 1, new_rolled + 1))
            ranges.extend((monitor_id, old_rolled - n + 1, new_rolled - n + 1) for n in stepped)
        plans.append((monitor_id, old_rolled, new_rolled, late, stepped))
    rows_of = hour_rows(conn, ranges)
    rows = []
    for monitor_id, old_rolled, new_rolled, late, stepped in plans:
        hours = rows_of.get(monitor_id, {})
        for n in TOTAL_HOURS:
            if n not in stepped or old_rolled is None:
                total = _recompute(conn, monitor_id, new_rolled - n + 1, new_rolled + 1)
            else:
                total = list(stored[monitor_id][n][1:])
                for hour, *delta in late:
                    if old_rolled - n < hour <= old_rolled:
                        for i, value in enumerate(delta):
                            total[i] += value
                _add_rows(total, _within(hours, old_rolled + 1, new_rolled + 1), 1)
                _add_rows(total, _within(hours, old_rolled - n + 1, new_rolled - n + 1), -1)
            rows.append((monitor_id, n, new_rolled, *total[:4],
                         histograms.encode_packed(total[4], wide=True)))
    conn.executemany(_UPSERT, rows)


def read(conn: Connection, ids: Sequence[int]) -> dict[int, dict[int, StoredTotal]]:
    """Every stored total of the given monitors: {monitor_id: {hours: total}}."""
    found: dict[int, dict[int, StoredTotal]] = {}
    collect(found, conn.execute(read_sql(conn.dialect), (conn.dialect.values(ids),)))
    return found


def read_sql(dialect: Dialect) -> str:
    """The statement `read` runs, with one parameter: the ids as `dialect.values` binds them."""
    return ("SELECT monitor_id, hours, through_hour, up, degraded, down, maintenance, hist "
            f"FROM window_total WHERE {dialect.in_list('monitor_id')}")


def collect(found: dict[int, dict[int, StoredTotal]], rows: Iterable[Sequence[Any]]) -> None:
    """Add the rows of `read_sql` to `found`, as `read` returns them."""
    to_packed = histograms.to_packed
    for monitor_id, hours, through, up, degraded, down, maintenance, blob in rows:
        found.setdefault(monitor_id, {})[hours] = (through, up, degraded, down, maintenance, to_packed(blob))


def rebuild(conn: Connection) -> None:
    """Totals for every monitor that has folded hours (the schema 3 migration)."""
    for monitor_id, rolled in conn.execute(
            "SELECT id, rolled_hour FROM monitor WHERE rolled_hour IS NOT NULL").fetchall():
        advance(conn, monitor_id, None, rolled, ())
