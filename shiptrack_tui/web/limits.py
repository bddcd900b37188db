"""Request bodies are capped (64 KiB): a declared length over the cap is refused before the app
runs, and a chunked body is cut off as soon as it passes the cap; both answer 413 in JSON."""

from __future__ import annotations

from typing import Final

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shiptrack_tui.web.responses import problem

MAX_BODY_BYTES: Final = 64 * 1024


def _too_large(limit: int) -> str:
    return f"the request body is larger than {limit // 1024} KiB"


class BodyLimit:
    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            status = 413 if declared.isdigit() else 400
            message = _too_large(self.limit) if status == 413 else "the Content-Length header is not a number"
            await problem(status, message)(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    # Raised inside the route's body read: the error handlers answer it in JSON.
                    raise HTTPException(413, _too_large(self.limit))
            return message

        await self.app(scope, counted, send)
