"""Scenario "pipeline": whole-engine checks/s against a bare HTTP loop run the same way.

Engine: `monitors` monitors at `interval` (offered load monitors/interval per second, chosen above
what one core can do, so the engine is saturated), the full path schedule → probe → evaluate →
state → Writer → SQLite. Baseline (the one the target names): a bare httpx loop, 8 AsyncClients of
32 fresh connections (the engine's layout when it checked with httpx), as many requests in flight
as the engine allows (`max_in_flight`), each worker looping over the same `/t/{name}` targets with
`client.get()`. Second baseline: the same bare loop on the engine's own `ClientPool` (aiohttp), so
the engine's overhead over its own client shows too. Rounds alternate baselines and engine so drift
on a noisy machine hits all of them; we quote medians.
"""

from __future__ import annotations

import asyncio
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from shiptrack_tui.bench.engine_run import EngineRun, bench_specs, run_engine
from shiptrack_tui.bench.measure import CpuWindow, median, ratio
from shiptrack_tui.bench.targets import TargetProcess
from shiptrack_tui.probes import ClientPool

TARGET_RATIO = 0.8
ENGINE_MAX_IN_FLIGHT = 256  # Engine's default; the baseline runs exactly this many workers


Get = Callable[[str, str], Awaitable[None]]


@asynccontextmanager
async def _httpx_loop() -> AsyncIterator[Get]:
    """GET and read with bare httpx: 8 clients × 32 fresh connections, a monitor pinned to one."""
    limits = httpx.Limits(max_connections=32, max_keepalive_connections=0)
    clients = [httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(None)) for _ in range(8)]
    slots = [asyncio.Semaphore(32) for _ in clients]

    async def get(name: str, url: str) -> None:
        shard = zlib.crc32(name.encode()) % len(clients)
        async with slots[shard]:
            response = await clients[shard].get(url)
            await response.aread()

    try:
        yield get
    finally:
        for client in clients:
            await client.aclose()


@asynccontextmanager
async def _pool_loop() -> AsyncIterator[Get]:
    """GET and read with the engine's own ClientPool (aiohttp), nothing else."""
    pool = ClientPool()

    async def get(name: str, url: str) -> None:
        async with pool.lease(name) as client, client.get(url) as response:
            await response.read()

    try:
        yield get
    finally:
        await pool.aclose()


async def run_baseline(targets: TargetProcess, names: list[str], in_flight: int,
                       warmup: float, duration: float, same_client: bool = False) -> dict[str, float]:
    """A bare HTTP loop: `in_flight` workers, each GET → read → next target (httpx, or our pool)."""
    async with (_pool_loop() if same_client else _httpx_loop()) as get:
        return await _run_loop(get, targets, names, in_flight, warmup, duration)


async def _run_loop(get: Get, targets: TargetProcess, names: list[str], in_flight: int,
                    warmup: float, duration: float) -> dict[str, float]:
    urls = [targets.url(name) for name in names]
    done = 0
    errors = 0
    stop = asyncio.Event()

    async def worker(start: int) -> None:
        nonlocal done, errors
        index = start
        while not stop.is_set():
            name, url = names[index % len(names)], urls[index % len(urls)]
            index += in_flight
            try:
                await get(name, url)
            except Exception:
                errors += 1
                continue
            done += 1

    workers = [asyncio.create_task(worker(k)) for k in range(in_flight)]
    try:
        await asyncio.sleep(warmup)
        done0, errors0 = done, errors
        cpu = CpuWindow(other=targets.cpu_seconds).start()
        await asyncio.sleep(duration)
        cpu.stop()
        done1, errors1 = done, errors
    finally:
        stop.set()
        await asyncio.gather(*workers, return_exceptions=True)
    return {
        "checks_per_s": (done1 - done0) / cpu.wall,
        "requests": done1 - done0,
        "errors": errors1 - errors0,
        "cpu_percent": cpu.own_percent,
        "target_cpu_percent": cpu.other_percent,
        "cpu_ms_per_check": 1000 * cpu.own / max(1, done1 - done0),
    }


def _engine_figures(run: EngineRun, offered: float) -> dict[str, Any]:
    return {
        "checks_per_s": run.checks_per_s,
        "stored_per_s": run.stored_in_window / run.window_s if run.window_s else 0.0,
        "checks": run.checks,
        "down_checks": run.down_checks,
        "offered_per_s": offered,
        "saturated": run.checks_per_s < 0.95 * offered,
        "slots_given_up": run.overlapping,
        "slots_skipped": run.skipped,
        "cpu_percent": run.cpu_percent,
        "target_cpu_percent": run.target_cpu_percent,
        "cpu_ms_per_check": 10 * run.cpu_percent * run.window_s / max(1, run.checks),
        "writer_pending_at_end": run.writer_pending_at_end,
        "writer_batches": run.writer_batches,
        "rss_peak_mb": run.rss_peak_mb,
    }


async def _scenario(targets: TargetProcess, monitors: int, interval: float, duration: float,
                    warmup: float, rounds: int, workdir: Path) -> dict[str, Any]:
    specs = bench_specs(targets, monitors, interval)
    names = [spec.name for spec in specs]
    offered = monitors / interval
    engine_rounds: list[dict[str, Any]] = []
    baseline_rounds: list[dict[str, float]] = []
    same_client_rounds: list[dict[str, float]] = []
    for index in range(rounds):
        baseline_rounds.append(await run_baseline(targets, names, ENGINE_MAX_IN_FLIGHT, warmup, duration))
        same_client_rounds.append(await run_baseline(targets, names, ENGINE_MAX_IN_FLIGHT, warmup, duration,
                                                     same_client=True))
        run = await run_engine(targets, specs, workdir / f"pipeline-{index}.db", warmup, duration)
        engine_rounds.append(_engine_figures(run, offered))
        await asyncio.sleep(0.5)  # let the target drop closed connections between rounds
    engine_rate = median([r["checks_per_s"] for r in engine_rounds])
    base_rate = median([r["checks_per_s"] for r in baseline_rounds])
    engine_cpu = median([r["cpu_ms_per_check"] for r in engine_rounds])
    base_cpu = median([r["cpu_ms_per_check"] for r in baseline_rounds])
    same_rate = median([r["checks_per_s"] for r in same_client_rounds])
    same_cpu = median([r["cpu_ms_per_check"] for r in same_client_rounds])
    figure = ratio(engine_rate, base_rate)
    notes = []
    if not all(r["saturated"] for r in engine_rounds):
        notes.append("the engine kept up with the offered load in some round: raise --monitors or lower "
                     "--interval so the ratio measures capacity")
    if max(r["target_cpu_percent"] for r in baseline_rounds + engine_rounds) > 90:
        notes.append("the target process used over 90 % of a core: it may be setting the pace")
    return {
        "scenario": "pipeline",
        "params": {"monitors": monitors, "interval_s": interval, "duration_s": duration,
                   "warmup_s": warmup, "rounds": rounds, "max_in_flight": ENGINE_MAX_IN_FLIGHT},
        "figures": {
            "engine_checks_per_s": engine_rate,
            "engine_cpu_ms_per_check": engine_cpu,
            "engine_rounds": engine_rounds,
        },
        "baseline": {
            "what": "bare httpx loop (8 clients × 32 fresh connections), same number in flight, same targets",
            "checks_per_s": base_rate,
            "cpu_ms_per_check": base_cpu,
            "rounds": baseline_rounds,
        },
        "same_client_baseline": {
            "what": "bare loop on the engine's own ClientPool (aiohttp), same number in flight, same targets",
            "checks_per_s": same_rate,
            "cpu_ms_per_check": same_cpu,
            "rounds": same_client_rounds,
        },
        "ratio": figure,
        "cpu_ratio": ratio(engine_cpu, base_cpu),
        "same_client_ratio": ratio(engine_rate, same_rate),
        "target": {"ratio_min": TARGET_RATIO},
        "pass": {"ratio": figure is not None and figure >= TARGET_RATIO},
        "notes": notes,
    }


def run(targets: TargetProcess, *, monitors: int, interval: float, duration: float, warmup: float,
        rounds: int, workdir: Path) -> dict[str, Any]:
    started = time.perf_counter()
    result = asyncio.run(_scenario(targets, monitors, interval, duration, warmup, rounds, workdir))
    result["elapsed_s"] = time.perf_counter() - started
    return result
