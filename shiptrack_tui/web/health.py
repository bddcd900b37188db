"""`/health/live` and `/health/ready` (issue #13): open by design, answered from the engine's own
figures (core/vitals.py) without touching the database.

- live: this server answers and the engine's scheduling loop has run within `LIVE_SECONDS`
  (the heartbeat's own staleness mark): a stuck loop is worth a restart;
- ready: the engine runs a config, its scheduler ran within `READY_SECONDS`, and its writes get
  through to storage (no stall). A process without an engine is never ready.
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter, Response

from shiptrack_tui.core.durations import format_duration
from shiptrack_tui.core.vitals import EngineVitals, unreachable_text
from shiptrack_tui.heartbeat import STALE_SECONDS
from shiptrack_tui.web.context import Ctx
from shiptrack_tui.web.responses import json_response
from shiptrack_tui.web.shapes import Health

LIVE_SECONDS: Final = STALE_SECONDS
READY_SECONDS: Final = 5.0

router = APIRouter(prefix="/health", tags=["health"],
                   responses={503: {"model": Health, "description": "Not live / not ready, with the reason"}})


def _figures(vitals: EngineVitals) -> dict[str, Any]:
    stalled = vitals.storage.stalled_seconds
    return {"scheduler_age_s": round(vitals.tick_age, 3), "monitors": vitals.monitors,
            "writes_queued": vitals.storage.queued,
            "storage_stalled_s": None if stalled is None else round(stalled, 1)}


def _answer(reason: str | None, figures: dict[str, Any]) -> Response:
    if reason is None:
        return json_response({"status": "ok", **figures})
    return json_response({"status": "unavailable", "reason": reason, **figures}, 503)


def _age(seconds: float) -> str:
    return format_duration(round(seconds)) if seconds >= 1 else f"{seconds:.1f}s"


@router.get("/live", summary="The process and its loops answer", response_model=Health)
async def live(ctx: Ctx) -> Response:
    if ctx.vitals is None:
        return _answer(None, {})
    vitals = ctx.vitals(False)
    stuck = vitals.tick_age > LIVE_SECONDS
    reason = f"the engine's scheduling loop has not run for {_age(vitals.tick_age)}" if stuck else None
    return _answer(reason, _figures(vitals))


def not_ready(vitals: EngineVitals) -> str | None:
    """Why the engine is not ready to check, or None."""
    if not vitals.config_loaded:
        return "the engine is starting: no config applied yet"
    if vitals.tick_age > READY_SECONDS:
        return f"the scheduler has not run for {_age(vitals.tick_age)}"
    storage = vitals.storage
    if storage.stalled_seconds is not None and storage.unreachable:
        return unreachable_text(storage.backend, _age(storage.stalled_seconds), storage.queued,
                                storage.dropped_checks)
    if storage.stalled_seconds is not None:
        cause = storage.stall_error or "a commit has not finished"
        return (f"storage stalled for {_age(storage.stalled_seconds)}: {cause}; "
                f"{storage.queued:,} writes waiting")
    return None


@router.get("/ready", summary="Storage writable, scheduler running, config loaded", response_model=Health)
async def ready(ctx: Ctx) -> Response:
    if ctx.vitals is None:
        return _answer("no engine runs in this process", {})
    vitals = ctx.vitals(False)
    return _answer(not_ready(vitals), _figures(vitals))
