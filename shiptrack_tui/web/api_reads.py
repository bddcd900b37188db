"""`GET /api/v1/...`: monitors, a monitor's checks, incidents, services — in the shapes of
`shiptrack status --json`, `incidents --json` and `services --json` (report.py, cli_services.py:
one serialiser for both, DESIGN §11). Reads run on the server's worker threads, each through its
own connection of the HTTP server's store: plain `def` routes for the cheap ones; the lists, which
cost up to seconds for 10,000 monitors, are computed once and shared within a second (renders.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Final

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response

from shiptrack_tui.cli_services import config_memberships, services_json, services_of
from shiptrack_tui.core.location_view import in_config_order
from shiptrack_tui.core.model import IncidentState
from shiptrack_tui.heartbeat import engine_health
from shiptrack_tui.report import checks_json, incidents_json, status_json
from shiptrack_tui.web.auth import require_read
from shiptrack_tui.web.context import Ctx, WebContext
from shiptrack_tui.web.responses import json_body, json_bytes, json_response
from shiptrack_tui.web.shapes import MAX_ID, Check, Incident, Monitor, MonitorDetail, Service, problems

RECENT_CHECKS: Final = 20
router = APIRouter(prefix="/api/v1", tags=["read"], dependencies=[Depends(require_read)],
                   responses=problems(401, 403, 422))
NOT_FOUND = problems(404)
MonitorName = Annotated[str, Path(min_length=1, max_length=200, description="The monitor's name")]


def _utc(at: datetime) -> float:
    """A query's time; one without a zone is UTC, like every time in the JSON."""
    return (at if at.tzinfo is not None else at.replace(tzinfo=UTC)).timestamp()


def _monitor_rows(ctx: WebContext, names: list[str] | None = None) -> list[dict[str, object]]:
    now = ctx.clock()
    store = ctx.store
    summaries = store.monitor_summaries(now, names=names)
    config = ctx.config()
    members = config_memberships(config)[1]
    health = engine_health(ctx.db_path, now)
    locations = store.location_states(names)
    if locations:  # the configured order of each monitor's locations
        locations = in_config_order(locations, {spec.name: spec.locations for spec in config.monitors})
    return status_json(summaries, health, store.active_silences(), now, services_of(members), locations)


def _known(ctx: WebContext, name: str) -> None:
    if not ctx.store.monitor_summaries(ctx.clock(), windows=(), names=[name]):
        raise HTTPException(404, f"no monitor named {name!r}; GET /api/v1/monitors lists them")


@router.get("/monitors", summary="Every monitor, as `shiptrack status --json`", response_model=list[Monitor])
async def monitors(ctx: Ctx) -> Response:
    return json_body(await ctx.renders.get("monitors", lambda: json_bytes(_monitor_rows(ctx))))


@router.get("/monitors/{name}", summary="One monitor with its latest checks", response_model=MonitorDetail,
            responses=NOT_FOUND)
def monitor(ctx: Ctx, name: MonitorName) -> Response:
    rows = _monitor_rows(ctx, [name])
    if not rows:
        raise HTTPException(404, f"no monitor named {name!r}; GET /api/v1/monitors lists them")
    row = rows[0]
    row["recent_checks"] = checks_json(ctx.store.recent_checks(name, RECENT_CHECKS))
    return json_response(row)


@router.get("/monitors/{name}/checks", summary="A monitor's raw checks, newest first",
            response_model=list[Check], responses=NOT_FOUND)
def checks(ctx: Ctx, name: MonitorName,
           since: Annotated[datetime | None, Query(description="Only checks at or after this time "
                                                   "(ISO 8601; UTC when no zone is given)")] = None,
           limit: Annotated[int, Query(ge=1, le=10_000)] = 100) -> Response:
    _known(ctx, name)
    found = ctx.store.recent_checks(name, limit, since=None if since is None else _utc(since))
    return json_response(checks_json(found))


@router.get("/incidents", summary="Incidents with their timelines, as `shiptrack incidents --json`",
            response_model=list[Incident], responses=NOT_FOUND)
async def incidents(
        ctx: Ctx,
        state: Annotated[list[IncidentState] | None, Query(description="Repeat for several")] = None,
        monitor: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
        service: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> Response:
    wanted = frozenset(state or ())

    def rows() -> bytes:
        return json_bytes(_incident_rows(ctx, wanted, monitor, service, limit))

    return json_body(await ctx.renders.get(("incidents", wanted, monitor, service, limit), rows))


def _incident_rows(ctx: WebContext, wanted: frozenset[IncidentState], monitor: str | None,
                   service: str | None, limit: int) -> list[dict[str, object]]:
    members: set[str] | None = None
    if service is not None:
        found = config_memberships(ctx.config())[1].get(service)
        if found is None:
            raise HTTPException(404, f"no service named {service!r}; GET /api/v1/services lists them")
        members = set(found)
    open_only = bool(wanted) and IncidentState.RESOLVED not in wanted
    filtered = bool(wanted) or members is not None
    rows = ctx.store.incidents(open_only=open_only, monitor=monitor, limit=None if filtered else limit)
    if monitor is not None and not rows:
        _known(ctx, monitor)
    rows = [i for i in rows if (not wanted or i.state in wanted)
            and (members is None or i.monitor in members)][:limit]
    return incidents_json(rows)


@router.get("/incidents/{incident_id}", summary="One incident with its timeline", response_model=Incident,
            responses=NOT_FOUND)
def incident(ctx: Ctx, incident_id: Annotated[int, Path(ge=1, le=MAX_ID)]) -> Response:
    found = ctx.store.incident(incident_id)
    if found is None:
        raise HTTPException(404, f"no incident #{incident_id}; GET /api/v1/incidents lists them")
    return json_response(incidents_json([found])[0])


@router.get("/services", summary="Services with their derived status, as `shiptrack services --json`",
            response_model=list[Service])
async def services(ctx: Ctx) -> Response:
    return json_body(await ctx.renders.get("services", lambda: json_bytes(_service_rows(ctx))))


def _service_rows(ctx: WebContext) -> list[dict[str, object]]:
    configured, members = config_memberships(ctx.config())
    summaries = ctx.store.monitor_summaries(ctx.clock(), windows=())
    return services_json(configured, members, summaries, ctx.store.incidents(open_only=True))
