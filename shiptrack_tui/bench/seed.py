"""Synthetic history for the stats scenario: the database a real run with `keep_raw = raw_hours` leaves.

For each monitor, every check of `days` on its real grid (stable offset + k × interval) is drawn
from a per-monitor latency distribution with a little background failure and one outage. Checks
older than the raw tail are folded into hour rollup rows with storage's own `RollupAccumulator`
(a real run would have pruned their raw rows); with wider blocks in the schema, the monitor's
first tail batch through the Writer folds those hours into them, as a real run would; checks in
the raw tail go through the real path — `evaluate`, `step`, `PipelineWrite`, `Writer` — which
stores the raw rows, merges them into the same rollups and keeps monitor state and incidents.
The raw checks of the hours where the 24h, 7d and 30d windows start are inserted too (packed as
the writer packs them): statistics read raw rows at window edges, and a real 30-day `keep_raw`
would have them, so the timing pays for those reads. With `keep_raw_hours`, every check of those
last hours is kept raw the same way (what `keep_raw` leaves at rest, for bytes per stored check).
Generation runs in a process pool (one worker per core) since it is pure Python arithmetic.
"""

from __future__ import annotations

import math
import random
import sqlite3
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from shiptrack_tui.core.evaluation import evaluate
from shiptrack_tui.core.incidents import step
from shiptrack_tui.core.model import MonitorSpec, MonitorState, Observation, Outcome, Policy
from shiptrack_tui.core.schedule import stable_offset
from shiptrack_tui.core.stats import WINDOWS
from shiptrack_tui.storage import PipelineWrite, Store, Writer
from shiptrack_tui.storage.codec import hour_of, pack_code, to_ms
from shiptrack_tui.storage.db import BUSY_TIMEOUT_SECONDS
from shiptrack_tui.storage.rollups import RollupAccumulator

DOWN_LATENCY_US = 10_000_000  # a timed-out check's latency, which statistics ignore
DOWN_REASON = "timeout after 10.0s"
RAW_INSERT = ('INSERT INTO "check" (monitor_id, at_ms, code, latency_us, status, error_id) '
              "VALUES (?, ?, ?, ?, ?, ?)")
RawCheck = tuple[float, int, int]  # (at, code, latency_us)


@dataclass(frozen=True, slots=True)
class SeedPlan:
    monitors: int
    interval: float
    days: float
    raw_hours: float
    now: float
    sample_every: int = 50  # keep every check of every 50th monitor for the accuracy check
    keep_raw_hours: float = 0.0
    """Raw rows for the checks of these last hours before the tail too, as `keep_raw` keeps them
    (inserted directly, like the edge hours); 0: the edge hours only."""

    @property
    def kept_start(self) -> float:
        return self.now - max(self.raw_hours, self.keep_raw_hours) * 3600

    @property
    def start(self) -> float:
        return self.now - self.days * 86400

    @property
    def tail_start(self) -> float:
        return self.now - self.raw_hours * 3600

    @property
    def edge_hours(self) -> frozenset[int]:
        """The hours each statistics window starts in, and the hour the tail starts in: windows
        read raw checks at their leading edge (a real 30-day keep_raw has them)."""
        starts = [self.now - seconds for seconds in WINDOWS.values()] + [self.tail_start]
        return frozenset(hour_of(to_ms(at)) for at in starts)


@dataclass
class MonitorHistory:
    checks: int
    rollup_rows: int
    edge_checks: int
    tail: list[RawCheck]
    sample: list[RawCheck] | None  # every check, for monitors in the accuracy sample


def monitor_name(index: int) -> str:
    return f"m{index:05d}"


def _history(plan: SeedPlan, index: int, monitor_id: int, conn: sqlite3.Connection,
             reason_id: int) -> MonitorHistory:
    """Every check of one monitor: hour rollups and edge raw rows stored now, the tail returned.

    Hour rows go through storage's own `RollupAccumulator` (its Tally, its blob encoding, its
    SQL), so the seeded rows are byte for byte what the writer would have stored.
    """
    rng = random.Random(index)
    median_ms = math.exp(rng.uniform(math.log(3.0), math.log(250.0)))
    mu, sigma = math.log(median_ms), rng.uniform(0.15, 0.6)
    background_down = rng.uniform(0.0, 0.004)
    outage_start = plan.start + rng.uniform(0, plan.days * 86400)
    outage_end = outage_start + rng.uniform(300, 3600)
    offset = stable_offset(monitor_name(index), plan.interval)
    k = math.ceil((plan.start - offset) / plan.interval)
    tail_start, kept_start, now_, interval = plan.tail_start, plan.kept_start, plan.now, plan.interval
    hours = RollupAccumulator()
    tail: list[RawCheck] = []
    edges: list[RawCheck] = []
    edge_hours = plan.edge_hours
    sample: list[RawCheck] | None = [] if index % plan.sample_every == 0 else None
    lognorm, uniform = rng.lognormvariate, rng.random
    checks = 0
    while (at := offset + k * interval) < now_:
        k += 1
        checks += 1
        if outage_start <= at < outage_end or uniform() < background_down:
            code, latency_us = 2, DOWN_LATENCY_US
        else:
            code, latency_us = 0, max(1, round(lognorm(mu, sigma) * 1000))
        if sample is not None:
            sample.append((at, code, latency_us))
        if at >= tail_start:
            tail.append((at, code, latency_us))
            continue
        at_ms = to_ms(at)
        if at >= kept_start or hour_of(at_ms) in edge_hours:
            edges.append((at, code, latency_us))
        hours.add(monitor_id, at_ms, code, latency_us)
    rollup_rows = len(hours.deltas)
    conn.execute("BEGIN IMMEDIATE")
    hours.flush(conn)
    conn.executemany(RAW_INSERT, _raw_rows(monitor_id, edges, reason_id))
    conn.execute("COMMIT")
    return MonitorHistory(checks, rollup_rows, len(edges), tail, sample)


def _chunk(plan: SeedPlan, db_path: Path, indexes: list[int], ids: list[int],
           reason_id: int) -> list[tuple[int, MonitorHistory]]:
    """One worker's share of monitors, written on the worker's own connection."""
    conn = sqlite3.connect(db_path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
    try:
        pairs = zip(indexes, ids, strict=True)
        return [(index, _history(plan, index, monitor_id, conn, reason_id)) for index, monitor_id in pairs]
    finally:
        conn.close()


def seed(store: Store, db_path: Path, plan: SeedPlan, url: str, workers: int = 2) -> dict[str, object]:
    """Fill a fresh database; return timings, counts and the accuracy sample."""
    started = time.perf_counter()
    specs = [MonitorSpec(name=monitor_name(i), url=f"{url}/t/{monitor_name(i)}", interval=plan.interval,
                         timeout=min(10.0, plan.interval * 0.9)) for i in range(plan.monitors)]
    store.sync_monitors(specs, plan.start)
    conn = sqlite3.connect(db_path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
    try:
        ids = dict(conn.execute("SELECT name, id FROM monitor").fetchall())
        conn.execute("INSERT OR IGNORE INTO reason (text) VALUES (?)", (DOWN_REASON,))
        reason_id = conn.execute("SELECT id FROM reason WHERE text = ?", (DOWN_REASON,)).fetchone()[0]
    finally:
        conn.close()
    order = list(range(plan.monitors))
    chunks = [order[i::workers * 8] for i in range(workers * 8)]
    histories: dict[int, MonitorHistory] = {}
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(_chunk, plan, db_path, chunk, [ids[monitor_name(i)] for i in chunk], reason_id)
                   for chunk in chunks]
        for future in futures:
            histories.update(future.result())
    generated = time.perf_counter() - started
    tail_checks = _write_tail(store, specs, histories)
    samples = {monitor_name(i): h.sample for i, h in histories.items() if h.sample is not None}
    return {
        "seconds": time.perf_counter() - started,
        "generate_and_rollups_s": generated,
        "hour_rollup_rows": sum(h.rollup_rows for h in histories.values()),
        "raw_tail_checks": tail_checks,
        "raw_edge_checks": sum(h.edge_checks for h in histories.values()),
        "checks_represented": sum(h.checks for h in histories.values()),
        "samples": samples,
    }


def _raw_rows(monitor_id: int, checks: list[RawCheck], reason_id: int) -> list[tuple[object, ...]]:
    """Raw check rows packed as the writer packs them (codec.py)."""
    return [(monitor_id, to_ms(at), pack_code(Outcome.DOWN if code == 2 else Outcome.UP, False), latency_us,
             None if code == 2 else 200, reason_id if code == 2 else None) for at, code, latency_us in checks]


def _write_tail(store: Store, specs: list[MonitorSpec], histories: dict[int, MonitorHistory]) -> int:
    """The raw tail through the engine's own path: evaluate, step, PipelineWrite, Writer."""
    merged = sorted((at, index, code, latency_us) for index, h in histories.items()
                    for at, code, latency_us in h.tail)
    states: dict[int, MonitorState] = {}
    writer = Writer(store)
    for at, index, code, latency_us in merged:
        spec = specs[index]
        if code == 2:
            observation = Observation(at=at, latency_ms=latency_us / 1000, error=DOWN_REASON)
        else:
            observation = Observation(at=at, latency_ms=latency_us / 1000, status_code=200)
        result = evaluate(spec, observation)
        state, events = step(states.get(index, MonitorState()), result, Policy.of(spec))
        states[index] = state
        writer.submit(PipelineWrite(spec.name, state, result=result, events=tuple(events)))
    writer.close()
    return len(merged)

