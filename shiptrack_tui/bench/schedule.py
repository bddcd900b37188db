"""Scenario "schedule": 10,000 monitors at 30 s — nothing skipped, start lateness, CPU, RSS, disk.

Engine: the real engine on a fresh database, measured after a short warm-up. Baseline, same run,
same targets, same offsets: a minimal scheduler (one asyncio task per monitor sleeping until its
next slot on the same grid, the same ClientPool and the same bound on checks in flight, a bare
`client.get()` and nothing else). Its CPU is what the network work alone costs here and its
lateness is this machine's floor, so the engine's overhead is the ratio between them.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from pathlib import Path
from typing import Any

import aiohttp

from shiptrack_tui.bench.disk import naive_bytes, shiptrack_bytes
from shiptrack_tui.bench.engine_run import bench_specs, run_engine
from shiptrack_tui.bench.measure import CpuWindow, LoopLag, ratio, rss_mb
from shiptrack_tui.bench.pipeline import ENGINE_MAX_IN_FLIGHT
from shiptrack_tui.bench.targets import TargetProcess
from shiptrack_tui.core.model import MonitorSpec
from shiptrack_tui.core.schedule import first_due, stable_offset
from shiptrack_tui.core.stats import exact_percentile
from shiptrack_tui.probes import ClientPool

TARGETS = {"lateness_p99_ms": 250.0, "cpu_percent": 60.0, "rss_mb": 150.0, "bytes_per_check": 40.0}
BASELINE_MAX_SECONDS = 60.0


def expected_slots(specs: tuple[MonitorSpec, ...], t0: float, t1: float) -> int:
    """How many grid slots (offset + k * interval) of all monitors fall in [t0, t1)."""
    total = 0
    for spec in specs:
        offset = stable_offset(spec.name, spec.interval)
        first = math.ceil((t0 - offset) / spec.interval)
        last = math.ceil((t1 - offset) / spec.interval)
        total += max(0, last - first)
    return total


async def _get(client: aiohttp.ClientSession, url: str) -> None:
    """One bare GET. Kept out of the per-monitor loop so no response outlives its request: 10,000
    suspended loops each holding their last response made every gen-2 GC pass walk ~half a million
    objects (pauses growing to 0.5 s), a cost of this baseline's shape, not of the network."""
    with contextlib.suppress(Exception):
        async with client.get(url) as response:
            await response.read()


async def run_baseline(specs: tuple[MonitorSpec, ...], warmup: float, duration: float,
                       target_cpu: Any) -> dict[str, Any]:
    """A minimal scheduler on the same grid: per-monitor sleep-until-due, GET, repeat."""
    pool = ClientPool()
    slots = asyncio.Semaphore(ENGINE_MAX_IN_FLIGHT)
    lag = LoopLag()
    lateness: list[float] = []
    done = 0
    measuring = False

    async def monitor(spec: MonitorSpec) -> None:
        nonlocal done
        due = first_due(spec.name, spec.interval, time.time())
        while True:
            await asyncio.sleep(max(0.0, due - time.time()))
            async with slots:
                if measuring:
                    lateness.append(time.time() - due)
                async with pool.lease(spec.name) as client:
                    await _get(client, spec.url)
            if measuring:
                done += 1
            due += spec.interval

    tasks = [asyncio.create_task(monitor(spec)) for spec in specs]
    try:
        await asyncio.sleep(warmup)
        measuring = True
        t0 = time.time()
        cpu = CpuWindow(other=target_cpu).start()
        lag.start(pool.in_flight)
        await asyncio.sleep(duration)
        cpu.stop()
        loop = await lag.stop()
        measuring = False
        t1 = time.time()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await pool.aclose()
    p50, p99 = exact_percentile(lateness, 0.5), exact_percentile(lateness, 0.99)
    return {
        "what": "one asyncio task per monitor sleeping to its slot on the same grid, same ClientPool, "
                "same in-flight bound, bare client.get()",
        "duration_s": cpu.wall,
        "checks_expected": expected_slots(specs, t0, t1),
        "checks_done": done,
        "lateness_p50_ms": None if p50 is None else p50 * 1000,
        "lateness_p99_ms": None if p99 is None else p99 * 1000,
        "cpu_percent": cpu.own_percent,
        "target_cpu_percent": cpu.other_percent,
        "loop": loop,
    }


async def _scenario(targets: TargetProcess, monitors: int, interval: float, duration: float,
                    warmup: float, workdir: Path) -> dict[str, Any]:
    specs = bench_specs(targets, monitors, interval)
    db_path = workdir / "schedule.db"
    rss_idle = rss_mb()
    run = await run_engine(targets, specs, db_path, warmup, duration)
    engine_expected = expected_slots(specs, run.t0, run.t1)
    disk = await asyncio.to_thread(shiptrack_bytes, db_path, run.stored_total)
    naive = await asyncio.to_thread(naive_bytes, db_path, workdir)
    base = await run_baseline(specs, min(warmup, 5.0), min(duration, BASELINE_MAX_SECONDS),
                              targets.cpu_seconds)
    figures = {
        "checks_expected": engine_expected,
        "checks_started": run.lateness_samples,
        "checks_completed": run.checks,
        "checks_stored_in_window": run.stored_in_window,
        "down_checks": run.down_checks,
        "overlapping": run.overlapping,
        "skipped": run.skipped,
        "lateness_p50_ms": run.lateness_p50_ms,
        "lateness_p99_ms": run.lateness_p99_ms,
        "lateness_max_ms": run.lateness_max_ms,
        "cpu_percent": run.cpu_percent,
        "target_cpu_percent": run.target_cpu_percent,
        "rss_peak_mb": run.rss_peak_mb,
        "rss_before_engine_mb": rss_idle,
        "writer_batches": run.writer_batches,
        "loop": run.loop,
        "bytes_per_check": disk["bytes_per_check"],
        "disk": disk,
    }
    # Slots due just before the window start inside it and vice versa: allow a sliver of slack.
    started_enough = run.lateness_samples >= engine_expected * 0.99
    nothing_skipped = run.overlapping == 0 and run.skipped == 0 and started_enough
    p99 = run.lateness_p99_ms
    return {
        "scenario": "schedule",
        "params": {"monitors": monitors, "interval_s": interval, "duration_s": duration, "warmup_s": warmup,
                   "offered_per_s": monitors / interval},
        "figures": figures,
        "baseline": {**base, "rss_mb": rss_idle, "naive_bytes_per_check": naive["bytes_per_check"],
                     "naive_disk": naive},
        "ratio": ratio(run.cpu_percent, base["cpu_percent"]),
        "ratios": {
            "cpu_percent": ratio(run.cpu_percent, base["cpu_percent"]),
            "lateness_p99": ratio(p99, base["lateness_p99_ms"]),
            "bytes_per_check": ratio(disk["bytes_per_check"], naive["bytes_per_check"]),
        },
        "target": TARGETS,
        "pass": {
            "nothing_skipped": nothing_skipped,
            "lateness_p99_ms": p99 is not None and p99 < TARGETS["lateness_p99_ms"],
            "cpu_percent": run.cpu_percent < TARGETS["cpu_percent"],
            "rss_mb": run.rss_peak_mb < TARGETS["rss_mb"],
            "bytes_per_check": disk["bytes_per_check"] <= TARGETS["bytes_per_check"],
        },
        "notes": [],
    }


def run(targets: TargetProcess, *, monitors: int, interval: float, duration: float, warmup: float,
        rounds: int, workdir: Path) -> dict[str, Any]:
    del rounds  # one long run; the baseline follows it in the same process
    started = time.perf_counter()
    result = asyncio.run(_scenario(targets, monitors, interval, duration, warmup, workdir))
    result["elapsed_s"] = time.perf_counter() - started
    return result
