"""Real loopback servers that misbehave in the ways the probes must name (127.0.0.1 only).

Each server is an async context manager yielding its port; its handler gets the raw streams after
the request head has been read, so a test can answer in any broken way it likes.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import struct
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

TLS_DIR = Path(__file__).parent / "fixtures" / "tls"

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, "Request"], Awaitable[None]]


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Seen:
    """What a server saw, for assertions: requests in order, connections accepted, peak concurrency."""

    requests: list[Request] = field(default_factory=list)
    connections: int = 0
    open_now: int = 0
    peak_open: int = 0


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    body = await reader.readexactly(length) if length else b""
    return Request(method, path, headers, body)


def response(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> bytes:
    lines = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def server_tls(name: str) -> ssl.SSLContext:
    """A server context presenting tests/fixtures/tls/<name>.pem (key + chain)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(TLS_DIR / f"{name}.pem")
    return ctx


def client_trusting_test_ca() -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(TLS_DIR / "ca.pem"))


@asynccontextmanager
async def serve(
    handler: Handler,
    tls: ssl.SSLContext | None = None,
    seen: Seen | None = None,
    greet: bytes | None = None,
) -> AsyncIterator[int]:
    """Serve `handler` on 127.0.0.1; yield the port. Handler tasks are cancelled on exit.

    `greet` is written as soon as a connection is accepted, before reading anything (a server that
    speaks first, such as plain HTTP bytes meeting a TLS ClientHello).
    """
    seen = seen if seen is not None else Seen()
    tasks: set[asyncio.Task[None]] = set()

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        seen.connections += 1
        seen.open_now += 1
        seen.peak_open = max(seen.peak_open, seen.open_now)
        try:
            if greet is not None:
                writer.write(greet)
                await writer.drain()
            request = await read_request(reader)
            if request is not None:
                seen.requests.append(request)
                await handler(reader, writer, request)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            # Python 3.11's start_server callback logs a cancelled handler task as an error; a
            # handler stopped at shutdown ends quietly instead.
            pass
        finally:
            seen.open_now -= 1
            tasks.discard(task)
            writer.close()  # not awaited: awaiting here could be cancelled outside the except above

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0, ssl=tls)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()


def refused_port() -> int:
    """A loopback port with nothing listening (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def unaccepting_port() -> Iterator[int]:
    """A port whose accept queue is full, so a new connection's handshake never completes."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    try:
        for _ in range(4):  # fill the SYN/accept backlog so later SYNs are dropped
            filler = socket.socket()
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect(("127.0.0.1", port))
            fillers.append(filler)
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


# --- handlers -------------------------------------------------------------------------------------


def answer(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> Handler:
    async def handle(_r: asyncio.StreamReader, writer: asyncio.StreamWriter, _q: Request) -> None:
        writer.write(response(status, body, headers))
        await writer.drain()

    return handle


async def never_answer(reader: asyncio.StreamReader, _w: asyncio.StreamWriter, _q: Request) -> None:
    await asyncio.sleep(3600)


def drip(head_first: bool, interval: float = 0.05) -> Handler:
    """Send a response one byte every `interval`, forever: the status line itself, or the body."""

    async def handle(_r: asyncio.StreamReader, writer: asyncio.StreamWriter, _q: Request) -> None:
        if not head_first:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
        payload = b"HTTP/1.1 200 OK\r\n" if head_first else b"x" * 100000
        for byte in payload:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(interval)
        await asyncio.sleep(3600)

    return handle


async def reset(_r: asyncio.StreamReader, writer: asyncio.StreamWriter, _q: Request) -> None:
    """Close with SO_LINGER 0: the kernel sends RST instead of FIN."""
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def close_silently(_r: asyncio.StreamReader, writer: asyncio.StreamWriter, _q: Request) -> None:
    writer.close()


async def garbage(_r: asyncio.StreamReader, writer: asyncio.StreamWriter, _q: Request) -> None:
    writer.write(b"SSH-2.0-OpenSSH_9.6 this is not HTTP\r\n\r\n")
    await writer.drain()


async def redirect_loop(_r: asyncio.StreamReader, writer: asyncio.StreamWriter, q: Request) -> None:
    hop = int(q.path.strip("/") or 0) + 1
    writer.write(response(302, headers={"Location": f"/{hop}"}))
    await writer.drain()


def redirect_chain(hops: int, final: bytes = b"arrived") -> Handler:
    async def handle(_r: asyncio.StreamReader, writer: asyncio.StreamWriter, q: Request) -> None:
        hop = int(q.path.strip("/") or 0)
        if hop < hops:
            writer.write(response(302, headers={"Location": f"/{hop + 1}"}))
        else:
            writer.write(response(200, final))
        await writer.drain()

    return handle


def chunked(total: int, chunk: int = 64 * 1024) -> Handler:
    """A body of `total` bytes with no Content-Length: only streaming can cap it."""

    async def handle(_r: asyncio.StreamReader, writer: asyncio.StreamWriter, _q: Request) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
        sent = 0
        while sent < total:
            size = min(chunk, total - sent)
            writer.write(f"{size:x}\r\n".encode() + b"y" * size + b"\r\n")
            await writer.drain()
            sent += size
        writer.write(b"0\r\n\r\n")
        await writer.drain()

    return handle


@dataclass
class Sent:
    """How much of a body a handler managed to send before the client hung up, and whether it ended."""

    bytes: int = 0
    finished: bool = False
    done: asyncio.Event = field(default_factory=asyncio.Event)


def big_page(total: int, marker: bytes, marker_at: int, sent: Sent, declare_length: bool) -> Handler:
    """A `total`-byte page of dots with `marker` at offset `marker_at`, sent in 64 KiB writes.

    With `declare_length` the size is announced (Content-Length), otherwise the body is chunked.
    """
    body = bytearray(b"." * total)
    body[marker_at : marker_at + len(marker)] = marker
    piece = 64 * 1024

    async def handle(_r: asyncio.StreamReader, writer: asyncio.StreamWriter, _q: Request) -> None:
        try:
            framing = f"Content-Length: {total}" if declare_length else "Transfer-Encoding: chunked"
            writer.write(f"HTTP/1.1 200 OK\r\n{framing}\r\nConnection: close\r\n\r\n".encode())
            for start in range(0, total, piece):
                data = bytes(body[start : start + piece])
                writer.write(data if declare_length else f"{len(data):x}\r\n".encode() + data + b"\r\n")
                await writer.drain()
                sent.bytes += len(data)
            if not declare_length:
                writer.write(b"0\r\n\r\n")
            await writer.drain()
            sent.finished = True
        finally:
            sent.done.set()

    return handle
