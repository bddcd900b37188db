"""A real engine on its thread with the HTTP server beside it, as the daemon composes them: the
demo targets, a real SQLite file, loopback HTTP on an ephemeral port, httpx as the client."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from waiting import wait_for

from shiptrack_tui.config import Config, NotifySettings
from shiptrack_tui.config.settings import HttpSettings
from shiptrack_tui.core.model import MonitorSpec
from shiptrack_tui.demo import DemoTargetsThread
from shiptrack_tui.engine import Engine, EngineThread
from shiptrack_tui.storage import Store
from shiptrack_tui.web import HttpServer, bind, start_http

TOKEN = "s3cret-token-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def specs(base_url: str) -> tuple[MonitorSpec, ...]:
    """api: flips with the targets' controls (threshold 1); web: always up, tagged."""
    return (
        MonitorSpec(name="api", url=f"{base_url}/t/api", interval=0.25, timeout=0.2, failure_threshold=1,
                    recovery_threshold=1, tags=("prod",)),
        MonitorSpec(name="web", url=f"{base_url}/t/web", interval=0.25, timeout=0.2, tags=("prod", "site")),
    )


class Rig:
    def __init__(self, tmp_path: Path, targets: DemoTargetsThread, *, token: str | None = TOKEN,
                 public_api: bool = False, notify: NotifySettings | None = None,
                 busy_timeout: float | None = None, start_engine: bool = True) -> None:
        self.db = tmp_path / "http.db"
        self.targets = targets
        self.store = Store.open(self.db, **({"busy_timeout": busy_timeout} if busy_timeout else {}))
        self.http = HttpSettings(host="127.0.0.1", port=0, token=token, token_source="test",
                                 public_api=public_api)
        self.config = Config(path=tmp_path / "none.toml", monitors=specs(targets.base_url),
                             notify=notify or NotifySettings(), http=self.http)
        self.engine = Engine(self.config, self.store)
        self.thread = EngineThread(self.engine)
        self.server: HttpServer = start_http(bind("127.0.0.1", 0), self.http, self.db,
                                             config=lambda: self.engine.config, vitals=self.engine.vitals,
                                             wake=self.engine.wake, engine_loop=self.engine.call_soon)
        self.client = httpx.Client(base_url=self.server.url, timeout=10)
        if start_engine:
            self.start()

    def start(self) -> None:
        self.thread.start()
        wait_for(lambda: self.get("/health/ready").status_code == 200, what="the engine ready")

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.get(path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.post(path, **kwargs)

    def monitors(self) -> dict[str, dict[str, Any]]:
        return {row["name"]: row for row in self.get("/api/v1/monitors", headers=AUTH).json()}

    def open_incident(self) -> int:
        """Take api's target down until the API lists an open incident; its id."""
        self.targets.set_down("t/api")
        row = wait_for(lambda: self.monitors()["api"]["open_incident"], what="an open incident on api")
        return int(row)

    def close(self) -> None:
        self.client.close()
        self.thread.stop()
        self.server.stop()
        self.store.close()
