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
from typing import Final

from shiptrack_tui.storage import histograms
from shiptrack_tui.storage.dialect import Connection
from shiptrack_tui.storage.histograms import LANE_BITS
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


def _add_hours(conn: Connection, monitor_id: int, total: Sum, first: int, stop: int,
               sign: int = 1) -> None:
    if first < stop:
        _add_rows(total, conn.execute(_HOURS, (monitor_id, 1, first, stop)), sign)


def _recompute(conn: Connection, monitor_id: int, first: int, stop: int) -> Sum:
    total: Sum = [0, 0, 0, 0, 0]
    for span, low, high in decompose(first, stop, stop):
        _add_rows(total, conn.execute(_HOURS, (monitor_id, span, low, high)), 1)
    return total


def advance(conn: Connection, monitor_id: int, old_rolled: int | None, new_rolled: int,
            late: Sequence[tuple[int, int, int, int, int, int]]) -> None:
    """Bring a monitor's totals to `new_rolled`; call after its rollup rows are written.

    `late` holds this batch's deltas (hour, up, degraded, down, maintenance, packed) for hours
    already folded before it (hour <= old_rolled): the totals took them in no other way.
    """
    stored = {hours: list(rest) for hours, *rest in conn.execute(
        "SELECT hours, through_hour, up, degraded, down, maintenance, hist FROM window_total "
        "WHERE monitor_id = ?", (monitor_id,))}
    rows = []
    for n in TOTAL_HOURS:
        found = stored.get(n)
        # After a long gap the hours leaving the window are old enough for retention to have
        # dropped their hour rows: rebuild from the (kept) day and week blocks instead.
        if (found is None or old_rolled is None or found[0] != old_rolled
                or new_rolled - old_rolled > min(n - 1, MAX_STEP_HOURS)):
            total = _recompute(conn, monitor_id, new_rolled - n + 1, new_rolled + 1)
        else:
            total = [*found[1:5], histograms.to_packed(found[5])]
            for hour, *delta in late:
                if old_rolled - n < hour <= old_rolled:
                    for i, value in enumerate(delta):
                        total[i] += value
            _add_hours(conn, monitor_id, total, old_rolled + 1, new_rolled + 1)
            _add_hours(conn, monitor_id, total, old_rolled - n + 1, new_rolled - n + 1, sign=-1)
        rows.append((monitor_id, n, new_rolled, *total[:4], histograms.encode_packed(total[4], wide=True)))
    conn.executemany(_UPSERT, rows)


def read(conn: Connection, ids: Sequence[int]) -> dict[int, dict[int, StoredTotal]]:
    """Every stored total of the given monitors: {monitor_id: {hours: total}}."""
    found: dict[int, dict[int, StoredTotal]] = {}
    dialect = conn.dialect
    query = ("SELECT monitor_id, hours, through_hour, up, degraded, down, maintenance, hist "
             f"FROM window_total WHERE {dialect.in_list('monitor_id')}")
    to_packed = histograms.to_packed
    for monitor_id, hours, through, up, degraded, down, maintenance, blob in conn.execute(
            query, (dialect.values(ids),)):
        found.setdefault(monitor_id, {})[hours] = (through, up, degraded, down, maintenance, to_packed(blob))
    return found


def rebuild(conn: Connection) -> None:
    """Totals for every monitor that has folded hours (the schema 3 migration)."""
    for monitor_id, rolled in conn.execute(
            "SELECT id, rolled_hour FROM monitor WHERE rolled_hour IS NOT NULL").fetchall():
        advance(conn, monitor_id, None, rolled, ())
