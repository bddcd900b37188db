"""`POST /api/v1/...`: acknowledge, note, status update, check now, pause, resume, silence and
unsilence. Each writes an action row like the CLI's (DESIGN §4), recorded as made by "api", and
waits up to `wait` seconds for the engine to apply it:

- 200 `{"action": 12, "state": "applied", "applied_at": ...}` once applied;
- 409 `{"error": "<why the engine refused>", "action": 12}` when refused;
- 202 `{"action": 12, "state": "queued"}` when not applied yet (or `wait=0`, or no engine here).
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Annotated, Final, Self

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema

from shiptrack_tui.core.durations import DurationError, parse_duration
from shiptrack_tui.core.model import ActionKind, IncidentStatus
from shiptrack_tui.core.silences import SilenceError, SilenceRequest, SilenceTarget
from shiptrack_tui.report import iso
from shiptrack_tui.web.auth import require_write
from shiptrack_tui.web.context import Ctx, WebContext
from shiptrack_tui.web.responses import json_response, problem
from shiptrack_tui.web.shapes import MAX_ID, ActionOutcome, problems

SOURCE: Final = "api"
POLL_SECONDS: Final = 0.05
DEFAULT_WAIT: Final = 2.0
TEXT_LIMIT: Final = 4000

router = APIRouter(prefix="/api/v1", tags=["write"], dependencies=[Depends(require_write)],
                   responses={202: {"model": ActionOutcome, "description": "Not applied yet; it will be"},
                              **problems(400, 401, 403, 404, 409, 413, 422)})
Wait = Annotated[float, Query(ge=0, le=10, description="Seconds to wait for the engine to apply it")]
IncidentId = Annotated[int, Path(ge=1, le=MAX_ID)]
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


DURATION: Final = (r"^\s*(?=[^1-9]*[1-9])(?:[0-9]{1,11}(?:\.[0-9]+)?\s*ms|[0-9]{1,8}(?:\.[0-9]+)?\s*s|"
                   r"[0-9]{1,7}(?:\.[0-9]+)?\s*m|[0-9]{1,5}(?:\.[0-9]+)?\s*h|[0-9]{1,4}(?:\.[0-9]+)?\s*d)\s*$")
"""A silence's length: above zero, with at most 4 digits of days (5 of hours, ...), so that its end
is always a date (core/silences.py refuses longer ones); the schema states it, so clients know."""
ONE_LENGTH: Final = [
    {"required": ["for"], "properties": {"until_resolved": {"const": False}}},
    {"required": ["until_resolved"], "properties": {"until_resolved": {"const": True}},
     "not": {"required": ["for"]}},
]


class SilenceBody(Body):
    model_config = ConfigDict(extra="forbid", regex_engine="python-re",  # DURATION looks ahead
                              json_schema_extra={"oneOf": ONE_LENGTH})

    target: str = Field(min_length=1, max_length=200, description='A monitor name, or "tag:NAME"')
    length: Annotated[str, StringConstraints(pattern=DURATION)] | SkipJsonSchema[None] = Field(
        None, alias="for", description='How long: "15m", "4h", up to "9999d"; omit it with until_resolved')
    until_resolved: bool = False

    @field_validator("length", mode="before")
    @classmethod
    def a_duration(cls, value: object) -> object:
        """The pattern, checked first to say it in words (the schema keeps the pattern)."""
        if isinstance(value, str) and re.match(DURATION, value) is None:
            raise ValueError('expected a duration above 0s like "15m" or "4h", at most "9999d"')
        return value

    @model_validator(mode="after")
    def one_length(self) -> Self:
        if "length" in self.model_fields_set and self.length is None:
            raise ValueError('"for" is a duration like "1h", not null')
        if self.until_resolved and self.length is not None:
            raise ValueError('give either "for" or "until_resolved", not both')
        if not self.until_resolved and self.length is None:
            raise ValueError('say how long: "for": "1h", or "until_resolved": true')
        return self


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
    if wait <= 0:  # the caller asked not to wait: queued, however fast the engine may be
        return json_response({"action": action_id, "state": "queued"}, 202)
    deadline = time.monotonic() + (wait if ctx.vitals is not None else 0.0)
    while True:
        applied_at, error = await run_in_threadpool(store.action_outcome, action_id)
        if error:
            return problem(409, error, action=action_id)
        if applied_at is not None:
            ctx.renders.invalidate()  # the writer reads its own write (renders.py)
            return json_response({"action": action_id, "state": "applied", "applied_at": iso(applied_at)})
        if time.monotonic() >= deadline:
            return json_response({"action": action_id, "state": "queued"}, 202)
        await asyncio.sleep(POLL_SECONDS)


@router.post("/incidents/{incident_id}/ack", summary="Acknowledge an incident",
             response_model=ActionOutcome)
async def ack(ctx: Ctx, incident_id: IncidentId, body: AckBody | None = None,
              wait: Wait = DEFAULT_WAIT) -> Response:
    return await _act(ctx, ActionKind.ACK, wait, incident_id=incident_id, note=body.note if body else None)


@router.post("/incidents/{incident_id}/note", summary="Add a note to an incident's timeline",
             response_model=ActionOutcome)
async def note(ctx: Ctx, incident_id: IncidentId, body: NoteBody, wait: Wait = DEFAULT_WAIT) -> Response:
    return await _act(ctx, ActionKind.NOTE, wait, incident_id=incident_id, note=body.text)


@router.post("/incidents/{incident_id}/update", summary="Post a status update (identified, monitoring…)",
             response_model=ActionOutcome)
async def update(ctx: Ctx, incident_id: IncidentId, body: UpdateBody, wait: Wait = DEFAULT_WAIT) -> Response:
    return await _act(ctx, ActionKind.UPDATE, wait, incident_id=incident_id, note=body.message,
                      value=body.status.value)


@router.post("/monitors/{name}/check", summary="Check a monitor now",
             response_model=ActionOutcome)
async def check_now(ctx: Ctx, name: MonitorName, wait: Wait = DEFAULT_WAIT) -> Response:
    return await _act(ctx, ActionKind.CHECK_NOW, wait, monitor=name)


@router.post("/monitors/{name}/pause", summary="Pause a monitor",
             response_model=ActionOutcome)
async def pause(ctx: Ctx, name: MonitorName, wait: Wait = DEFAULT_WAIT) -> Response:
    return await _act(ctx, ActionKind.PAUSE, wait, monitor=name)


@router.post("/monitors/{name}/resume", summary="Resume a paused monitor",
             response_model=ActionOutcome)
async def resume(ctx: Ctx, name: MonitorName, wait: Wait = DEFAULT_WAIT) -> Response:
    return await _act(ctx, ActionKind.RESUME, wait, monitor=name)


def _target(text: str) -> SilenceTarget:
    """The target named; one that names nothing (`tag:`) covers no monitor: 404, like any other."""
    try:
        return SilenceTarget.parse(text)
    except SilenceError as error:
        raise HTTPException(404, f"{error}; GET /api/v1/monitors lists them") from None


def _covered(ctx: WebContext, target: SilenceTarget) -> str:
    """A monitor the target covers (the action row's monitor); 404 when it covers none."""
    for summary in ctx.store.monitor_summaries(ctx.clock(), windows=()):
        if target.covers(summary.name, summary.tags):
            return summary.name
    raise HTTPException(404, f"{target.label} covers no monitor; GET /api/v1/monitors lists them")


def _seconds(body: SilenceBody) -> float | None:
    if body.length is None:  # the model saw to it that until_resolved is set
        return None
    try:  # DURATION let through only lengths that parse and are above zero
        return parse_duration(body.length)
    except DurationError as error:
        raise HTTPException(422, f'"for" {error}') from None


@router.post("/silences", summary="Silence a monitor or a tag's notifications",
             response_model=ActionOutcome)
async def silence(ctx: Ctx, body: SilenceBody, wait: Wait = DEFAULT_WAIT) -> Response:
    request = SilenceRequest(_target(body.target), _seconds(body))
    monitor = await run_in_threadpool(_covered, ctx, request.target)
    return await _act(ctx, ActionKind.SILENCE, wait, monitor=monitor, note=request.to_note())


@router.delete("/silences/{target}", summary="Lift the silence on a monitor or a tag",
               response_model=ActionOutcome)
async def unsilence(ctx: Ctx, target: Annotated[str, Path(min_length=1, max_length=200)],
                    wait: Wait = DEFAULT_WAIT) -> Response:
    parsed = _target(target)
    monitor = await run_in_threadpool(_covered, ctx, parsed)
    return await _act(ctx, ActionKind.UNSILENCE, wait, monitor=monitor, note=str(parsed))
