"""The app factory: one FastAPI app per server, its routers wired here (STYLE §7).

A later router (push monitors, the status page, badges) is one module with an `APIRouter` and one
line in `ROUTERS`; it reaches the store and the config through `Depends(web_context)`, and guards
itself with `Depends(require_read)` / `Depends(require_write)` where it needs to (auth.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter, FastAPI
from starlette.types import ASGIApp

from shiptrack_tui import __version__
from shiptrack_tui.web import api_cluster, api_reads, api_writes, health, metrics, push
from shiptrack_tui.web.access_log import AccessLog
from shiptrack_tui.web.badges import badge_router
from shiptrack_tui.web.context import WebContext
from shiptrack_tui.web.errors import Shielded, install_error_handlers
from shiptrack_tui.web.governor import Governed
from shiptrack_tui.web.limits import BodyLimit
from shiptrack_tui.web.status_page import status_page_router

# push first: its pings come by the thousand a second, and routes are tried in this order.
ROUTERS: tuple[APIRouter, ...] = (push.router, health.router, metrics.router, api_reads.router,
                                  api_cluster.router, api_writes.router)

DESCRIPTION = """ShipTrack's HTTP surface: health probes, Prometheus metrics, a JSON API, the public
status page and badges.

Writes need `Authorization: Bearer <token>`; API reads and `/metrics` need it too unless
`[http] public_api = true`. JSON shapes are those of `shiptrack status --json`,
`shiptrack incidents --json` and `shiptrack services --json`."""


def create_app(ctx: WebContext, extra_routers: Sequence[APIRouter] = ()) -> FastAPI:
    """The FastAPI app for `ctx`; `extra_routers` are included after the built-in ones."""
    app = FastAPI(title="ShipTrack", version=__version__, description=DESCRIPTION, docs_url="/docs",
                  redoc_url=None, openapi_url="/openapi.json", swagger_ui_oauth2_redirect_url=None)
    app.state.web = ctx
    app.state.metrics = metrics.Scrape(ctx)
    install_error_handlers(app)
    app.add_middleware(BodyLimit)
    # The public pages are built per app: they keep caches of what they rendered.
    public = (status_page_router(lambda: ctx.store, ctx.config, ctx.clock),
              badge_router(lambda: ctx.store, ctx.config, ctx.clock))
    for router in (*ROUTERS, *public, *extra_routers):
        app.include_router(router)
    return app


def asgi_app(app: FastAPI) -> ASGIApp:
    """What the server runs: the app inside the access log, each request admitted by the governor
    (the engine's loop first, the server within its CPU budget), inside the last-resort shield."""
    ctx: WebContext = app.state.web
    return Shielded(Governed(AccessLog(app), ctx.governor))
