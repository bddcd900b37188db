"""HTTP/1.1 on a bare `asyncio.Protocol`: request parsing, responses, one connection's life.

Speed matters (`shiptrack bench` must measure ShipTrack, not its target), so the common path
parses a request and writes a ready-made response inside `data_received`: no task, no thread
per connection. Only delayed, dripped or held answers schedule anything, and then a single
`call_later` handle. Requests on one connection are answered in order (keep-alive, pipelining).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from http import HTTPStatus
from typing import Final, Protocol
from urllib.parse import unquote

__all__ = ["Connection", "Host", "Request", "build_response"]

MAX_HEAD: Final = 64 * 1024
MAX_REQUEST_BODY: Final = 8 * 1024 * 1024

_REASONS: Final = {s.value: s.phrase.encode("latin-1") for s in HTTPStatus}
_NO_BODY_STATUS: Final = frozenset({204, 304})


@dataclass(slots=True)
class Request:
    """One parsed request; `key` is the path without its leading and trailing slashes."""

    method: str
    path: str
    query: str
    headers: list[tuple[bytes, bytes]]
    body: bytes
    keep_alive: bool

    @property
    def key(self) -> str:
        return self.path.strip("/")


def build_response(status: int, body: bytes = b"", *, keep_alive: bool = True, head: bool = False,
                   content_type: bytes = b"text/plain; charset=utf-8",
                   length: int | None = None) -> bytes:
    """Serialise a complete HTTP/1.1 response with a Content-Length (none for 204/304)."""
    reason = _REASONS.get(status, b"Status")
    lines = [b"HTTP/1.1 %d %s\r\nServer: shiptrack-demo\r\n" % (status, reason)]
    if status not in _NO_BODY_STATUS:
        lines.append(b"Content-Type: %s\r\nContent-Length: %d\r\n"
                     % (content_type, len(body) if length is None else length))
    else:
        body = b""
    if not keep_alive:
        lines.append(b"Connection: close\r\n")
    lines.append(b"\r\n")
    if not head:
        lines.append(body)
    return b"".join(lines)


OK_KEEP: Final = build_response(200, b"ok")
OK_CLOSE: Final = build_response(200, b"ok", keep_alive=False)



class Host(Protocol):
    """What a connection needs from its server: registries of connections and a dispatcher."""

    live: set[Connection]
    held: set[Connection]

    def dispatch(self, conn: Connection, req: Request, counted: bool = False) -> None: ...


class Connection(asyncio.Protocol):
    """One client connection: parses requests in order and answers them one at a time."""

    __slots__ = ("_buf", "_busy", "_closed", "_handle", "_paused", "_pending", "_server",
                 "last_active", "transport")

    def __init__(self, server: Host) -> None:
        self._server = server
        self._buf = bytearray()
        self._busy = False
        self._closed = False
        self._handle: asyncio.TimerHandle | None = None
        self._pending: Request | None = None
        self._paused = False
        self.transport: asyncio.Transport | None = None
        self.last_active = time.monotonic()

    @property
    def busy(self) -> bool:
        """Whether an answer is pending (delayed, dripping or held)."""
        return self._busy

    @property
    def pending(self) -> Request | None:
        """The request held by `hang`, if any."""
        return self._pending

    # asyncio callbacks -------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self._server.live.add(self)

    def data_received(self, data: bytes) -> None:
        self.last_active = time.monotonic()
        self._buf += data
        if not self._busy:
            self._process()
        elif len(self._buf) > MAX_HEAD + MAX_REQUEST_BODY and self.transport is not None:
            self._paused = True  # a client pipelining far ahead of a slow answer
            self.transport.pause_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self._cancel()
        self._server.live.discard(self)
        self._server.held.discard(self)

    def eof_received(self) -> bool | None:
        return None  # close once the peer half-closes; nothing more can be asked

    # parsing ---------------------------------------------------------------------------------
    def _process(self) -> None:
        buf = self._buf
        while not self._busy and not self._closed and buf:
            while buf[:2] == b"\r\n":  # RFC 9112 §2.2: ignore empty lines before a request
                del buf[:2]
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > MAX_HEAD:
                    self._fail(431)
                return
            lines = bytes(buf[:end]).split(b"\r\n")
            parts = lines[0].split(b" ")
            if len(parts) != 3 or not parts[2].startswith(b"HTTP/1."):
                self._fail(400)
                return
            method, target, version = parts
            headers: list[tuple[bytes, bytes]] = []
            length = 0
            connection = b""
            for line in lines[1:]:
                name, sep, value = line.partition(b":")
                if not sep:
                    self._fail(400)
                    return
                name = name.strip().lower()
                value = value.strip()
                headers.append((name, value))
                if name == b"content-length":
                    if not value.isdigit():
                        self._fail(400)
                        return
                    length = int(value)
                elif name == b"connection":
                    connection = value.lower()
                elif name == b"transfer-encoding":
                    self._fail(501)  # monitors send Content-Length bodies; chunked is not needed
                    return
            if length > MAX_REQUEST_BODY:
                self._fail(413)
                return
            total = end + 4 + length
            if len(buf) < total:
                return
            body = bytes(buf[end + 4:total])
            del buf[:total]
            keep_alive = (b"close" not in connection if version == b"HTTP/1.1"
                          else b"keep-alive" in connection)
            path, _, query = target.decode("latin-1").partition("?")
            if not path.startswith("/"):  # absolute-form: http://host/path
                scheme, sep, rest = path.partition("://")
                path = "/" + rest.partition("/")[2] if sep else "/" + scheme
            if "%" in path:
                path = unquote(path)
            self._server.dispatch(
                self, Request(method.decode("latin-1"), path, query, headers, body, keep_alive))
        if self._paused and not self._busy and not self._closed and self.transport is not None:
            self._paused = False
            self.transport.resume_reading()

    def _fail(self, status: int) -> None:
        self.send(build_response(status, f"{_REASONS.get(status, b'').decode()}\n".encode(),
                                 keep_alive=False), keep_alive=False)

    # answering -------------------------------------------------------------------------------
    def send(self, data: bytes, keep_alive: bool) -> None:
        """Write a whole response; close afterwards unless the connection is kept alive."""
        transport = self.transport
        if self._closed or transport is None:
            return
        transport.write(data)
        self.last_active = time.monotonic()
        if not keep_alive:
            self._closed = True
            self._buf.clear()
            transport.close()

    def send_later(self, delay: float, data: bytes, keep_alive: bool) -> None:
        """Answer after `delay` seconds; later pipelined requests wait their turn."""
        self._busy = True
        self._handle = asyncio.get_running_loop().call_later(delay, self._finish, data, keep_alive)

    def drip(self, head: bytes, body: bytes, interval: float, keep_alive: bool) -> None:
        """Send the head now, then the body one byte every `interval` seconds."""
        self.send(head, keep_alive=True)
        self._busy = True
        self._drip_next(body, 0, interval, keep_alive)

    def _drip_next(self, body: bytes, i: int, interval: float, keep_alive: bool) -> None:
        if i >= len(body):
            self._finish(b"", keep_alive)
            return
        self.send(body[i:i + 1], keep_alive=True)
        self._handle = asyncio.get_running_loop().call_later(
            interval, self._drip_next, body, i + 1, interval, keep_alive)

    def hang(self, request: Request) -> None:
        """Hold `request` unanswered until its override changes (see `DemoTargets.set_up`)."""
        self._busy = True
        self._pending = request
        self._server.held.add(self)

    def release(self) -> None:
        """Re-dispatch a held request under the current overrides."""
        request, self._pending = self._pending, None
        self._busy = False
        self._server.held.discard(self)
        if request is not None and not self._closed:
            self._server.dispatch(self, request, counted=True)
            self._process()

    def _finish(self, data: bytes, keep_alive: bool) -> None:
        self._handle = None
        self._busy = False
        if data or not keep_alive:
            self.send(data, keep_alive)
        self._process()

    def _cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def close(self) -> None:
        self._cancel()
        if self.transport is not None:
            self.transport.close()

