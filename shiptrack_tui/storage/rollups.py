"""Rollups: counts per outcome plus a latency histogram (histograms.py) per monitor and block of hours.

Blocks come in spans of 1, 24 and 168 hours, each aligned to a multiple of its span, so any
run of whole hours splits into a few dozen blocks at most: a 30-day window reads at most ~60 rows
per monitor instead of 720. (Schema 3 dropped the 6 h level: the standard windows read
totals.py's per-monitor totals, so blocks only serve other windows and rebuilding totals.)

Hour rows (span 1) take every check as it is written. When a monitor's first check of a new hour
arrives, the hours before it are complete and are folded into the wider blocks; a check that
lands in an already folded hour is added to the wider blocks directly. Everything happens in
the batch's own transaction, so rollups are exact across crashes and restarts. The monitor's
window totals (totals.py) move along in the same step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from shiptrack_tui.core.stats import bucket_of
from shiptrack_tui.storage import histograms, totals
from shiptrack_tui.storage.codec import DOWN_CODE, EXCLUDED, OUTCOME_MASK, hour_of
from shiptrack_tui.storage.dialect import Connection
from shiptrack_tui.storage.lookups import hour_rows, rows_by_key
from shiptrack_tui.storage.spans import SPANS, WIDER_SPANS, decompose

__all__ = ["DOWN_CODE", "SPANS", "UPSERT", "RollupAccumulator", "Tally", "decompose", "update_rollups"]

RollupKey = tuple[int, int, int]  # (monitor_id, span, first hour)
UPSERT: Final = (
    "INSERT INTO rollup (monitor_id, span, hour, up, degraded, down, maintenance, hist) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (monitor_id, span, hour) DO UPDATE SET "
    "up = excluded.up, degraded = excluded.degraded, down = excluded.down, "
    "maintenance = excluded.maintenance, hist = excluded.hist"
)


@dataclass(slots=True)
class Tally:
    """Counts and latency histogram for a set of checks; also used for deltas (negative counts)."""

    up: int = 0
    degraded: int = 0
    down: int = 0
    maintenance: int = 0
    hist: dict[int, int] = field(default_factory=dict)

    def add_check(self, code: int, latency_us: int | None, sign: int = 1) -> None:
        """Count one raw check; maintenance and paused checks count for nothing but themselves."""
        if code & EXCLUDED:
            self.maintenance += sign
            return
        outcome = code & OUTCOME_MASK
        if outcome == 0:
            self.up += sign
        elif outcome == 1:
            self.degraded += sign
        else:
            self.down += sign
        # Latency statistics describe answered checks; a failure's "latency" is often the timeout.
        if outcome != DOWN_CODE and latency_us is not None:
            bucket = bucket_of(latency_us / 1000)
            self.hist[bucket] = self.hist.get(bucket, 0) + sign

    def add_counts(self, up: int, degraded: int, down: int, maintenance: int, hist: Mapping[int, int],
                   sign: int = 1) -> None:
        self.up += sign * up
        self.degraded += sign * degraded
        self.down += sign * down
        self.maintenance += sign * maintenance
        merged = self.hist
        for bucket, count in hist.items():
            merged[bucket] = merged.get(bucket, 0) + sign * count

    def add_row(self, up: int, degraded: int, down: int, maintenance: int, blob: bytes | None,
                sign: int = 1) -> None:
        """Add (or with sign=-1 take away) one stored rollup row."""
        self.add_counts(up, degraded, down, maintenance, histograms.decode(blob), sign)

    def add(self, other: Tally, sign: int = 1) -> None:
        self.add_counts(other.up, other.degraded, other.down, other.maintenance, other.hist, sign)

    @property
    def counted(self) -> int:
        return self.up + self.degraded + self.down


class RollupAccumulator:
    """Deltas per rollup block gathered during one batch, merged into the table at its end."""

    def __init__(self) -> None:
        self.deltas: dict[RollupKey, Tally] = {}

    def tally(self, key: RollupKey) -> Tally:
        found = self.deltas.get(key)
        if found is None:
            found = self.deltas[key] = Tally()
        return found

    def add(self, monitor_id: int, at_ms: int, code: int, latency_us: int | None, sign: int = 1) -> None:
        """Count one check in its hour row."""
        self.tally((monitor_id, 1, hour_of(at_ms))).add_check(code, latency_us, sign)

    def flush(self, conn: Connection) -> None:
        """Read-merge-write each touched block; call inside the batch's transaction."""
        rows = []
        stored = rows_by_key(conn, "rollup", ("monitor_id", "span", "hour"),
                             ("up", "degraded", "down", "maintenance", "hist"), list(self.deltas))
        for (monitor_id, span, hour), delta in self.deltas.items():
            merged = Tally()
            merged.add(delta)
            current = stored.get((monitor_id, span, hour))
            if current is not None:
                merged.add_row(*current)
            rows.append((monitor_id, span, hour, merged.up, merged.degraded, merged.down, merged.maintenance,
                         histograms.encode(merged.hist)))
        conn.executemany(UPSERT, rows)
        self.deltas.clear()


def update_rollups(conn: Connection, hours: RollupAccumulator) -> set[int]:
    """Write a batch's hour deltas, then keep the wider blocks and window totals in step (see the
    module docstring).

    Returns the monitors whose older hours changed (a check in an hour before their newest one),
    for caches of past hours to forget.
    """
    by_monitor: dict[int, list[tuple[int, Tally]]] = {}
    for (monitor_id, _span, hour), delta in hours.deltas.items():
        by_monitor.setdefault(monitor_id, []).append((hour, delta))
    wider = RollupAccumulator()
    rewritten = {monitor_id for monitor_id, touched in by_monitor.items()
                 if len({hour for hour, _delta in touched}) > 1}
    rolled_of: dict[int, int | None] = {}
    late: dict[int, list[tuple[int, int, int, int, int, int]]] = {}
    dialect = conn.dialect
    rolled_hours = dict(conn.execute(f"SELECT id, rolled_hour FROM monitor WHERE {dialect.in_list('id')}",
                                     (dialect.values(by_monitor),)).fetchall()) if by_monitor else {}
    for monitor_id, touched in by_monitor.items():
        rolled = rolled_of[monitor_id] = rolled_hours.get(monitor_id)
        for hour, delta in touched:
            if rolled is not None and hour <= rolled:
                rewritten.add(monitor_id)
                late.setdefault(monitor_id, []).append((hour, delta.up, delta.degraded, delta.down,
                                                        delta.maintenance, totals.packed_of(delta.hist)))
                for span in WIDER_SPANS:
                    wider.tally((monitor_id, span, hour - hour % span)).add(delta)
    hours.flush(conn)  # hour rows first: folding below reads them complete
    advanced: dict[int, int] = {}
    folding: list[tuple[int, int, int]] = []  # (monitor_id, first hour to fold, stop)
    for monitor_id, touched in by_monitor.items():
        rolled = rolled_of[monitor_id]
        complete = max(hour for hour, _delta in touched) - 1
        if rolled is not None and complete <= rolled:
            if monitor_id in late:
                advanced[monitor_id] = rolled
            continue
        folding.append((monitor_id, 0 if rolled is None else rolled + 1, complete + 1))
        advanced[monitor_id] = complete
    for monitor_id, rows in hour_rows(conn, folding).items():
        for hour, (up, degraded, down, maintenance, blob) in rows.items():
            hist = histograms.decode(blob)
            for span in WIDER_SPANS:
                block = wider.tally((monitor_id, span, hour - hour % span))
                block.add_counts(up, degraded, down, maintenance, hist)
    conn.executemany("UPDATE monitor SET rolled_hour = ? WHERE id = ?",
                     [(stop - 1, monitor_id) for monitor_id, _first, stop in folding])
    wider.flush(conn)
    totals.advance_many(conn, [(monitor_id, rolled_of[monitor_id], through, late.get(monitor_id, ()))
                               for monitor_id, through in advanced.items()])
    return rewritten
