"""Scenario "http": the HTTP server beside a busy engine, with and without wrk hammering it.

The daemon's composition: the real engine on this process's main loop checking `monitors` loopback
targets every `interval`, and the real HTTP server (web/, its own thread, loop and store) beside it.
After `warmup`, two windows of `duration` each on the same engine:
- baseline: no HTTP load;
- load: one wrk process per path (`/api/v1/monitors`, `/metrics`), `connections` each.
Each window reports the checks' start lateness and skipped slots (the engine's own counters), the
engine loop's lag and the process's CPU; the load window adds wrk's requests/s and latency.
Then single warm requests: `/api/v1/monitors`, the status page `/` when this build serves one,
and `/health/live` (the round trip's floor). Last, `/metrics` for `metrics_monitors` monitors
(http_pages.py) beside prometheus-client's own renderer of the same families.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from pathlib import Path
from typing import Any, Final

import psutil

from shiptrack_tui.bench.engine_run import bench_specs
from shiptrack_tui.bench.http_pages import metrics_figures, timed_gets
from shiptrack_tui.bench.measure import CpuWindow, LoopLag, ratio, rss_mb
from shiptrack_tui.bench.schedule import expected_slots
from shiptrack_tui.bench.targets import TargetProcess
from shiptrack_tui.bench.wrk import WrkRun, hammer
from shiptrack_tui.config import Config
from shiptrack_tui.config.settings import HttpSettings
from shiptrack_tui.core.model import MonitorSpec
from shiptrack_tui.engine import Engine
from shiptrack_tui.storage import Store
from shiptrack_tui.web import bind, start_http

TARGETS: Final = {"lateness_p99_ms": 250.0, "metrics_ms": 200.0, "status_page_ms": 100.0}
LOAD_PATHS: Final = ["/api/v1/monitors", "/metrics"]


async def _window(engine: Engine, targets: TargetProcess, specs: tuple[MonitorSpec, ...], duration: float,
                  load: Any = None) -> tuple[dict[str, Any], list[WrkRun]]:
    """The engine's figures over one window; `load()` (a coroutine function) runs through it."""
    counters, schedule = engine.counters, engine._schedule  # read-only, as engine_run does
    counters.lateness.reset()
    checks0, overlapping0, skipped0 = counters.checks, counters.overlapping, schedule.skipped
    t0 = time.time()
    cpu = CpuWindow(other=targets.cpu_seconds).start()
    threads0 = thread_cpu()
    lag = LoopLag().start(lambda: len(engine._in_flight))
    runs: list[WrkRun] = await load() if load is not None else []
    if load is None:
        await asyncio.sleep(duration)
    cpu.stop()
    threads = {kind: 100 * (seconds - threads0.get(kind, 0.0)) / cpu.wall
               for kind, seconds in thread_cpu().items()}
    loop = await lag.stop()
    t1 = time.time()
    lateness = counters.lateness
    expected = expected_slots(specs, t0, t1)
    figures = {
        "duration_s": cpu.wall,
        "checks_expected": expected,
        "checks_started": len(lateness),
        "checks_completed": counters.checks - checks0,
        "skipped": schedule.skipped - skipped0,
        "overlapping": counters.overlapping - overlapping0,
        "lateness_p50_ms": _ms(lateness.percentile(0.5)),
        "lateness_p99_ms": _ms(lateness.percentile(0.99)),
        "lateness_max_ms": _ms(lateness.percentile(1.0)),
        "cpu_percent": cpu.own_percent,
        "target_cpu_percent": cpu.other_percent,
        "thread_cpu_percent": threads,
        "rss_mb": rss_mb(),
        "loop": loop,
    }
    return figures, runs


def thread_cpu() -> dict[str, float]:
    """CPU seconds so far per kind of thread: the engine's loop (main), the HTTP server's loop, its
    worker threads, the storage writer, the rest."""
    names = {thread.native_id: thread.name for thread in threading.enumerate()}
    main = threading.main_thread().native_id
    found: dict[str, float] = {}
    for thread in psutil.Process().threads():
        name = names.get(thread.id, "")
        kind = ("engine loop" if thread.id == main else "http loop" if name == "shiptrack-http"
                else "http workers" if name.startswith("AnyIO worker") else
                "storage writer" if "writer" in name else "other")
        found[kind] = found.get(kind, 0.0) + thread.user_time + thread.system_time
    return found


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000


def _kept(window: dict[str, Any]) -> bool:
    """Nothing skipped or overlapping, and (a sliver of slack at the window's edges) every slot started."""
    return (window["skipped"] == 0 and window["overlapping"] == 0
            and window["checks_started"] >= window["checks_expected"] * 0.99)


async def _engine_phases(targets: TargetProcess, monitors: int, interval: float, duration: float,
                         warmup: float, connections: int, repeat: int, workdir: Path) -> dict[str, Any]:
    specs = bench_specs(targets, monitors, interval)
    db_path = workdir / "http.db"
    token = secrets.token_hex(16)
    settings = HttpSettings(host="127.0.0.1", port=0, token=token, token_source="bench")
    store = await asyncio.to_thread(Store.open, db_path)
    config = Config(path=Path("<bench>"), monitors=specs, http=settings)
    engine = Engine(config, store, send_notifications=False)
    server = await asyncio.to_thread(start_http, bind("127.0.0.1", 0), settings, db_path,
                                     config=lambda: engine.config, vitals=engine.vitals, wake=engine.wake,
                                     engine_loop=engine.call_soon)
    auth = {"Authorization": f"Bearer {token}"}
    task = asyncio.create_task(engine.run(), name="bench-engine")
    try:
        await asyncio.sleep(warmup)
        baseline, _ = await _window(engine, targets, specs, duration)

        async def load() -> list[WrkRun]:
            return await hammer(server.url, LOAD_PATHS, duration, connections, workdir, headers=auth)

        loaded, runs = await _window(engine, targets, specs, duration, load)
        pages = await asyncio.to_thread(timed_gets, server, {
            "api_monitors": "/api/v1/monitors", "status_page": "/", "health_live": "/health/live",
        }, auth, repeat)
    finally:
        engine.request_stop()
        await task
        await asyncio.to_thread(server.stop)
        await asyncio.to_thread(store.close)
    return {"baseline": baseline, "load": loaded, "wrk": [run.summary() for run in runs], "pages": pages}


def _notes(phases: dict[str, Any]) -> list[str]:
    notes = [f"wrk {run['path']}: {run['error']}" for run in phases["wrk"] if run.get("error")]
    page = phases["pages"]["status_page"]
    if page.get("status") != 200 or "html" not in page.get("content_type", ""):
        notes.append("no status page served at / in this build (status "
                     f"{page.get('status')}); its figure is null until it is")
    return notes


async def _scenario(targets: TargetProcess, monitors: int, interval: float, duration: float, warmup: float,
                    connections: int, metrics_monitors: int, repeat: int, workdir: Path) -> dict[str, Any]:
    phases = await _engine_phases(targets, monitors, interval, duration, warmup, connections, repeat, workdir)
    metrics = await asyncio.to_thread(metrics_figures, workdir, metrics_monitors, repeat)
    base, load, pages = phases["baseline"], phases["load"], phases["pages"]
    page = pages["status_page"]
    page_ms = page["median_ms"] if page.get("status") == 200 and "html" in page.get("content_type", "") \
        else None
    wrk_ok = bool(phases["wrk"]) and all(run.get("errors") == 0 for run in phases["wrk"])
    p99 = load["lateness_p99_ms"]
    passed = {
        "nothing_skipped_under_load": _kept(load),
        "lateness_p99_ms_under_load": p99 is not None and p99 < TARGETS["lateness_p99_ms"],
        "wrk_no_errors": wrk_ok,
        "metrics_ms": metrics["metrics_ms"]["median_ms"] < TARGETS["metrics_ms"],
    }
    if page_ms is not None:
        passed["status_page_ms"] = page_ms < TARGETS["status_page_ms"]
    per_s = ratio(load["checks_started"] / load["duration_s"], base["checks_started"] / base["duration_s"])
    return {
        "scenario": "http",
        "params": {"monitors": monitors, "interval_s": interval, "duration_s": duration, "warmup_s": warmup,
                   "wrk_connections_per_path": connections, "load_paths": LOAD_PATHS,
                   "metrics_monitors": metrics_monitors, "timed_requests_per_page": repeat},
        "figures": {
            "under_load": load,
            "wrk": phases["wrk"],
            "pages": pages,
            "status_page_ms": page_ms,
            **metrics,
        },
        "baseline": {"what": "the same engine and server in the same run, the window before the load",
                     **base},
        "ratio": per_s,
        "ratios": {"checks_started_per_s": per_s,
                   "lateness_p99": ratio(p99, base["lateness_p99_ms"]),
                   "metrics_vs_generate_latest": ratio(metrics["metrics_build_ms"]["median_ms"],
                                                       metrics["baseline_generate_latest_ms"]["median_ms"])},
        "target": TARGETS,
        "pass": passed,
        "notes": _notes(phases),
    }


def run(targets: TargetProcess, *, monitors: int, interval: float, duration: float, warmup: float,
        connections: int, metrics_monitors: int, repeat: int, workdir: Path) -> dict[str, Any]:
    started = time.perf_counter()
    result = asyncio.run(_scenario(targets, monitors, interval, duration, warmup, connections,
                                   metrics_monitors, repeat, workdir))
    result["elapsed_s"] = time.perf_counter() - started
    return result
