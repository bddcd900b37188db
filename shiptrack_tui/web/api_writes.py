"""`POST /api/v1/...`: acknowledge, note, status update, check now, pause, resume, silence and
unsilence. Each writes an action row like the CLI's (DESIGN §4), recorded as made by "api", and
waits up to `wait` seconds for the engine to apply it:

- 200 `{"action": 12, "state": "applied", "applied_at": ...}` once applied;
- 409 `{"error": "<why the engine refused>", "action": 12}` when refused;
- 202 `{"action": 12, "state": "queued"}` when not applied yet (or `wait=0`, or no engine here).
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Final

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from shiptrack_tui.core.durations import DurationError, parse_duration
from shiptrack_tui.core.model import ActionKind, IncidentStatus
from shiptrack_tui.core.silences import SilenceError, SilenceRequest, SilenceTarget
from shiptrack_tui.report import iso
from shiptrack_tui.web.auth import require_write
from shiptrack_tui.web.context import Ctx, WebContext
from shiptrack_tui.web.responses import json_response, problem

SOURCE: Final = "api"
POLL_SECONDS: Final = 0.05
DEFAULT_WAIT: Final = 2.0
TEXT_LIMIT: Final = 4000

router = APIRouter(prefix="/api/v1", tags=["write"], dependencies=[Depends(require_write)])
Wait = Annotated[float, Query(ge=0, le=10, description="Seconds to wait for the engine to apply it")]
IncidentId = Annotated[int, Path(ge=1)]
MonitorName = Annotated[str, Path(min_length=1, max_length=200)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AckBody(Body):
    note: str | None = Field(None, max_length=TEXT_LIMIT, description="Added to the timeline with it")


class NoteBody(Body):
    text: str = Field(min_length=1, max_length=TEXT_LIMIT)


class UpdateBody(Body):
    status: IncidentStatus
    message: str = Field(min_length=1, max_length=TEXT_LIMIT)


class SilenceBody(Body):
    target: str = Field(min_length=1, max_length=200, description='A monitor name, or "tag:NAME"')
    length: str | None = Field(None, alias="for",
                               description='How long: "15m", "4h"; omit it with until_resolved')
    until_resolved: bool = False


async def _act(ctx: WebContext, kind: ActionKind, wait: float, *, incident_id: int | None = None,
               monitor: str | None = None, note: str | None = None, value: str | None = None) -> Response:
    store = ctx.store
    try:
        action_id = await run_in_threadpool(store.add_action, kind, ctx.clock(), monitor=monitor,
                                            incident_id=incident_id, note=note, source=SOURCE, value=value)
    except LookupError:
        what = f"incident #{incident_id}" if incident_id is not None else f"monitor named {monitor!r}"
        raise HTTPException(404, f"no {what}") from None
    if ctx.wake is not None:
        ctx.wake()
    deadline = time.monotonic() + (wait if ctx.vitals is not None else 0.0)
    while True:
        applied_at, error = await run_in_threadpool(store.action_outcome, action_id)
        if error:
            return problem(409, error, action=action_id)
        if applied_at is not None:
            return json_response({"action": action_id, "state": "applied", "applied_at": iso(applied_at)})
        if time.monotonic() >= deadline:
            return json_response({"action": action_id, "state": "queued"}, 202)
        await asyncio.sleep(POLL_SECONDS)


@router.post("/incidents/{incident_id}/ack", summary="Acknowledge an incident")
async def ack(ctx: Ctx, incident_id: IncidentId, body: AckBody | None = None,
              wait: Wait = DEFAULT_WAIT) -> Response:
    return await _act(ctx, ActionKind.ACK, wait, incident_id=incident_id, note=body.note if body else None)


@router.post("/incidents/{incident_id}/note", summary="Add a note to an incident's timeline")
async def note(ctx: Ctx, incident_id: IncidentId, body: NoteBody, wait: Wait = DEFAULT_WAIT) -> Response:
    return await _act(ctx, ActionKind.NOTE, wait, incident_id=incident_id, note=body.text)


@router.post("/incidents/{incident_id}/update", summary="Post a status update (identified, monitoring…)")
async def update(ctx: Ctx, incident_id: IncidentId, body: UpdateBody, wait: Wait = DEFAULT_WAIT) -> Response:
    return await _act(ctx, ActionKind.UPDATE, wait, incident_id=incident_id, note=body.message,
                      value=body.status.value)


@router.post("/monitors/{name}/check", summary="Check a monitor now")
async def check_now(ctx: Ctx, name: MonitorName, wait: Wait = DEFAULT_WAIT) -> Response:
    return await _act(ctx, ActionKind.CHECK_NOW, wait, monitor=name)


@router.post("/monitors/{name}/pause", summary="Pause a monitor")
async def pause(ctx: Ctx, name: MonitorName, wait: Wait = DEFAULT_WAIT) -> Response:
    return await _act(ctx, ActionKind.PAUSE, wait, monitor=name)


@router.post("/monitors/{name}/resume", summary="Resume a paused monitor")
async def resume(ctx: Ctx, name: MonitorName, wait: Wait = DEFAULT_WAIT) -> Response:
    return await _act(ctx, ActionKind.RESUME, wait, monitor=name)


def _target(text: str) -> SilenceTarget:
    try:
        return SilenceTarget.parse(text)
    except SilenceError as error:
        raise HTTPException(422, str(error)) from None


def _covered(ctx: WebContext, target: SilenceTarget) -> str:
    """A monitor the target covers (the action row's monitor); 404 when it covers none."""
    for summary in ctx.store.monitor_summaries(ctx.clock(), windows=()):
        if target.covers(summary.name, summary.tags):
            return summary.name
    raise HTTPException(404, f"{target.label} covers no monitor; GET /api/v1/monitors lists them")


def _seconds(body: SilenceBody) -> float | None:
    if body.until_resolved:
        if body.length is not None:
            raise HTTPException(422, 'give either "for" or "until_resolved", not both')
        return None
    if body.length is None:
        raise HTTPException(422, 'say how long: "for": "1h", or "until_resolved": true')
    try:
        seconds = parse_duration(body.length)
    except DurationError as error:
        raise HTTPException(422, f'"for" {error}') from None
    if seconds <= 0:
        raise HTTPException(422, f'"for" must be longer than 0s, got {body.length!r}')
    return seconds


@router.post("/silences", summary="Silence a monitor or a tag's notifications")
async def silence(ctx: Ctx, body: SilenceBody, wait: Wait = DEFAULT_WAIT) -> Response:
    request = SilenceRequest(_target(body.target), _seconds(body))
    monitor = await run_in_threadpool(_covered, ctx, request.target)
    return await _act(ctx, ActionKind.SILENCE, wait, monitor=monitor, note=request.to_note())


@router.delete("/silences/{target}", summary="Lift the silence on a monitor or a tag")
async def unsilence(ctx: Ctx, target: Annotated[str, Path(min_length=1, max_length=200)],
                    wait: Wait = DEFAULT_WAIT) -> Response:
    parsed = _target(target)
    monitor = await run_in_threadpool(_covered, ctx, parsed)
    return await _act(ctx, ActionKind.UNSILENCE, wait, monitor=monitor, note=str(parsed))
