"""Status-page scenario: `GET /` for 1,000 public monitors, warm, over real HTTP (issue #13).

The database is what 90 days of checks every minute leave behind with the default retention:
per monitor a day rollup for each of the 90 days, hour rollups for the last 32 days (the current
hour not folded yet), and a few open and resolved incidents with status updates. Rows are written
straight into the rollup tables (generating 130 million checks would take an hour); the page
reads nothing else. Two pages are timed, each served by the status-page router under uvicorn on
loopback: every monitor in services (the usual page), and every monitor listed on its own (90,000
bars). The baseline is the same server sending a stored copy of the same page (HTTP and transfer
alone), so the ratio is what reading and rendering add.
"""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

import httpx
import uvicorn
from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from shiptrack_tui.bench.measure import median, ratio
from shiptrack_tui.config import Config, parse_config
from shiptrack_tui.core.days import DAY_SECONDS
from shiptrack_tui.core.model import MonitorSpec
from shiptrack_tui.storage import Store, histograms

TARGETS: Final = {"services_page_warm_p95_ms": 100.0}
CHECKS_PER_HOUR: Final = 60
UPSERT: Final = ("INSERT INTO rollup (monitor_id, span, hour, up, degraded, down, maintenance, hist) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?)")


def _name(index: int) -> str:
    return f"m{index:05d}"


def _seed(db: Path, monitors: int, now: float) -> dict[str, int]:
    """Rollups, states and incidents for `monitors` monitors; returns row counts."""
    store = Store.open(db)
    try:
        specs = [MonitorSpec(_name(i), f"https://{_name(i)}.example.test/") for i in range(monitors)]
        store.sync_monitors(specs, now - 90 * DAY_SECONDS)
    finally:
        store.close()
    rng = random.Random(13)
    hist = histograms.encode({400: CHECKS_PER_HOUR})
    current = int(now // 3600)
    today_first = current - current % 24
    conn = sqlite3.connect(db, isolation_level=None)
    rows = {"day_rows": 0, "hour_rows": 0, "incidents": 0}
    try:
        conn.execute("BEGIN IMMEDIATE")
        ids = dict(conn.execute("SELECT name, id FROM monitor"))
        for index in range(monitors):
            monitor_id = ids[_name(index)]
            batch = []
            for day in range(today_first // 24 - 90, today_first // 24):
                down = rng.choice((0, 0, 0, 0, 1, 3, 40))
                batch.append((monitor_id, 24, day * 24, 24 * CHECKS_PER_HOUR - down, 0, down, 0, hist))
            hours_today = current - today_first
            batch.append((monitor_id, 24, today_first, hours_today * CHECKS_PER_HOUR, 0, 0, 0, hist))
            for hour in range(current - 32 * 24, current + 1):
                batch.append((monitor_id, 1, hour, CHECKS_PER_HOUR, 0, 0, 0, hist))
            conn.executemany(UPSERT, batch)
            rows["day_rows"] += 91
            rows["hour_rows"] += 32 * 24 + 1
            conn.execute("UPDATE monitor SET status = 'up', rolled_hour = ?, newest_check_ms = ? "
                         "WHERE id = ?", (current - 1, int(now * 1000), monitor_id))
            if index % 100 == 7 or index % 50 == 3:  # 1 % open, 2 % resolved this week
                is_open = index % 100 == 7
                started = now - rng.uniform(0.1, 6) * DAY_SECONDS
                cursor = conn.execute(
                    "INSERT INTO incident (monitor_id, state, cause, started_at, opened_at, resolved_at, "
                    "severity, status) VALUES (?, ?, 'HTTP 503', ?, ?, ?, 'high', ?)",
                    (monitor_id, "open" if is_open else "resolved", started, started,
                     None if is_open else started + 1800, "identified" if is_open else "resolved"))
                for offset, status in ((300, "identified"), (900, "monitoring")):
                    conn.execute("INSERT INTO timeline (incident_id, at, kind, detail, status) "
                                 "VALUES (?, ?, 'update', ?, ?)",
                                 (cursor.lastrowid, started + offset, f"{status}: we are on it", status))
                if is_open:
                    conn.execute("UPDATE monitor SET status = 'down' WHERE id = ?", (monitor_id,))
                rows["incidents"] += 1
        conn.execute("COMMIT")
    finally:
        conn.close()
    return rows


def _configs(workdir: Path, monitors: int, services: int) -> tuple[Config, Config]:
    lines = [f'[[monitor]]\nname = "{_name(i)}"\nurl = "https://{_name(i)}.example.test/"\n'
             for i in range(monitors)]
    per = max(1, monitors // max(1, services))
    for j in range(services):
        members = ", ".join(f'"{_name(i)}"' for i in range(j * per, min(monitors, (j + 1) * per)))
        lines.append(f'[[service]]\nname = "Service {j:03d}"\nmonitors = [{members}]\n')
    base = "\n".join(lines)
    listed = ", ".join(f'"Service {j:03d}"' for j in range(services))
    every = ", ".join(f'"{_name(i)}"' for i in range(monitors))
    by_service = base + f'\n[status_page]\ntitle = "Bench"\nservices = [{listed}]\n'
    by_monitor = base + f'\n[status_page]\ntitle = "Bench"\nmonitors = [{every}]\n'
    return (parse_config(by_service.encode(), workdir / "services.toml"),
            parse_config(by_monitor.encode(), workdir / "monitors.toml"))


@contextmanager
def _serving(app: FastAPI) -> Iterator[str]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                           lifespan="off", access_log=False))
    thread = threading.Thread(target=server.run, name="bench-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)


def _time(client: httpx.Client, url: str, repeat: int) -> tuple[list[float], int]:
    times, size = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        size = len(response.content)
    return times, size


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _page(store: Store, config: Config, repeat: int) -> dict[str, Any]:
    from shiptrack_tui.web.status_page import status_page_router

    app = FastAPI()
    app.include_router(status_page_router(lambda: store, lambda: config))
    stored: dict[str, bytes] = {}
    app.add_api_route("/stored", lambda: HTMLResponse(stored["page"]), methods=["GET"])
    with _serving(app) as url, httpx.Client(timeout=60) as client:
        cold, size = _time(client, url + "/", 1)
        warm, _ = _time(client, url + "/", repeat)
        stored["page"] = client.get(url + "/").content
        base, _ = _time(client, url + "/stored", repeat)
    return {"cold_ms": cold[0], "warm_p50_ms": median(warm), "warm_p95_ms": _percentile(warm, 0.95),
            "warm_max_ms": max(warm), "bytes": size, "stored_copy_p50_ms": median(base)}


def run(*, monitors: int, services: int, repeat: int, workdir: Path,
        clock: Callable[[], float] = time.time) -> dict[str, Any]:
    started = time.perf_counter()
    db = workdir / "status-page.db"
    now = clock()
    rows = _seed(db, monitors, now)
    seeded = time.perf_counter() - started
    by_service, by_monitor = _configs(workdir, monitors, services)
    store = Store.open(db)
    try:
        services_page = _page(store, by_service, repeat)
        monitors_page = _page(store, by_monitor, max(3, repeat // 4))
    finally:
        store.close()
    figure = services_page["warm_p95_ms"]
    return {
        "scenario": "status-page",
        "params": {"monitors": monitors, "services": services, "repeat": repeat, "days": 90, **rows},
        "figures": {"services_page_warm_p50_ms": services_page["warm_p50_ms"],
                    "services_page_warm_p95_ms": figure, "services_page": services_page,
                    "monitors_page": monitors_page, "seed_s": seeded},
        "baseline": {"what": "the same server sending a stored copy of the same page",
                     "stored_copy_p50_ms": services_page["stored_copy_p50_ms"]},
        "ratio": ratio(services_page["warm_p50_ms"], services_page["stored_copy_p50_ms"]),
        "target": TARGETS,
        "pass": {"services_page_warm_p95_ms": figure < TARGETS["services_page_warm_p95_ms"]},
        "notes": ["warm: after one request has read the completed days (kept 5 minutes); every request "
                  "still reads statuses, incidents and today's rollups",
                  "monitors_page lists every monitor on its own: 90 bars each"],
        "elapsed_s": time.perf_counter() - started,
    }
