"""Hourly rollups: counts per outcome plus a latency histogram, merged exactly as checks land.

The writer folds every stored check into its monitor-hour in the same transaction as the check
row itself, so rollups are exact across crashes and restarts: they commit or vanish together.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from shiptrack_tui.core.stats import bucket_of, decode_histogram, encode_histogram
from shiptrack_tui.storage.codec import EXCLUDED, OUTCOME_MASK, hour_of

DOWN_CODE = 2


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

    def add_rollup(self, up: int, degraded: int, down: int, maintenance: int,
                   hist: Mapping[int, int]) -> None:
        self.up += up
        self.degraded += degraded
        self.down += down
        self.maintenance += maintenance
        for bucket, count in hist.items():
            self.hist[bucket] = self.hist.get(bucket, 0) + count

    @property
    def counted(self) -> int:
        return self.up + self.degraded + self.down

    def clean_hist(self) -> dict[int, int]:
        return {bucket: count for bucket, count in self.hist.items() if count > 0}


class RollupAccumulator:
    """Deltas per (monitor_id, hour) gathered during one batch, merged into the table at its end."""

    def __init__(self) -> None:
        self._deltas: dict[tuple[int, int], Tally] = {}

    def add(self, monitor_id: int, at_ms: int, code: int, latency_us: int | None, sign: int = 1) -> None:
        key = (monitor_id, hour_of(at_ms))
        tally = self._deltas.get(key)
        if tally is None:
            tally = self._deltas[key] = Tally()
        tally.add_check(code, latency_us, sign)

    def flush(self, conn: sqlite3.Connection) -> None:
        """Read-merge-write each touched monitor-hour; call inside the batch's transaction."""
        rows = []
        for (monitor_id, hour), delta in self._deltas.items():
            current = conn.execute(
                "SELECT up, degraded, down, maintenance, hist FROM rollup WHERE monitor_id = ? AND hour = ?",
                (monitor_id, hour),
            ).fetchone()
            if current is not None:
                up, degraded, down, maintenance, hist = current
                delta.add_rollup(up, degraded, down, maintenance, decode_histogram(hist or b""))
            rows.append((monitor_id, hour, delta.up, delta.degraded, delta.down, delta.maintenance,
                         encode_histogram(delta.clean_hist())))
        conn.executemany(
            "INSERT OR REPLACE INTO rollup (monitor_id, hour, up, degraded, down, maintenance, hist) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        self._deltas.clear()


def tally_rows(rows: Iterable[tuple[int, int | None]]) -> Tally:
    """A tally of raw (code, latency_us) rows."""
    tally = Tally()
    for code, latency_us in rows:
        tally.add_check(code, latency_us)
    return tally
