"""One access-log line per request, through our logging (`shiptrack.http.access`, debug level:
`shiptrack --daemon -v` shows them). Never the Authorization header, never a query string, and
paths that carry a secret (push tokens, DESIGN §11) are cut after their prefix."""

from __future__ import annotations

import logging
import time
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("shiptrack.http.access")

SECRET_PATH_PREFIXES: list[str] = ["/push/"]
"""A router whose paths carry a secret adds its prefix here; the rest of such a path is never logged."""
REDACTED: Final = "…"


def loggable_path(path: str) -> str:
    for prefix in SECRET_PATH_PREFIXES:
        if path.startswith(prefix):
            return prefix + REDACTED
    return path


class AccessLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not log.isEnabledFor(logging.DEBUG):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0

        async def watched(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watched)
        finally:
            client = scope.get("client")
            log.debug("%s %s %s %.1fms %s", scope["method"], loggable_path(scope["path"]), status or 500,
                      (time.perf_counter() - started) * 1000, client[0] if client else "-")
