"""`GET /`: the public status page, server-rendered with Jinja2 (autoescape on, no JavaScript).

`status_page_router(store, config)` returns a FastAPI router; the app mounts it at its root.
`store()` returns the HTTP thread's read store and `config()` the config running now (a reload
shows on the next request). The page reads only what `[status_page]` makes public
(http/public.py), refreshes itself every minute, and follows the reader's light or dark scheme.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from importlib.resources import files
from typing import Final

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, PackageLoader
from markupsafe import Markup, escape

from shiptrack_tui import __version__
from shiptrack_tui.config.settings import Config
from shiptrack_tui.core.days import DayGrade
from shiptrack_tui.core.durations import format_duration
from shiptrack_tui.core.formats import fmt_uptime, local_time, zone_abbreviation
from shiptrack_tui.core.model import IncidentStatus
from shiptrack_tui.storage import Store
from shiptrack_tui.web.bars import GRADE_WORDS, bar
from shiptrack_tui.web.public import WORDS, PublicationCache, PublicStatus
from shiptrack_tui.web.status_view import HISTORY_DAYS, RESOLVED_DAYS, EntryView, HistoryCache, read_page

log = logging.getLogger("shiptrack.http")

REFRESH_SECONDS: Final = 60
PAGE_CACHE_CONTROL: Final = "public, max-age=30"
CSS_PATH: Final = "/static/status.css"
_UPDATE_WORDS: Final = {
    IncidentStatus.INVESTIGATING: "Investigating",
    IncidentStatus.IDENTIFIED: "Identified",
    IncidentStatus.MONITORING: "Monitoring",
    IncidentStatus.RESOLVED: "Resolved",
}


def template_environment() -> Environment:
    """The templates under shiptrack_tui/web/templates, every value HTML-escaped."""
    env = Environment(loader=PackageLoader("shiptrack_tui.web", "templates"), autoescape=True,
                      trim_blocks=True, lstrip_blocks=True)
    env.globals.update(words=WORDS, update_words=_UPDATE_WORDS, grade_words=GRADE_WORDS, DayGrade=DayGrade,
                       history_days=HISTORY_DAYS, resolved_days=RESOLVED_DAYS, refresh=REFRESH_SECONDS,
                       version=__version__, css=CSS_PATH.lstrip("/"))
    env.filters.update(when=_when, iso=_iso, duration=format_duration, uptime=fmt_uptime, bars=_bars,
                       member_items=_member_items)
    return env


def _when(at: float) -> str:
    """`Nov 18, 10:02 CET`: a time for readers, in the display zone."""
    return f"{local_time(at).strftime('%b %d, %H:%M')} {zone_abbreviation(at)}".strip()


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _bars(item: EntryView, today: int) -> Markup:
    """An entry's 90 bars: the completed days' (drawn once, escaped) and today's."""
    return Markup(item.past_bars + bar(today, item.today, is_today=True))  # both escaped by bars.py


def _member_items(members: Sequence[tuple[str, PublicStatus]]) -> Markup:
    """A service's monitors as `<li>`s: symbol, name, status in words (a service may hold hundreds:
    one string each, not a template loop)."""
    items = []
    for name, status in members:
        symbol, word = WORDS[status]
        items.append(f'<li class="s-{status}"><span class="sym" aria-hidden="true">{symbol}</span> '
                     f'<span class="name">{_escaped(name)}</span> <span class="word">{word}</span></li>')
    return Markup("".join(items))  # names escaped; symbols and words are ours


@lru_cache(maxsize=4096)
def _escaped(text: str) -> str:
    return str(escape(text))


def status_page_router(store: Callable[[], Store], config: Callable[[], Config | None],
                       clock: Callable[[], float] = time.time) -> APIRouter:
    """`GET /` (the page) and `GET /static/status.css` (its stylesheet)."""
    router = APIRouter(tags=["status page"])
    env = template_environment()
    page = env.get_template("status.html")
    missing = env.get_template("no_status_page.html")
    unavailable = env.get_template("unavailable.html")
    publications = PublicationCache()
    history = HistoryCache()
    stylesheet = files("shiptrack_tui.web").joinpath("static/status.css").read_bytes()

    @router.get("/", response_class=HTMLResponse, summary="The public status page",
                responses={404: {"description": "No [status_page] is configured"},
                           503: {"description": "The database cannot be read right now"}})
    def status_page() -> HTMLResponse:
        publication = publications.get(config())
        if publication is None:
            return HTMLResponse(missing.render(), status_code=404)
        now = clock()
        try:
            view = read_page(store(), publication, now, history)
        except Exception as error:  # the reader gets a page, the log the reason; never a traceback
            log.warning("status page: cannot read the database: %s", error)
            return HTMLResponse(unavailable.render(title=publication.title), status_code=503,
                                headers={"Retry-After": str(REFRESH_SECONDS)})
        html = page.render(view=view, zone=zone_abbreviation(now))
        return HTMLResponse(html, headers={"Cache-Control": PAGE_CACHE_CONTROL})

    @router.get(CSS_PATH, include_in_schema=False)
    def status_css() -> Response:
        return Response(stylesheet, media_type="text/css",
                        headers={"Cache-Control": "public, max-age=3600"})

    return router
