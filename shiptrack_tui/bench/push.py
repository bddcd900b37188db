"""The push scenario: how many pings a second `/push/<token>` takes on one core, every one stored.

The engine and the HTTP server run in this process as the daemon composes them (their own
threads and loops, a real SQLite file), pinned with every thread to one CPU; wrk (the Debian
package) runs on another with a Lua script that cycles through the monitors' tokens. Baseline:
the same wrk run against `/health/live` in the same process. After the load, every ping answered
200 must have become a stored check (the ping table drained, the checks counted), and none may
have been refused by the per-monitor rate limit (enough monitors share the load).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from shiptrack_tui.bench.measure import CpuWindow
from shiptrack_tui.config import Config
from shiptrack_tui.config.settings import HttpSettings
from shiptrack_tui.core.model import MonitorSpec
from shiptrack_tui.engine import Engine, EngineThread
from shiptrack_tui.storage import Store
from shiptrack_tui.web import bind, start_http

TARGET_PINGS_PER_S: Final = 2000.0
MARK: Final = "SHIPTRACK-WRK "
SUMMARY: Final = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('%s{"requests":%d,"duration_us":%d,"status_errors":%d,"socket_errors":%d,' ..
    '"p50_us":%d,"p99_us":%d}\\n', "MARK", summary.requests, summary.duration, e.status,
    e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(99)))
end
""".replace('"MARK"', f'"{MARK}"')
TOKENS: Final = """
local tokens = {%s}
local n = #tokens
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", "/push/" .. tokens[(i %% n) + 1])
end
"""


@contextlib.contextmanager
def one_core() -> Iterator[tuple[int, set[int]]]:
    """Pin this thread (and every thread it starts from now on) to one CPU; the others go to wrk."""
    allowed = os.sched_getaffinity(0)
    mine = max(allowed)
    os.sched_setaffinity(0, {mine})
    try:
        yield mine, (allowed - {mine}) or {mine}
    finally:
        os.sched_setaffinity(0, allowed)


def wrk(url: str, seconds: float, connections: int, script: Path, cpus: set[int]) -> dict[str, Any]:
    """One wrk run's figures (requests, per second, non-2xx answers, latency), or its error."""
    binary = shutil.which("wrk")
    if binary is None:
        return {"error": "wrk is not installed (Debian: apt-get install wrk)"}
    done = subprocess.run([binary, "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout=10s",
                           "-s", str(script), url], capture_output=True, text=True, timeout=seconds + 60,
                          preexec_fn=lambda: os.sched_setaffinity(0, cpus))
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith(MARK)), None)
    if done.returncode != 0 or line is None:
        return {"error": f"wrk exited {done.returncode}: {done.stderr.strip()[:200]}"}
    found = json.loads(line[len(MARK):])
    seconds_run = found["duration_us"] / 1e6
    return {"requests": found["requests"], "per_s": found["requests"] / seconds_run,
            "non_2xx": found["status_errors"], "socket_errors": found["socket_errors"],
            "latency_p50_ms": found["p50_us"] / 1000, "latency_p99_ms": found["p99_us"] / 1000}


def _count(store: Store, sql: str) -> int:
    return int(store._conn().execute(sql).fetchone()[0])


def thread_cpu() -> dict[str, float]:
    """CPU seconds so far of each live thread of this process, by thread name."""
    names = {thread.native_id: thread.name for thread in threading.enumerate()}
    found: dict[str, float] = {}
    ticks = os.sysconf("SC_CLK_TCK")
    for task in Path("/proc/self/task").iterdir():
        with contextlib.suppress(OSError, ValueError):
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            name = names.get(int(task.name), "other")
            name = "workers" if name.startswith(("AnyIO", "asyncio_")) else name
            found[name] = found.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / ticks
    return found


def _measured(url: str, seconds: float, connections: int, script: Path, cpus: set[int]) -> dict[str, Any]:
    before = thread_cpu()
    window = CpuWindow().start()
    figures = wrk(url, seconds, connections, script, cpus)
    window.stop()
    after = thread_cpu()
    figures["cpu_percent"] = window.own_percent
    figures["cpu_percent_by_thread"] = {name: 100 * (used - before.get(name, 0.0)) / window.wall
                                        for name, used in after.items() if used - before.get(name, 0.0) > 0}
    if "requests" in figures and window.own > 0:
        # On a shared machine the server may not get its whole core: per CPU-second is the capacity.
        figures["per_cpu_s"] = (figures["requests"] - figures["non_2xx"]) / window.own
    return figures


def run(*, workdir: Path, monitors: int, duration: float, warmup: float, connections: int) -> dict[str, Any]:
    started = time.perf_counter()
    specs = tuple(MonitorSpec(name=f"job{i:04d}", url="push", push=True, interval=3600.0, grace=600.0)
                  for i in range(monitors))
    settings = HttpSettings(host="127.0.0.1", port=0)
    store = Store.open(workdir / "push.db")
    with one_core() as (cpu, wrk_cpus):
        engine = Engine(Config(path=workdir / "none.toml", monitors=specs, http=settings), store,
                        send_notifications=False)
        thread = EngineThread(engine)
        thread.start()
        server = start_http(bind("127.0.0.1", 0), settings, store.path, config=lambda: engine.config,
                            vitals=engine.vitals, wake=engine.wake)
        try:
            deadline = time.monotonic() + 30
            while len(tokens := store.push_tokens()) < monitors and time.monotonic() < deadline:
                time.sleep(0.05)
            summary = workdir / "summary.lua"
            summary.write_text(SUMMARY)
            pushes = workdir / "push.lua"
            quoted = ",".join(json.dumps(tokens[spec.name]) for spec in specs)
            pushes.write_text(TOKENS % quoted + SUMMARY)
            if warmup > 0:
                wrk(server.url + "/health/live", warmup, connections, summary, wrk_cpus)
            baseline = _measured(server.url + "/health/live", duration, connections, summary, wrk_cpus)
            figures = _measured(server.url + "/", duration, connections, pushes, wrk_cpus)
            drained_by = time.monotonic() + 60
            while _count(store, "SELECT count(*) FROM ping") and time.monotonic() < drained_by:
                time.sleep(0.05)
            engine_writer = engine._writer
            if engine_writer is not None:
                engine_writer.flush(60)
            stored = _count(store, 'SELECT count(*) FROM "check"')
            waiting = _count(store, "SELECT count(*) FROM ping")
        finally:
            thread.stop()
            server.stop()
            store.close()
    accepted = figures.get("requests", 0) - figures.get("non_2xx", 0)
    pings_per_s = accepted / figures["requests"] * figures["per_s"] if figures.get("requests") else 0.0
    health_per_s = baseline.get("per_s", 0.0)
    figures.update({"pings_per_s": pings_per_s, "accepted": accepted, "stored_checks": stored,
                    "pings_waiting": waiting})
    return {
        "scenario": "push",
        "params": {"monitors": monitors, "duration_s": duration, "warmup_s": warmup,
                   "connections": connections, "server_cpu": cpu, "wrk_cpus": sorted(wrk_cpus),
                   "http_parser": "httptools" if importlib.util.find_spec("httptools") else "h11"},
        "figures": figures,
        "baseline": {"health_live": baseline},
        "ratio": pings_per_s / health_per_s if health_per_s else None,
        "target": {"pings_per_s": TARGET_PINGS_PER_S, "every_ping_stored": True},
        "pass": {"pings_per_s": pings_per_s >= TARGET_PINGS_PER_S,
                 # Pings in flight when wrk stops are stored but never counted as answered.
                 "every_ping_stored": 0 < accepted <= stored <= accepted + connections and waiting == 0,
                 "none_rate_limited": figures.get("non_2xx", 1) == 0},
        "notes": ["server: engine + HTTP in this process, every thread pinned to one CPU; wrk on another",
                  "ratio: pings/s over /health/live requests/s, the same server and load",
                  "per_cpu_s: answers per CPU-second of the server process (a shared machine may not "
                  "give it the whole core)"],
        "elapsed_s": time.perf_counter() - started,
    }
