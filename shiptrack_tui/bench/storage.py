"""Scenario "storage": write N checks through the Writer, then measure disk, retention and the WAL.

- bytes on disk per stored check (the `check` table is its own primary key), beside the same rows
  in a naive schema;
- write rate through `Writer` (rollups, monitor state and all), beside bare `executemany` of the
  same packed rows into the same table;
- retention: every `Store.prune` step's time and rows, beside one unbounded DELETE of the same
  rows on a copy (the time a naive prune would hold the write lock);
- the WAL's peak size while writing and pruning, against `journal_size_limit`;
- the steady-state size per monitor at 30 s under today's retention defaults, beside the same
  database under the old defaults (steady.py).
"""

from __future__ import annotations

import random
import shutil
import sqlite3
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from shiptrack_tui.bench.disk import checkpoint_truncate, naive_bytes, shiptrack_bytes
from shiptrack_tui.bench.measure import file_bytes, ratio
from shiptrack_tui.core.model import CheckResult, MonitorState, MonitorStatus, Outcome
from shiptrack_tui.storage import PipelineWrite, Retention, Store, Writer
from shiptrack_tui.storage.codec import pack_code, to_ms, to_us
from shiptrack_tui.storage.db import PRAGMAS

# bytes_per_check is DESIGN §8's; prune_step_ms is this benchmark's own bound (DESIGN names none):
# one retention step must not hold the write lock long enough to stall the writer noticeably.
TARGETS = {"bytes_per_check": 40.0, "prune_step_ms": 100.0, "steady_gb_10000_monitors_30s": 5.0}
STEADY_INTERVAL = 30.0  # issue 10's load: 10,000 monitors every 30 s
PRUNE_STEP_ROWS = 5000  # Store.prune's default budget per call
BACKLOG = 20_000  # keep at most this many writes queued, as a steady engine would


def synthetic_results(monitors: int, checks: int, interval: float, end: float,
                      seed: int = 5) -> Iterator[CheckResult]:
    """Checks in time order, all monitors per tick: ~98 % up (log-normal latency), 1 % slow, 1 % down."""
    rng = random.Random(seed)
    names = [f"m{i:05d}" for i in range(monitors)]
    ticks = -(-checks // monitors)
    start = end - ticks * interval
    produced = 0
    for tick in range(ticks):
        base = start + tick * interval
        for index, name in enumerate(names):
            if produced == checks:
                return
            produced += 1
            at = base + index * interval / monitors
            roll = rng.random()
            if roll < 0.01:
                yield CheckResult(name, at, Outcome.DOWN, 10_000.0, None, "timeout after 10.0s")
            elif roll < 0.02:
                yield CheckResult(name, at, Outcome.DEGRADED, rng.uniform(1000, 3000), 200, "slow")
            else:
                yield CheckResult(name, at, Outcome.UP, rng.lognormvariate(3.0, 0.5), 200)


class WalWatch:
    """Peak size of a database's -wal file, sampled every few milliseconds on a thread."""

    def __init__(self, db_path: Path, every: float = 0.02) -> None:
        self.path = Path(f"{db_path}-wal")
        self.every = every
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-wal", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.peak = max(self.peak, file_bytes(self.path))

    def __enter__(self) -> WalWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, file_bytes(self.path))


def write_through_writer(store: Store, results: Iterator[CheckResult]) -> tuple[int, float, int]:
    """Submit every result as the engine would; (checks, seconds until committed, batches)."""
    writer = Writer(store)
    state = MonitorState(status=MonitorStatus.UP)
    count = 0
    started = time.perf_counter()
    for result in results:
        writer.submit(PipelineWrite(result.monitor, state, result=result))
        count += 1
        if count % 1000 == 0 and writer.pending > BACKLOG:
            while writer.pending > BACKLOG // 2:
                time.sleep(0.005)
    writer.close()
    return count, time.perf_counter() - started, writer.batches


def bare_insert(path: Path, results: Iterator[CheckResult]) -> tuple[int, float]:
    """The same packed rows into the same `check` table with plain executemany, 5,000 a transaction."""
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma, value in PRAGMAS:
        conn.execute(f"PRAGMA {pragma} = {value}")
    conn.execute('CREATE TABLE "check" (monitor_id INTEGER NOT NULL, at_ms INTEGER NOT NULL, code INTEGER '
                 "NOT NULL, latency_us INTEGER, status INTEGER, error_id INTEGER, "
                 "PRIMARY KEY (monitor_id, at_ms)) WITHOUT ROWID")
    ids: dict[str, int] = {}
    reasons: dict[str, int] = {}
    count = 0
    started = time.perf_counter()
    batch: list[tuple[int, int, int, int | None, int | None, int | None]] = []

    def commit() -> None:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany('INSERT INTO "check" VALUES (?, ?, ?, ?, ?, ?)', batch)
        conn.execute("COMMIT")
        batch.clear()

    for r in results:
        monitor_id = ids.setdefault(r.monitor, len(ids) + 1)
        error_id = reasons.setdefault(r.reason, len(reasons) + 1) if r.reason else None
        batch.append((monitor_id, to_ms(r.at), pack_code(r.outcome, False), to_us(r.latency_ms),
                      r.status_code, error_id))
        count += 1
        if len(batch) >= 5000:
            commit()
    if batch:
        commit()
    elapsed = time.perf_counter() - started
    conn.close()
    return count, elapsed


def prune_steps(store: Store, now: float, keep: Retention) -> list[tuple[float, int]]:
    """Call `Store.prune` until it deletes nothing more; (seconds, rows) per call."""
    steps: list[tuple[float, int]] = []
    while True:
        started = time.perf_counter()
        deleted = store.prune(now, keep, PRUNE_STEP_ROWS)
        steps.append((time.perf_counter() - started, deleted))
        if deleted < PRUNE_STEP_ROWS:
            return steps


def naive_prune(copy: Path, cutoff_ms: int) -> tuple[float, int]:
    """One DELETE of every old row in one transaction: how long a naive prune holds the lock."""
    conn = sqlite3.connect(copy, isolation_level=None)
    try:
        started = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        deleted = conn.execute('DELETE FROM "check" WHERE at_ms < ?', (cutoff_ms,)).rowcount
        conn.execute("COMMIT")
        return time.perf_counter() - started, deleted
    finally:
        conn.close()


def steady_figures(workdir: Path, monitors: int) -> dict[str, Any]:
    """Steady-state bytes per monitor under today's defaults and, as the baseline, the old ones."""
    from shiptrack_tui.bench import steady

    now = time.time()
    new = steady.measure(workdir / "steady-new.db", monitors=monitors, interval=STEADY_INTERVAL,
                         keep=Retention(), now=now)
    old = steady.measure(workdir / "steady-old.db", monitors=monitors, interval=STEADY_INTERVAL,
                         keep=steady.OLD_DEFAULTS, now=now)
    for name in ("steady-new.db", "steady-old.db"):
        (workdir / name).unlink(missing_ok=True)
    return {"new": new, "old": old, "gb_10000": new["bytes_per_monitor"] * 10_000 / 1e9,
            "old_gb_10000": old["bytes_per_monitor"] * 10_000 / 1e9}


def run(*, monitors: int, interval: float, checks: int, workdir: Path,
        steady_monitors: int = 0) -> dict[str, Any]:
    started = time.perf_counter()
    now = time.time()
    db_path = workdir / "storage.db"
    store = Store.open(db_path)
    with WalWatch(db_path) as wal_write:
        written, write_s, batches = write_through_writer(
            store, synthetic_results(monitors, checks, interval, now))
    bare_count, bare_s = bare_insert(workdir / "bare.db", synthetic_results(monitors, checks, interval, now))
    (workdir / "bare.db").unlink()
    disk = shiptrack_bytes(db_path, written)
    naive = naive_bytes(db_path, workdir)

    span = -(-checks // monitors) * interval
    keep_raw = span / 2
    keep = Retention(raw=keep_raw)
    copy = workdir / "naive-prune.db"
    shutil.copyfile(db_path, copy)
    naive_s, naive_deleted = naive_prune(copy, keep.raw_cutoff_ms(now))
    copy.unlink()
    with WalWatch(db_path) as wal_prune:
        steps = prune_steps(store, now, keep)
    wal_after_prune = file_bytes(Path(f"{db_path}-wal"))
    store.checkpoint()
    store.close()
    checkpoint_truncate(db_path)
    times_ms = [seconds * 1000 for seconds, _rows in steps]
    deleted = sum(rows for _s, rows in steps)
    wal_limit = dict(PRAGMAS)["journal_size_limit"]
    write_rate = written / write_s
    bare_rate = bare_count / bare_s
    step_p50 = statistics.median(times_ms)
    step_max = max(times_ms)
    steady = steady_figures(workdir, steady_monitors) if steady_monitors > 0 else None
    steady_figure = {} if steady is None else {
        "steady_bytes_per_monitor": steady["new"]["bytes_per_monitor"],
        "steady_gb_10000_monitors_30s": steady["gb_10000"],
        "steady": steady["new"],
    }
    steady_baseline = {} if steady is None else {
        "old_defaults_steady_bytes_per_monitor": steady["old"]["bytes_per_monitor"],
        "old_defaults_steady_gb_10000_monitors_30s": steady["old_gb_10000"],
        "old_defaults_steady": steady["old"],
    }
    return {
        "scenario": "storage",
        "params": {"monitors": monitors, "interval_s": interval, "checks": checks,
                   "steady_monitors": steady_monitors, "steady_interval_s": STEADY_INTERVAL,
                   "keep_raw_s": keep_raw, "prune_step_rows": PRUNE_STEP_ROWS},
        "figures": {
            "bytes_per_check": disk["bytes_per_check"],
            "disk": disk,
            "writer_checks_per_s": write_rate,
            "writer_batches": batches,
            "prune_deleted": deleted,
            "prune_steps": len(steps),
            "prune_step_ms_p50": step_p50,
            "prune_step_ms_max": step_max,
            "prune_rows_per_s": deleted / (sum(times_ms) / 1000) if times_ms else None,
            "wal_peak_bytes_writing": wal_write.peak,
            "wal_peak_bytes_pruning": wal_prune.peak,
            "wal_bytes_after_prune": wal_after_prune,
            "wal_limit_bytes": wal_limit,
            **steady_figure,
        },
        "baseline": {
            "naive_bytes_per_check": naive["bytes_per_check"],
            "naive_disk": naive,
            "bare_executemany_checks_per_s": bare_rate,
            "naive_prune_one_delete_ms": naive_s * 1000,
            "naive_prune_deleted": naive_deleted,
            **steady_baseline,
        },
        "ratio": ratio(disk["bytes_per_check"], naive["bytes_per_check"]),
        "ratios": {
            "bytes_per_check": ratio(disk["bytes_per_check"], naive["bytes_per_check"]),
            "writer_vs_bare_insert": ratio(write_rate, bare_rate),
            "prune_step_max_vs_one_delete": ratio(step_max, naive_s * 1000),
            **({} if steady is None else {"steady_size_vs_old_defaults": ratio(
                steady["new"]["bytes_per_monitor"], steady["old"]["bytes_per_monitor"])}),
        },
        "target": {**TARGETS, "wal_peak_bytes": wal_limit},
        "pass": {
            "bytes_per_check": disk["bytes_per_check"] <= TARGETS["bytes_per_check"],
            "prune_step_ms": step_max < TARGETS["prune_step_ms"],
            "wal_bounded": max(wal_write.peak, wal_prune.peak) <= wal_limit,
            **({} if steady is None else {"steady_gb_10000_monitors_30s":
                                          steady["gb_10000"] < TARGETS["steady_gb_10000_monitors_30s"]}),
        },
        "notes": [],
        "elapsed_s": time.perf_counter() - started,
    }
