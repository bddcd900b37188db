"""The TCP exchange of one check: open a connection to tcp://host:port, then close it cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import time
from urllib.parse import urlsplit


def tcp_target(url: str) -> tuple[str, int]:
    """`tcp://db.internal:5432` → ("db.internal", 5432); ValueError names what is missing."""
    parts = urlsplit(url)
    if parts.scheme != "tcp" or not parts.hostname:
        raise ValueError(f"invalid TCP target {url!r}: expected tcp://host:port")
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"invalid TCP target {url!r}: the port must be 1-65535") from exc
    if port is None:
        raise ValueError(f"invalid TCP target {url!r}: expected tcp://host:port")
    return parts.hostname, port


async def connect(host: str, port: int, local_address: str | None = None) -> float:
    """Open one connection and close it; return the connect time in ms. The caller holds the deadline.

    `local_address`: the local IP the connection leaves from (any free port), None for the OS's choice.
    """
    started = time.perf_counter()
    local = None if local_address is None else (local_address, 0)
    _reader, writer = await asyncio.open_connection(host, port, local_addr=local)
    latency_ms = (time.perf_counter() - started) * 1000
    writer.close()
    # A peer resetting a connection we were closing anyway changes nothing: the port accepted.
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return latency_ms
