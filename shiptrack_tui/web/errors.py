"""Every failure answers in JSON with the right status, never a stack trace (issue #13).

- unknown routes (404) and methods (405), and `HTTPException`s raised by routes, keep their status;
- bad parameters and bodies are 422 with each problem's place and reason (never the input echoed);
- a database that is unreachable or busy (a PostgreSQL restart or failover, a lock held too long)
  is 503 with Retry-After, logged without a traceback: the request may simply be repeated;
- anything else is logged once with its traceback and answered with a generic 500.
Starlette re-raises an unhandled exception after its 500 has been sent, "so the server can log it";
`Shielded`, the outermost layer, swallows that second copy: the handler here has logged it.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shiptrack_tui.storage.outage import is_transient
from shiptrack_tui.web.responses import problem

log = logging.getLogger("shiptrack.http")

RETRY_AFTER_SECONDS = 5


def _where(location: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in location) or "request"


def _validation_details(error: RequestValidationError) -> list[dict[str, str]]:
    return [{"where": _where(tuple(e.get("loc", ()))), "problem": str(e.get("msg", "invalid"))}
            for e in error.errors()]


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404 and exc.detail == HTTPStatus.NOT_FOUND.phrase:
        message = f"no such route: {request.method} {request.url.path}; /docs lists the routes"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}; /docs lists the methods"
    else:
        message = str(exc.detail)
    return problem(exc.status_code, message, headers=getattr(exc, "headers", None))


async def _invalid_request(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    details = _validation_details(exc)
    summary = "; ".join(f"{d['where']}: {d['problem']}" for d in details[:3])
    return problem(422, f"invalid request: {summary}", details=details)


async def _unexpected(request: Request, exc: Exception) -> Response:
    if is_transient(exc):
        log.debug("HTTP %s %s: the database is away or busy: %s", request.method, request.url.path, exc)
        return problem(503, "the database is unreachable or busy; try again shortly",
                       headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    log.error("HTTP %s %s failed: %s", request.method, request.url.path, type(exc).__name__, exc_info=exc)
    return problem(500, "internal error; the server log has the details")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(Exception, _unexpected)


class Shielded:
    """The outermost ASGI layer: an exception that escaped the app (already answered with a 500
    and logged by `_unexpected`) stops here instead of reaching uvicorn's traceback logger."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception as error:
            if scope["type"] != "http":
                raise
            if not started:  # not answered yet (a failure outside the routes): answer now
                log.error("HTTP request failed before a response: %s", type(error).__name__, exc_info=error)
                await problem(500, "internal error; the server log has the details")(scope, receive, send)
