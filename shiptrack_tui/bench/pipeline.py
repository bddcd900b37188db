"""Scenario "pipeline": whole-engine checks/s against a bare HTTP loop run the same way.

Engine: `monitors` monitors at `interval` (offered load monitors/interval per second, chosen above
what one core can do, so the engine is saturated), the full path schedule → probe → evaluate →
state → Writer → SQLite. Baseline: the same `ClientPool` layout (clients × connections, fresh
connection per request) with as many requests in flight as the engine allows (`max_in_flight`),
each worker looping over the same `/t/{name}` targets with `client.get()`. Rounds alternate
baseline, engine, baseline, engine... so drift on a noisy machine hits both; we quote medians.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from shiptrack_tui.bench.engine_run import EngineRun, bench_specs, run_engine
from shiptrack_tui.bench.measure import CpuWindow, median, ratio
from shiptrack_tui.bench.targets import TargetProcess
from shiptrack_tui.probes import ClientPool

TARGET_RATIO = 0.8
ENGINE_MAX_IN_FLIGHT = 256  # Engine's default; the baseline runs exactly this many workers


async def run_baseline(targets: TargetProcess, names: list[str], in_flight: int,
                       warmup: float, duration: float) -> dict[str, float]:
    """A bare HTTP loop: `in_flight` workers, each GET → read → next target, on a ClientPool."""
    pool = ClientPool()
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
            async with pool.lease(name) as client:
                try:
                    async with client.get(url) as response:
                        await response.read()
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
        await pool.aclose()
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
    for index in range(rounds):
        baseline_rounds.append(await run_baseline(targets, names, ENGINE_MAX_IN_FLIGHT, warmup, duration))
        run = await run_engine(targets, specs, workdir / f"pipeline-{index}.db", warmup, duration)
        engine_rounds.append(_engine_figures(run, offered))
        await asyncio.sleep(0.5)  # let the target drop closed connections between rounds
    engine_rate = median([r["checks_per_s"] for r in engine_rounds])
    base_rate = median([r["checks_per_s"] for r in baseline_rounds])
    engine_cpu = median([r["cpu_ms_per_check"] for r in engine_rounds])
    base_cpu = median([r["cpu_ms_per_check"] for r in baseline_rounds])
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
            "what": "bare HTTP loop, same ClientPool layout, same number in flight, same targets",
            "checks_per_s": base_rate,
            "cpu_ms_per_check": base_cpu,
            "rounds": baseline_rounds,
        },
        "ratio": figure,
        "cpu_ratio": ratio(engine_cpu, base_cpu),
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
