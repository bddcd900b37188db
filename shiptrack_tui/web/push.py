"""`/push/<token>`, `/push/<token>/fail`, `/push/<token>/start`: push monitors' pings (DESIGN §11).

Open by design: the secret URL is the credential (healthchecks.io's convention, STYLE §7). A ping
is answered `{"ok": true}` only once its row is committed to the database: requests that arrive
while a batch commits wait for the next one, so a burst shares few transactions (group commit),
and a 200 is never for a ping that a crash or a clean stop could lose. The engine then applies
the rows (engine/push.py), woken at once through `ctx.wake`.

The token is looked up in a dict (its hash is keyed per process, so how long a lookup takes says
nothing about the tokens that exist); unknown tokens are 404, and each monitor is rate-limited
by a token bucket (429 with Retry-After). No response, error message or log line carries a token:
the access log cuts `/push/...` paths (access_log.py), and the catch-all below answers the paths
and methods that would otherwise be echoed in a 404 or 405.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import Final

import anyio.to_thread
from fastapi import APIRouter, Request, Response
from starlette.routing import Route

from shiptrack_tui.core.push import PingKind, clean_message
from shiptrack_tui.web.context import WebContext
from shiptrack_tui.web.responses import json_response, problem
from shiptrack_tui.web.shapes import problems

log = logging.getLogger("shiptrack.http")

RATE: Final = 10.0
"""Pings a second each monitor may send, on average..."""
BURST: Final = 20
"""...and at once."""
WAKE_SECONDS: Final = 0.02
"""The engine is woken at most this often for new pings: under load it reads them in batches."""
RELOAD_SECONDS: Final = 1.0
"""An unknown token re-reads the stored tokens at most this often (a new monitor's first ping)."""
PING_METHODS: Final = ["GET", "POST", "HEAD"]
ALL_METHODS: Final = ["GET", "POST", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"]
UNKNOWN: Final = ("no push monitor has this token; `shiptrack monitor show NAME` shows a push monitor's "
                  "URL")

router = APIRouter(tags=["push"])


class TokenBook:
    """Token -> push monitor name, from the config in force and the tokens stored for it."""

    def __init__(self, ctx: WebContext) -> None:
        self._ctx = ctx
        self._config: object = None
        self._names: dict[str, str] = {}
        self._loaded_at = -math.inf

    async def find(self, token: str) -> str | None:
        config = self._ctx.config()
        if config is not self._config:
            await self._load(config)
        name = self._names.get(token)
        if name is None and time.monotonic() - self._loaded_at >= RELOAD_SECONDS:
            await self._load(config)  # the engine may have generated it since
            name = self._names.get(token)
        return name

    async def _load(self, config: object) -> None:
        specs = [spec for spec in getattr(config, "monitors", ()) if spec.push]
        stored = await anyio.to_thread.run_sync(self._ctx.store.push_tokens) if specs else {}
        names = {}
        for spec in specs:
            token = spec.push_token or stored.get(spec.name)
            if token:
                names[token] = spec.name
        self._names, self._config, self._loaded_at = names, config, time.monotonic()


class RateLimits:
    """A token bucket per monitor: `RATE` a second, up to `BURST` at once."""

    def __init__(self, rate: float = RATE, burst: int = BURST) -> None:
        self.rate = rate
        self.burst = float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, key: str, now: float) -> float:
        """0 when a ping may go now, else the seconds until one may."""
        tokens, last = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            return 0.0
        self._buckets[key] = (tokens, now)
        return (1.0 - tokens) / self.rate


class PingBatch:
    """Group commit: each ping waits for the transaction that stores it; pings that arrive while
    one commits go together in the next."""

    def __init__(self, ctx: WebContext) -> None:
        self._ctx = ctx
        self._waiting: list[tuple[tuple[str, float, str, str | None], asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._woken_at = -math.inf
        self._wake_pending = False

    async def store(self, monitor: str, kind: PingKind, message: str | None) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(((monitor, self._ctx.clock(), kind.value, message), future))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush(), name="push-pings")
        await future

    async def _flush(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                try:
                    # Not cancellable: a commit under way finishes even if the server stops.
                    await anyio.to_thread.run_sync(self._ctx.store.add_pings, [row for row, _ in batch])
                except Exception as error:
                    log.error("could not store %d pings: %s", len(batch), error)
                    outcome: BaseException | None = error
                else:
                    outcome = None
                    self._wake()
                for _row, future in batch:
                    if future.done():
                        continue  # the client went away; its ping is stored all the same
                    if outcome is None:
                        future.set_result(None)
                    else:
                        future.set_exception(outcome)
        finally:
            self._flusher = None

    def _wake(self) -> None:
        """Have the engine read the pings now; at most every `WAKE_SECONDS` (each wake-up costs the
        engine a read of the ping and action tables), later ones wait for the rest of the interval."""
        wake = self._ctx.wake
        if wake is None or self._wake_pending:
            return
        wait = self._woken_at + WAKE_SECONDS - time.monotonic()
        if wait <= 0:
            self._woken_at = time.monotonic()
            wake()
            return

        def later() -> None:
            self._wake_pending = False
            self._woken_at = time.monotonic()
            wake()

        self._wake_pending = True
        asyncio.get_running_loop().call_later(wait, later)


class PushDesk:
    """What the push routes share, made on the server's loop at the first ping."""

    def __init__(self, ctx: WebContext) -> None:
        self.book = TokenBook(ctx)
        self.limits = RateLimits()
        self.batch = PingBatch(ctx)


def desk(request: Request) -> PushDesk:
    state = request.app.state
    found: PushDesk | None = getattr(state, "push_desk", None)
    if found is None:
        found = state.push_desk = PushDesk(state.web)
    return found


async def _ping(request: Request, token: str, kind: PingKind, msg: str | None) -> Response:
    push = desk(request)
    try:
        name = await push.book.find(token)
    except Exception as error:  # never through the generic handler: it logs the path
        log.error("could not read push tokens: %s", error)
        return problem(503, "push monitors are unavailable: the database could not be read; retry")
    if name is None:
        return problem(404, UNKNOWN)
    wait = push.limits.take(name, time.monotonic())
    if wait:
        return problem(429, f"too many pings for this monitor: at most {RATE:g} a second (bursts of {BURST})"
                            "; retry later", headers={"Retry-After": str(max(1, math.ceil(wait)))})
    message = None
    if kind is PingKind.FAIL:  # a success's or a start's message is accepted and not kept
        if msg is None and request.method == "POST":
            msg = (await request.body()).decode("utf-8", errors="replace")
        message = clean_message(msg)
    try:
        await push.batch.store(name, kind, message)
    except Exception:
        return problem(503, "the ping could not be stored (the database is busy or failing); retry")
    return json_response({"ok": True})


def _fast(kind: PingKind) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        msg = request.query_params.get("msg") if kind is PingKind.FAIL else None
        return await _ping(request, request.path_params["token"], kind, msg)

    return endpoint


async def push_elsewhere(request: Request) -> Response:
    """Other methods and paths under /push/, answered without repeating the path (it holds a token)."""
    parts = request.path_params["rest"].split("/")
    if parts[0] and (len(parts) == 1 or (len(parts) == 2 and parts[1] in ("fail", "start"))):
        return problem(405, f"{request.method} is not allowed on a push URL; use GET or POST",
                       headers={"Allow": ", ".join(PING_METHODS)})
    return problem(404, "no such push URL; use /push/<token>, /push/<token>/fail or /push/<token>/start")


# The pings' routes are plain Starlette routes: FastAPI's parameter handling cost more than the
# rest of a ping together (about 150 µs of 330 here). The same paths follow as FastAPI routes, so
# that the OpenAPI document (/docs) describes them; the plain routes match first and answer.
router.routes.extend([
    Route("/push/{token}", _fast(PingKind.SUCCESS), methods=PING_METHODS),
    Route("/push/{token}/fail", _fast(PingKind.FAIL), methods=PING_METHODS),
    Route("/push/{token}/start", _fast(PingKind.START), methods=PING_METHODS),
    Route("/push/{rest:path}", push_elsewhere, methods=ALL_METHODS),
])


def _document(path: str, kind: PingKind, summary: str, description: str) -> None:
    """The same path as a FastAPI route per method, for the OpenAPI document (/docs) only."""
    async def documented(token: str, request: Request, msg: str | None = None) -> Response:
        return await _ping(request, token, kind, msg)

    for method in ("GET", "POST"):
        router.add_api_route(path, documented, methods=[method], summary=summary, description=description,
                             operation_id=f"push_{kind}_{method.lower()}",
                             responses=problems(404, 413, 429, 503))


_document("/push/{token}", PingKind.SUCCESS, "A push monitor's job succeeded",
          "Records a success. A run started with /start is measured to this success and is `degraded` "
          "beyond the monitor's `degraded_after`. A `msg` is accepted and not kept.")
_document("/push/{token}/fail", PingKind.FAIL, "A push monitor's job failed",
          "Records a failure: `msg` (or a POST body) becomes the check's reason.")
_document("/push/{token}/start", PingKind.START, "A push monitor's job started",
          "Records a start: no state change; the next success measures the run's duration. A `msg` is "
          "accepted and not kept.")
