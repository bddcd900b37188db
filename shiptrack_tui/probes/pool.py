"""The engine's HTTP client: one long-lived aiohttp session and a bound on checks on the wire.

Why aiohttp and not httpx (DESIGN §8, §9): the HTTP exchange is most of an engine's CPU per check.
Measured here (`python -m shiptrack_tui.bench --scenario pipeline`, and a bare loop of fresh-
connection GETs on loopback, 64 in flight), client CPU per request: aiohttp 0.31–0.44 ms, httpx
0.85–0.91 ms (httpx's pure-Python HTTP/1.1 parser, httpcore's pool and anyio's cancel scopes on
every read and write; a native asyncio network backend under httpcore saved under 5 %). aiohttp
parses HTTP in C and speaks to asyncio directly, and it is already installed: textual-serve (the
dashboard in a browser) is built on it.

- Building the SSLContext costs 25–33 ms of CPU, nearly all of it loading the CA bundle: it is
  built once per pool and shared.
- A check waits for its slot *before* its deadline and latency clock start: local queueing is the
  engine's lateness, never the target's downtime. `max_in_flight` checks may be on the wire at
  once (the engine's default bound on checks in flight).

Connections are fresh per check by default (`keepalive=False`): an uptime check should see what a
new visitor sees, so it resolves DNS (no resolver cache), opens TCP and does the TLS handshake every
time. Keep-alive hides a broken accept path or a dead TLS listener behind an old connection,
reports the certificate of the connection's first handshake after a renewal, makes latency bimodal,
and races servers that close idle connections between two checks (false "connection closed"
failures). `keepalive=True` remains for benchmarks (bodies are then drained so a connection can be
reused). No cookie jar: one check's cookies must not ride along on another monitor's request.
"""

from __future__ import annotations

import asyncio
import ssl
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Final

import aiohttp
import certifi

from shiptrack_tui import __version__
from shiptrack_tui.probes.certs import not_after

USER_AGENT: Final = f"ShipTrack/{__version__}"
MAX_REDIRECTS: Final = 10
# aiohttp's default cap on one header line is 8 KiB; real sites send longer CSP and cookie headers,
# which must not turn into a failed check (h11, which we used before, allowed 16 KiB per event).
MAX_HEADER_BYTES: Final = 64 * 1024
# A server that never answers our TLS close_notify holds the connection for asyncio's 30 s shutdown
# timeout, and before CPython 3.12.8 / 3.13.1 (python/cpython#118960) one whose peer dropped TCP
# during that wait was never released at all. With a fresh connection per check that piles up, so
# aiohttp aborts such transports after two seconds when asked (it refuses the flag where fixed).
CLEANUP_CLOSED_TLS: Final = sys.version_info < (3, 12, 8) or (3, 13, 0) <= sys.version_info < (3, 13, 1)


def default_ssl_context(verify: ssl.SSLContext | bool = True) -> ssl.SSLContext:
    """The context every check shares: certifi's CA bundle, or no verification at all."""
    if isinstance(verify, ssl.SSLContext):
        return verify
    if verify:
        return ssl.create_default_context(cafile=certifi.where())
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class CertReadingResponse(aiohttp.ClientResponse):
    """A response that keeps its TLS peer's expiry, read while the connection is certainly open.

    aiohttp hands an empty body's connection back before `request()` returns, so reading the
    certificate afterwards would miss every HEAD, 204 and redirect; `start` is the one moment a
    response holds its live connection.
    """

    peer_expires_at: float | None = None

    async def start(self, connection: Any) -> aiohttp.ClientResponse:
        transport = connection.transport
        ssl_object = transport.get_extra_info("ssl_object") if transport is not None else None
        if ssl_object is not None:
            self.peer_expires_at = not_after(ssl_object)
        return await super().start(connection)


class ClientPool:
    """One HTTP session for one engine; `lease(name)` lends it to a check once a slot is free."""

    def __init__(
        self,
        max_in_flight: int = 256,
        verify: ssl.SSLContext | bool = True,
        keepalive: bool = False,
        trust_env: bool = False,
        local_address: str | None = None,
    ) -> None:
        if max_in_flight < 1:
            raise ValueError("a ClientPool needs room for at least one check")
        self.capacity = max_in_flight
        """How many HTTP checks can be on the wire at once; more wait for a slot."""
        self.keepalive = keepalive
        self._trust_env = trust_env
        self.local_address = local_address
        """The local IP every check leaves from (`[cluster] source_address`); None: the OS picks."""
        self._ssl_context = default_ssl_context(verify)
        self._session: aiohttp.ClientSession | None = None
        self._slots = asyncio.Semaphore(max_in_flight)
        self._in_flight = 0
        self._closed = False

    def _open(self) -> aiohttp.ClientSession:
        """The session, built on first use: aiohttp wants a running event loop for it."""
        if self._session is None:
            connector = aiohttp.TCPConnector(
                ssl=self._ssl_context,
                limit=0,  # our slots are the bound; a second queue inside aiohttp would hide waits
                force_close=not self.keepalive,
                use_dns_cache=False,
                enable_cleanup_closed=CLEANUP_CLOSED_TLS,
                local_addr=None if self.local_address is None else (self.local_address, 0),
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                headers={"User-Agent": USER_AGENT},
                # Our own asyncio.timeout is the one deadline per check; aiohttp's default
                # five-minute total would only race it with a less useful message.
                timeout=aiohttp.ClientTimeout(total=None),
                cookie_jar=aiohttp.DummyCookieJar(),
                trust_env=self._trust_env,
                response_class=CertReadingResponse,
                max_line_size=MAX_HEADER_BYTES,
                max_field_size=MAX_HEADER_BYTES,
            )
        return self._session

    @asynccontextmanager
    async def lease(self, name: str) -> AsyncIterator[aiohttp.ClientSession]:
        """Wait for a free slot and lend the session for one check (`name`: whose check it is)."""
        if self._closed:
            raise RuntimeError("this ClientPool is closed")
        session = self._open()
        async with self._slots:
            self._in_flight += 1
            try:
                yield session
            finally:
                self._in_flight -= 1

    def in_flight(self) -> int:
        """Checks currently holding a slot."""
        return self._in_flight

    async def aclose(self) -> None:
        """Close the session; idempotent."""
        self._closed = True
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def __aenter__(self) -> ClientPool:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
