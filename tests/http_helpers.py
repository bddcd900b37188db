"""Helpers for the HTTP tests: routers served by uvicorn on a loopback port, and a seeded store.

The store is filled through the real pipeline (tests/test_tui_seed.py's `fold`), so rollups,
states and incidents are what the engine would have written. Status updates are rows as the
engine writes them for an `update` action (schema 7: timeline kind "update" with its status).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

import uvicorn
from fastapi import APIRouter, FastAPI
from test_tui_seed import NOW, Plan, fold
from waiting import wait_for

from shiptrack_tui.config import Config, parse_config
from shiptrack_tui.core.model import MonitorSpec
from shiptrack_tui.storage import Store

HOUR: Final = 3600.0

CONFIG: Final = """\
[[monitor]]
name = "api"
url = "https://api.internal.example/health"
tags = ["prod"]

[[monitor]]
name = "web"
url = "https://www.example.com/"
tags = ["site"]

[[monitor]]
name = "cdn"
url = "https://cdn.example.com/ping"
tags = ["site"]

[[monitor]]
name = "secret-db"
url = "tcp://db.internal.example:5432"
tags = ["internal"]

[[service]]
name = "Website"
description = "www and its CDN"
tags = ["site"]

[status_page]
title = "Example status"
description = "Live status of Example's public services"
services = ["Website"]
monitors = ["api"]
"""

# Hourly checks over five days; api has been failing for the last three hours.
PLANS: Final = (
    Plan("api", "u" * 117 + "xxx", tags=("prod",), interval=HOUR),
    Plan("web", "u" * 60 + "xxxx" + "u" * 56, tags=("site",), interval=HOUR),
    Plan("cdn", "u" * 120, tags=("site",), interval=HOUR),
    Plan("secret-db", "u" * 116 + "xxxx", tags=("internal",), interval=HOUR),
)


def config_from(text: str, path: Path) -> Config:
    path.write_text(text)
    return parse_config(text.encode(), path)


def seed(db: Path, plans: tuple[Plan, ...] = PLANS, end: float = NOW) -> None:
    """Every plan's history through the store's batch write; each monitor's URL as in CONFIG."""
    targets = {"api": "https://api.internal.example/health", "web": "https://www.example.com/",
               "cdn": "https://cdn.example.com/ping", "secret-db": "tcp://db.internal.example:5432"}
    store = Store.open(db)
    try:
        specs = [MonitorSpec(p.name, targets.get(p.name, f"https://{p.name}.example.test/"),
                             interval=p.interval, tags=p.tags) for p in plans]
        store.sync_monitors(specs, end - 30 * 86400)
        writes = [write for plan in plans for write in fold(plan, end)]
        for start in range(0, len(writes), 500):
            store.commit_batch(writes[start:start + 500])
    finally:
        store.close()


def incident_id(db: Path, monitor: str, open_only: bool = True) -> int:
    query = ("SELECT i.id FROM incident AS i JOIN monitor AS m ON m.id = i.monitor_id WHERE m.name = ?"
             + (" AND i.state != 'resolved'" if open_only else "") + " ORDER BY i.id DESC")
    with sqlite3.connect(db) as conn:
        return int(conn.execute(query, (monitor,)).fetchone()[0])


def post_update(db: Path, incident: int, at: float, status: str, message: str) -> None:
    """A status update as the engine records it: a timeline row and the incident's status."""
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO timeline (incident_id, at, kind, detail, by, status) "
                     "VALUES (?, ?, 'update', ?, 'alice (cli)', ?)", (incident, at, message, status))
        conn.execute("UPDATE incident SET status = ? WHERE id = ?", (status, incident))


def post_note(db: Path, incident: int, at: float, text: str) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO timeline (incident_id, at, kind, detail, by) VALUES (?, ?, 'note', ?, ?)",
                     (incident, at, text, "bob (dashboard)"))


@contextmanager
def serve(*routers: APIRouter) -> Iterator[str]:
    """The routers in a FastAPI app under uvicorn on 127.0.0.1 and a free port; yields its base URL."""
    app = FastAPI()
    for router in routers:
        app.include_router(router)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                           lifespan="off", access_log=False))
    thread = threading.Thread(target=server.run, name="test-uvicorn", daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started or not thread.is_alive(), timeout=20, what="uvicorn to start")
        assert server.started, "uvicorn did not start"
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@contextmanager
def store_getter(db: Path) -> Iterator[Callable[[], Store]]:
    """One read store for the server's threads, as the HTTP surface keeps one."""
    store = Store.open(db)
    try:
        yield lambda: store
    finally:
        store.close()
