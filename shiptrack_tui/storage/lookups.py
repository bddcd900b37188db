"""Rows by composite key, many keys per statement: one round trip instead of one per key.

The keys come in as a VALUES list joined to the table on its key columns (`column1`, `column2`,
... are what both backends call a bare VALUES list's columns): each side looks every key up in
the table's index. (`(a, b) IN (VALUES ...)` reads the same, but SQLite scans the table for it.)
PostgreSQL pays a network round trip per statement, so a batch that looked its rows up one by
one spent most of its time waiting.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from shiptrack_tui.storage.dialect import Connection

CHUNK: Final = 250  # keys per statement: far below either backend's limit on parameters


def rows_by_key(conn: Connection, table: str, key: Sequence[str], columns: Sequence[str],
                keys: Sequence[tuple[int, ...]]) -> dict[tuple[int, ...], tuple]:
    """{key values: the other columns} for each of `keys` that has a row in `table`."""
    found: dict[tuple[int, ...], tuple] = {}
    width = len(key)
    wanted = ", ".join(f"t.{name}" for name in (*key, *columns))
    join = " AND ".join(f"t.{name} = k.column{index}" for index, name in enumerate(key, 1))
    one = "(" + ", ".join("?" * width) + ")"
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start:start + CHUNK]
        params = [value for values in chunk for value in values]
        values = ", ".join([one] * len(chunk))
        query = f'SELECT {wanted} FROM (VALUES {values}) AS k JOIN "{table}" AS t ON {join}'
        for row in conn.execute(query, params):
            found[tuple(row[:width])] = tuple(row[width:])
    return found


HourRow = tuple[int, int, int, int, bytes]  # up, degraded, down, maintenance, hist


def hour_rows(conn: Connection, ranges: Sequence[tuple[int, int, int]]) -> dict[int, dict[int, HourRow]]:
    """{monitor_id: {hour: row}} for the hour rollups (span 1) with first <= hour < stop, for
    each (monitor_id, first, stop) in `ranges`, read in one statement per chunk."""
    found: dict[int, dict[int, HourRow]] = {}
    ranges = [bounds for bounds in ranges if bounds[1] < bounds[2]]
    for start in range(0, len(ranges), CHUNK):
        chunk = ranges[start:start + CHUNK]
        query = ("SELECT r.monitor_id, r.hour, r.up, r.degraded, r.down, r.maintenance, r.hist "
                 f"FROM (VALUES {', '.join(['(?, ?, ?)'] * len(chunk))}) AS k JOIN rollup AS r "
                 "ON r.monitor_id = k.column1 AND r.span = 1 AND r.hour >= k.column2 AND r.hour < k.column3")
        for monitor_id, hour, *row in conn.execute(query, [value for bounds in chunk for value in bounds]):
            found.setdefault(monitor_id, {})[hour] = tuple(row)  # type: ignore[assignment]
    return found
