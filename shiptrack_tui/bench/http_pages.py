"""Single warm requests for the http scenario: how long one page takes when nothing else is asked.

`metrics_figures` builds a database of `monitors` monitors (states written through the real
Writer, outcome counters in an idle engine's vitals), serves it with the real HTTP server and
times `/metrics` over loopback; beside it, the text built in-process by our renderer and, as the
baseline, by prometheus-client's own `generate_latest` over the same families.
"""

from __future__ import annotations

import shutil
import socket
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any, Final

import httpx

from shiptrack_tui.bench.storage import synthetic_results, write_through_writer
from shiptrack_tui.config import Config
from shiptrack_tui.config.settings import HttpSettings
from shiptrack_tui.core.model import MonitorSpec
from shiptrack_tui.engine import Engine
from shiptrack_tui.storage import Store
from shiptrack_tui.web import HttpServer, WebContext, bind, start_http
from shiptrack_tui.web.governor import SHARE

WARM: Final = 2  # requests before timing: first-use costs (imports, statement cache) are not "warm"
REPEAT: Final = 10
TICKS: Final = 3  # checks per monitor written before timing


def _spread(samples: list[float]) -> dict[str, Any]:
    ordered = sorted(samples)
    return {"median_ms": statistics.median(ordered) * 1000, "min_ms": ordered[0] * 1000,
            "max_ms": ordered[-1] * 1000, "samples": len(ordered)}


def _curl_get(url: str, headers: dict[str, str]) -> tuple[float, int, str, int]:
    """(seconds, status, content type, bytes) of one GET by curl: a client in its own process,
    as real ones are, so this process's threads do not share its GIL with the client."""
    curl = shutil.which("curl")
    if curl is None:
        with httpx.Client(headers=headers, timeout=60, transport=httpx.HTTPTransport(
                socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])) as client:
            started = time.perf_counter()
            response = client.get(url)
            return (time.perf_counter() - started, response.status_code,
                    response.headers.get("content-type", ""), len(response.content))
    header_args = [arg for name, value in headers.items() for arg in ("-H", f"{name}: {value}")]
    out = subprocess.run([curl, "-s", "-o", "/dev/null", "-w",
                          "%{time_total} %{http_code} %{size_download} %{content_type}",
                          *header_args, url], capture_output=True, text=True, timeout=120).stdout
    seconds, status, size, *kind = out.split(" ", 3)
    return float(seconds), int(status), (kind[0] if kind else ""), int(size)


def timed_gets(server: HttpServer, paths: dict[str, str], headers: dict[str, str],
               repeat: int = REPEAT) -> dict[str, dict[str, Any]]:
    """Per name: `repeat` GETs of its path after `WARM` untimed ones, each computed afresh (the
    server's shared answers are made stale before each) and each after a pause twice as long as
    the one before took, so that the server's CPU budget (web/governor.py, half a core) has
    refilled: one request at a time to an idle server, as Prometheus scrapes. Then `shared_ms`,
    an immediate repeat of the last: a request that shares an answer just computed (renders.py)."""
    assert server.context is not None
    renders = server.context.renders
    found: dict[str, dict[str, Any]] = {}
    for name, path in paths.items():
        samples = []
        status, kind, size = 0, "", 0
        seconds = 0.0
        for i in range(WARM + repeat):
            time.sleep(min(seconds / SHARE, 30.0))
            renders.invalidate()
            seconds, status, kind, size = _curl_get(server.url + path, headers)
            if i >= WARM:
                samples.append(seconds)
        shared = _curl_get(server.url + path, headers)[0]
        found[name] = {"path": path, "status": status, "content_type": kind, "bytes": size,
                       **_spread(samples), "shared_ms": shared * 1000}
    return found


def _timed(call: Any, repeat: int = REPEAT) -> dict[str, Any]:
    call()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return _spread(samples)


def metrics_figures(workdir: Path, monitors: int, repeat: int = REPEAT) -> dict[str, Any]:
    """`/metrics` for `monitors` monitors over loopback, its in-process build and the baseline."""
    from prometheus_client import CollectorRegistry, generate_latest

    from shiptrack_tui.web.metrics import Scrape, ShipTrackCollector

    db_path = workdir / "metrics.db"
    now = time.time()
    specs = tuple(MonitorSpec(name=f"m{i:05d}", url=f"http://127.0.0.1:9/t/m{i:05d}", interval=30.0,
                              timeout=10.0) for i in range(monitors))
    store = Store.open(db_path)
    store.sync_monitors(specs, now)
    write_through_writer(store, synthetic_results(monitors, monitors * TICKS, 30.0, now))
    config = Config(path=Path("<bench>"), monitors=specs)
    engine = Engine(config, store, send_notifications=False)  # never run: its vitals only
    for result in synthetic_results(monitors, monitors * TICKS, 30.0, now):
        engine.counters.count(result.monitor, result.outcome)
    ctx = WebContext(store=store, config=lambda: config, vitals=engine.vitals)
    scrape = Scrape(ctx)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ShipTrackCollector(ctx, everything=True))
    build = _timed(scrape.text, repeat)
    baseline = _timed(lambda: generate_latest(registry), repeat)
    settings = HttpSettings(host="127.0.0.1", port=0, public_api=True)
    server = start_http(bind("127.0.0.1", 0), settings, db_path, config=lambda: config,
                        vitals=engine.vitals, wake=None)
    try:
        pages = timed_gets(server, {"metrics": "/metrics"}, {}, repeat)
        # A few only: each takes seconds at this size.
        pages |= timed_gets(server, {"api_monitors": "/api/v1/monitors"}, {}, min(repeat, 3))
    finally:
        server.stop()
        store.close()
    return {"metrics_ms": pages["metrics"], "metrics_build_ms": build,
            "baseline_generate_latest_ms": baseline, "api_monitors_ms_at_metrics_size": pages["api_monitors"]}
