"""How a composition root (the daemon, the dashboard running an engine) serves `[http]`:
bind first (a port in use stops the start with one line), then serve beside the engine."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from shiptrack_tui.store_target import StoreTarget
from shiptrack_tui.web.app import asgi_app, create_app
from shiptrack_tui.web.context import Vitals, WebContext
from shiptrack_tui.web.governor import EngineLag, Governor, Post
from shiptrack_tui.web.server import HttpServer, bind

if TYPE_CHECKING:
    from shiptrack_tui.config import Config
    from shiptrack_tui.config.settings import HttpSettings

log = logging.getLogger("shiptrack.http")


def open_listener(settings: HttpSettings) -> socket.socket:
    """The listening socket for `[http] listen`; ListenError (one line) when it cannot be had."""
    assert settings.host is not None
    return bind(settings.host, settings.port, settings.listen)


def start_http(sock: socket.socket, settings: HttpSettings, db_path: Path | StoreTarget, *,
               config: Callable[[], Config], vitals: Vitals | None, wake: Callable[[], None] | None,
               engine_loop: Post | None = None) -> HttpServer:
    """Serve on `sock` from its own thread, reading through a store of its own on `db_path` (a
    SQLite file or a StoreTarget).
    `engine_loop` (the engine's `call_soon`) lets requests give way while the engine's loop lags."""
    target = StoreTarget.of(db_path)
    store = target.open()
    governor = Governor(engine=None if engine_loop is None else EngineLag(engine_loop))
    ctx = WebContext(store=store, config=config, vitals=vitals, wake=wake, token=settings.token,
                     public_api=settings.public_api, governor=governor, local=target.local)
    server = HttpServer(asgi_app(create_app(ctx)), sock, on_stop=store.close)
    server.context = ctx
    try:
        server.start()
    except BaseException:
        store.close()
        raise
    if settings.token is None:
        access = "no token: API writes are refused" + ("" if settings.public_api else ", and reads too")
    else:
        access = f"token from {settings.token_source}" + (
            "; API reads are public" if settings.public_api else "")
    log.info("serving HTTP on %s (/health, /metrics, /api/v1, /docs; %s)", server.url, access)
    return server
