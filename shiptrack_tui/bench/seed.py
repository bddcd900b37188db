"""Synthetic history for the stats scenario: the database a real run with `keep_raw = raw_hours` leaves.

For each monitor, every check of `days` on its real grid (stable offset + k × interval) is drawn
from a per-monitor latency distribution with a little background failure and one outage. Checks
older than the raw tail are folded into hourly rollups with the writer's own `Tally` and
`encode_histogram` and inserted directly (a real run would have pruned their raw rows); checks in
the raw tail go through the real path — `evaluate`, `step`, `PipelineWrite`, `Writer` — which
stores the raw rows, merges them into the same rollups and keeps monitor state and incidents.
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
from shiptrack_tui.core.model import MonitorSpec, MonitorState, Observation, Policy
from shiptrack_tui.core.schedule import stable_offset
from shiptrack_tui.storage import PipelineWrite, Store, Writer
from shiptrack_tui.storage.codec import hour_of, to_ms
from shiptrack_tui.storage.db import BUSY_TIMEOUT_SECONDS
from shiptrack_tui.storage.rollups import Tally

DOWN_LATENCY_US = 10_000_000  # a timed-out check's latency, which statistics ignore
RollupRow = tuple[int, int, int, int, int, int, bytes]
RawCheck = tuple[float, int, int]  # (at, code, latency_us)


@dataclass(frozen=True, slots=True)
class SeedPlan:
    monitors: int
    interval: float
    days: float
    raw_hours: float
    now: float
    sample_every: int = 50  # keep every check of every 50th monitor for the accuracy check

    @property
    def start(self) -> float:
        return self.now - self.days * 86400

    @property
    def tail_start(self) -> float:
        return self.now - self.raw_hours * 3600


@dataclass
class MonitorHistory:
    rollups: list[RollupRow]
    checks: int
    tail: list[RawCheck]
    sample: list[RawCheck] | None  # every check, for monitors in the accuracy sample


def monitor_name(index: int) -> str:
    return f"m{index:05d}"


def _history(plan: SeedPlan, index: int, monitor_id: int) -> MonitorHistory:
    """Every check of one monitor: rollups for the pruned part, raw checks for the tail."""
    from shiptrack_tui.storage.rollups import encode_histogram

    rng = random.Random(index)
    median_ms = math.exp(rng.uniform(math.log(3.0), math.log(250.0)))
    mu, sigma = math.log(median_ms), rng.uniform(0.15, 0.6)
    background_down = rng.uniform(0.0, 0.004)
    outage_start = plan.start + rng.uniform(0, plan.days * 86400)
    outage_end = outage_start + rng.uniform(300, 3600)
    offset = stable_offset(monitor_name(index), plan.interval)
    k = math.ceil((plan.start - offset) / plan.interval)
    tail_start, now_, interval = plan.tail_start, plan.now, plan.interval
    tallies: dict[int, Tally] = {}
    tail: list[RawCheck] = []
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
        hour = hour_of(to_ms(at))
        tally = tallies.get(hour)
        if tally is None:
            tally = tallies[hour] = Tally()
        tally.add_check(code, latency_us)
    rollups = [(monitor_id, hour, t.up, t.degraded, t.down, t.maintenance, encode_histogram(t.clean_hist()))
               for hour, t in tallies.items()]
    return MonitorHistory(rollups, checks, tail, sample)


def _chunk(plan: SeedPlan, indexes: list[int], ids: list[int]) -> list[tuple[int, MonitorHistory]]:
    pairs = zip(indexes, ids, strict=True)
    return [(index, _history(plan, index, monitor_id)) for index, monitor_id in pairs]


def seed(store: Store, db_path: Path, plan: SeedPlan, url: str, workers: int = 2) -> dict[str, object]:
    """Fill a fresh database; return timings, counts and the accuracy sample."""
    started = time.perf_counter()
    specs = [MonitorSpec(name=monitor_name(i), url=f"{url}/t/{monitor_name(i)}", interval=plan.interval,
                         timeout=min(10.0, plan.interval * 0.9)) for i in range(plan.monitors)]
    store.sync_monitors(specs, plan.start)
    # A connection of our own for the direct rollup inserts, with the store's busy timeout.
    conn = sqlite3.connect(db_path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
    ids = dict(conn.execute("SELECT name, id FROM monitor").fetchall())
    insert = _hour_row_insert(conn)
    order = list(range(plan.monitors))
    chunks = [order[i::workers * 8] for i in range(workers * 8)]
    histories: dict[int, MonitorHistory] = {}
    rollup_rows = checks = 0
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(_chunk, plan, chunk, [ids[monitor_name(i)] for i in chunk])
                   for chunk in chunks]
        for future in futures:
            for index, history in future.result():
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(insert, history.rollups)
                conn.execute("COMMIT")
                rollup_rows += len(history.rollups)
                checks += history.checks
                history.rollups = []
                histories[index] = history
    conn.close()
    generated = time.perf_counter() - started
    tail_checks = _write_tail(store, specs, histories)
    samples = {monitor_name(i): h.sample for i, h in histories.items() if h.sample is not None}
    return {
        "seconds": time.perf_counter() - started,
        "generate_and_rollups_s": generated,
        "rollup_rows": rollup_rows,
        "raw_tail_checks": tail_checks,
        "checks_represented": checks,
        "samples": samples,
    }


def _hour_row_insert(conn: sqlite3.Connection) -> str:
    """The INSERT for one-hour rollup rows, whether or not the schema has wider blocks (`span`).

    Only hour rows are seeded: with wider blocks, the monitor's first tail batch through the
    Writer folds every earlier hour into them with storage's own code, as a real run would have.
    """
    columns = {row[1] for row in conn.execute("PRAGMA table_info(rollup)")}
    if "span" in columns:
        return ("INSERT INTO rollup (monitor_id, span, hour, up, degraded, down, maintenance, hist) "
                "VALUES (?, 1, ?, ?, ?, ?, ?, ?)")
    return ("INSERT INTO rollup (monitor_id, hour, up, degraded, down, maintenance, hist) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)")


def _write_tail(store: Store, specs: list[MonitorSpec], histories: dict[int, MonitorHistory]) -> int:
    """The raw tail through the engine's own path: evaluate, step, PipelineWrite, Writer."""
    merged = sorted((at, index, code, latency_us) for index, h in histories.items()
                    for at, code, latency_us in h.tail)
    states: dict[int, MonitorState] = {}
    writer = Writer(store)
    for at, index, code, latency_us in merged:
        spec = specs[index]
        if code == 2:
            observation = Observation(at=at, latency_ms=latency_us / 1000, error="timeout after 10.0s")
        else:
            observation = Observation(at=at, latency_ms=latency_us / 1000, status_code=200)
        result = evaluate(spec, observation)
        state, events = step(states.get(index, MonitorState()), result, Policy.of(spec))
        states[index] = state
        writer.submit(PipelineWrite(spec.name, state, result=result, events=tuple(events)))
    writer.close()
    return len(merged)

