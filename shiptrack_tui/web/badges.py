"""`GET /badge/<monitor>/...svg`: status, uptime and latency badges for public monitors only.

`badge_router(store, config)` returns a FastAPI router (see status_page.py for the arguments).
A monitor the status page does not publish gets exactly the 404 of a monitor that does not
exist, so badges never tell which private monitors there are.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Final

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response

from shiptrack_tui.config.settings import Config
from shiptrack_tui.core.formats import fmt_ms, fmt_uptime
from shiptrack_tui.core.model import IncidentState, MonitorSpec, WindowStats
from shiptrack_tui.storage import Store
from shiptrack_tui.web.badge_svg import render_badge
from shiptrack_tui.web.public import PublicationCache, PublicStatus, public_status

log = logging.getLogger("shiptrack.http")

WINDOWS: Final = {"1h": 3600.0, "24h": 86400.0, "7d": 7 * 86400.0, "30d": 30 * 86400.0, "90d": 90 * 86400.0}
CACHE_CONTROL: Final = "public, max-age=60"
SVG: Final = "image/svg+xml; charset=utf-8"
_STATUS: Final = {
    PublicStatus.OPERATIONAL: ("up", "brightgreen"),
    PublicStatus.DEGRADED: ("degraded", "yellow"),
    PublicStatus.OUTAGE: ("down", "red"),
    PublicStatus.MAINTENANCE: ("maintenance", "blue"),
    PublicStatus.PAUSED: ("paused", "lightgrey"),
    PublicStatus.NO_DATA: ("no data", "lightgrey"),
}
_UPTIME_STEPS: Final = ((99.9, "brightgreen"), (99.0, "green"), (97.0, "yellowgreen"), (95.0, "yellow"),
                        (90.0, "orange"))
_LATENCY_STEPS_MS: Final = ((200.0, "brightgreen"), (500.0, "green"), (1000.0, "yellow"), (2000.0, "orange"))
_NOT_FOUND: Final = {404: {"description": "No public monitor of that name, or no such window"}}


def uptime_colour(uptime: float | None) -> str:
    if uptime is None:
        return "lightgrey"
    return next((colour for floor, colour in _UPTIME_STEPS if uptime >= floor), "red")


def latency_colour(p50_ms: float | None, spec: MonitorSpec | None) -> str:
    """By the monitor's `degraded_after` when it has one (under it green, up to twice yellow,
    beyond orange), else by fixed steps from 200 ms to 2 s."""
    if p50_ms is None:
        return "lightgrey"
    if spec is not None and spec.degraded_after is not None:
        limit = spec.degraded_after * 1000
        return "brightgreen" if p50_ms <= limit else "yellow" if p50_ms <= 2 * limit else "orange"
    return next((colour for ceiling, colour in _LATENCY_STEPS_MS if p50_ms < ceiling), "red")


def _svg(label: str, value: str, colour: str, status_code: int = 200) -> Response:
    headers = {"Cache-Control": CACHE_CONTROL} if status_code == 200 else {"Cache-Control": "no-store"}
    return Response(render_badge(label, value, colour), status_code=status_code, media_type=SVG,
                    headers=headers)


def badge_router(store: Callable[[], Store], config: Callable[[], Config | None],
                 clock: Callable[[], float] = time.time) -> APIRouter:
    """Status, uptime and latency badges for the monitors `[status_page]` makes public."""
    router = APIRouter(tags=["badges"])
    publications = PublicationCache()

    def public_spec(monitor: str) -> MonitorSpec:
        current = config()
        publication = publications.get(current)
        spec = current.monitor(monitor) if current is not None else None
        if publication is None or spec is None or monitor not in publication.monitors:
            raise HTTPException(404, "no public monitor of that name; the status page lists the public ones")
        return spec

    def window_seconds(window: str) -> float:
        if window not in WINDOWS:
            raise HTTPException(404, f"no such window; use one of {', '.join(WINDOWS)}")
        return WINDOWS[window]

    def stats(monitor: str, seconds: float) -> WindowStats | None:
        try:
            return store().window_stats(monitor, clock(), seconds)
        except Exception as error:  # a badge says "unavailable"; the log says why
            log.warning("badge: cannot read the database: %s", error)
            return None

    @router.get("/badge/{monitor:path}/status.svg", response_class=Response, responses=_NOT_FOUND,
                summary="A monitor's status as a badge")
    def status_badge(monitor: str) -> Response:
        public_spec(monitor)
        try:
            reader = store()
            states = reader.statuses([monitor])
            open_incidents = [i for i in reader.recent_incidents([monitor], clock() + 1, 1, ())
                              if i.state is not IncidentState.RESOLVED]
        except Exception as error:
            log.warning("badge: cannot read the database: %s", error)
            return _svg(monitor, "unavailable", "lightgrey", 503)
        severities = {i.monitor: i.severity for i in open_incidents}
        value, colour = _STATUS[public_status((monitor,), states, severities, single=True)]
        return _svg(monitor, value, colour)

    @router.get("/badge/{monitor:path}/uptime/{window}.svg", response_class=Response, responses=_NOT_FOUND,
                summary="A monitor's uptime over a window (1h, 24h, 7d, 30d, 90d) as a badge")
    def uptime_badge(monitor: str, window: str) -> Response:
        public_spec(monitor)
        found = stats(monitor, window_seconds(window))
        if found is None:
            return _svg(f"uptime {window}", "unavailable", "lightgrey", 503)
        value = "no data" if found.uptime is None else fmt_uptime(found.uptime)
        return _svg(f"uptime {window}", value, uptime_colour(found.uptime))

    @router.get("/badge/{monitor:path}/latency/{window}.svg", response_class=Response, responses=_NOT_FOUND,
                summary="A monitor's median (p50) latency over a window as a badge")
    def latency_badge(monitor: str, window: str) -> Response:
        spec = public_spec(monitor)
        found = stats(monitor, window_seconds(window))
        if found is None:
            return _svg(f"latency {window}", "unavailable", "lightgrey", 503)
        value = "no data" if found.p50_ms is None else fmt_ms(found.p50_ms)
        return _svg(f"latency {window}", value, latency_colour(found.p50_ms, spec))

    return router
