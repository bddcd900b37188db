"""The engine's HTTP clients: a few long-lived httpx.AsyncClients, monitors sharded across them.

Why a pool (DESIGN §8, §9):
- Building an AsyncClient costs 25–33 ms of CPU, nearly all of it loading the CA bundle into an
  SSLContext. We build that context once and share it, and build each client once per engine.
- One AsyncClient slows sharply with many requests in flight: httpcore re-scans every queued
  request against every connection on each event (quadratic in what is in flight). So each
  monitor is pinned to one of `clients` clients by a stable hash of its name, and each client
  carries at most `max_connections_per_client` checks at a time. A check waits for its slot
  *before* its deadline and latency clock start: local queueing is the engine's lateness, never
  the target's downtime.

Connections are fresh per check by default (`keepalive=False`): an uptime check should see what a
new visitor sees, so it resolves DNS, opens TCP and does the TLS handshake every time. Keep-alive
hides a broken accept path or a dead TLS listener behind an old connection, reports the certificate
of the connection's first handshake after a renewal, makes latency bimodal, and races servers that
close idle connections between two checks (false "connection closed" failures). It is not even
cheaper at our concurrency: httpcore 1.0 re-scans every pooled connection for each idle one on every
request, so idle keep-alive connections make each request cost more as the pool grows. Measured
here, 200 checks in flight on loopback, client CPU per check: fresh 8×32 0.58–0.74 ms, keep-alive
8×32 1.5 ms, keep-alive 1×200 2.8–4.0 ms, a default AsyncClient 2.7–2.8 ms. `keepalive=True`
remains for benchmarks (bodies are then drained so a connection can be reused).
"""

from __future__ import annotations

import asyncio
import ssl
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Final

import httpx

from shiptrack_tui import __version__

USER_AGENT: Final = f"ShipTrack/{__version__}"
MAX_REDIRECTS: Final = 10


def default_ssl_context(verify: ssl.SSLContext | bool = True) -> ssl.SSLContext:
    """The context every client shares: certifi's CA bundle (as httpx would load it), or none."""
    if isinstance(verify, ssl.SSLContext):
        return verify
    return httpx.create_ssl_context(verify=verify, trust_env=False)


@dataclass(slots=True)
class _Shard:
    client: httpx.AsyncClient
    slots: asyncio.Semaphore
    in_flight: int = field(default=0)


class ClientPool:
    """Long-lived HTTP clients for one engine; `lease(name)` lends the monitor's client."""

    def __init__(
        self,
        clients: int = 8,
        max_connections_per_client: int = 32,
        verify: ssl.SSLContext | bool = True,
        keepalive: bool = False,
        trust_env: bool = False,
        local_address: str | None = None,
    ) -> None:
        if clients < 1 or max_connections_per_client < 1:
            raise ValueError("a ClientPool needs at least one client and one connection per client")
        self.size = clients
        self.max_connections_per_client = max_connections_per_client
        self.keepalive = keepalive
        self._trust_env = trust_env
        self.local_address = local_address
        """The local IP every check leaves from (`[cluster] source_address`); None: the OS picks."""
        self._ssl_context = default_ssl_context(verify)
        self._shards: list[_Shard | None] = [None] * clients
        self._closed = False

    def shard_of(self, name: str) -> int:
        """A stable shard per monitor name (crc32, not hash(): that changes per process)."""
        return zlib.crc32(name.encode()) % self.size

    def _shard(self, index: int) -> _Shard:
        shard = self._shards[index]
        if shard is None:
            limit = self.max_connections_per_client
            limits = httpx.Limits(
                max_connections=limit,
                max_keepalive_connections=limit if self.keepalive else 0,
            )
            # A transport of our own only to bind the source address: the client would build the
            # same one from the same verify/limits/trust_env otherwise.
            transport = None if self.local_address is None else httpx.AsyncHTTPTransport(
                verify=self._ssl_context, limits=limits, trust_env=self._trust_env,
                local_address=self.local_address)
            client = httpx.AsyncClient(
                verify=self._ssl_context,
                # Our own asyncio.timeout is the one deadline per check; httpx's per-phase
                # timeouts would only race it with a less useful message.
                timeout=httpx.Timeout(None),
                limits=limits,
                transport=transport,
                headers={"User-Agent": USER_AGENT},
                follow_redirects=False,  # the probe follows them itself, to read each hop's cert
                trust_env=self._trust_env,
            )
            shard = self._shards[index] = _Shard(client, asyncio.Semaphore(limit))
        return shard

    @asynccontextmanager
    async def lease(self, name: str) -> AsyncIterator[httpx.AsyncClient]:
        """Wait for a free slot on the monitor's client and lend the client for one check."""
        if self._closed:
            raise RuntimeError("this ClientPool is closed")
        shard = self._shard(self.shard_of(name))
        async with shard.slots:
            shard.in_flight += 1
            try:
                yield shard.client
            finally:
                shard.in_flight -= 1

    @property
    def capacity(self) -> int:
        """How many HTTP checks can be on the wire at once; more wait for a slot."""
        return self.size * self.max_connections_per_client

    def in_flight(self) -> int:
        """Checks currently holding a slot, across all clients."""
        return sum(shard.in_flight for shard in self._shards if shard is not None)

    async def aclose(self) -> None:
        """Close every client; idempotent."""
        self._closed = True
        shards, self._shards = self._shards, [None] * self.size
        for shard in shards:
            if shard is not None:
                await shard.client.aclose()

    async def __aenter__(self) -> ClientPool:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
