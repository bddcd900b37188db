"""The server itself: a router added by another module is served, an unexpected failure is one
logged error and a plain JSON 500 (never a stack trace), and stop() ends the thread and the port."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter, HTTPException

from shiptrack_tui.config import Config
from shiptrack_tui.storage import Store
from shiptrack_tui.web import HttpServer, WebContext, asgi_app, bind, create_app
from shiptrack_tui.web.context import Ctx

extra = APIRouter(prefix="/extra")


@extra.get("/monitors")
def monitor_count(ctx: Ctx) -> dict[str, int]:
    """What a later router looks like: the store and the config through the context."""
    return {"monitors": len(ctx.store.monitor_summaries(ctx.clock(), windows=())),
            "configured": len(ctx.config().monitors)}


@extra.get("/boom")
def boom() -> None:
    raise RuntimeError("a bug with a secret detail")


@extra.get("/teapot")
def teapot() -> None:
    raise HTTPException(418, "short and stout")


def test_an_added_router_is_served_and_failures_stay_json(tmp_path: Path,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    store = Store.open(tmp_path / "st.db")
    ctx = WebContext(store=store, config=lambda: Config(path=tmp_path / "c.toml"))
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    server = HttpServer(asgi_app(create_app(ctx, extra_routers=[extra])), sock, on_stop=store.close)
    server.start()
    try:
        with httpx.Client(base_url=server.url) as client:
            assert client.get("/extra/monitors").json() == {"monitors": 0, "configured": 0}
            assert client.get("/extra/teapot").json() == {"error": "short and stout", "status": 418}
            with caplog.at_level(logging.ERROR):
                failed = client.get("/extra/boom")
            assert failed.status_code == 500
            assert failed.json() == {"error": "internal error; the server log has the details", "status": 500}
            assert "secret detail" not in failed.text and "Traceback" not in failed.text
            errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
            assert len(errors) == 1 and errors[0].name == "shiptrack.http" and errors[0].exc_info
    finally:
        server.stop()
    assert not server.running
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
