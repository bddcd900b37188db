"""`probe(spec, pool)`: run one check under one total deadline and report what was seen.

A probe never raises on a network failure: it returns an Observation whose `error` is already
phrased for the operator. The deadline is one `asyncio.timeout` around the whole exchange
(connect, headers, streamed body), so a server dripping a byte at a time cannot hold a check for as
long as it likes (DESIGN §2, §9).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from shiptrack_tui.core.model import MonitorSpec, Observation
from shiptrack_tui.probes.errors import describe, timeout_text
from shiptrack_tui.probes.http import Hop, exchange, first_hop
from shiptrack_tui.probes.pool import ClientPool
from shiptrack_tui.probes.tcp import connect, tcp_target

log = logging.getLogger(__name__)


async def probe(spec: MonitorSpec, pool: ClientPool, clock: Callable[[], float] = time.time) -> Observation:
    """Check one monitor once. `at` is the wall-clock start; latency comes from perf_counter."""
    if spec.kind == "tcp":
        return await _probe_tcp(spec, clock, pool.local_address)
    # The slot is taken before the clock starts: waiting for our own pool is not the target's latency.
    async with pool.lease(spec.name) as client:
        at = clock()
        started = time.perf_counter()
        deadline = asyncio.timeout(spec.timeout)
        hop: Hop | None = None
        try:
            async with deadline:
                hop = first_hop(spec)
                seen = await exchange(spec, client, at, hop, drain=pool.keepalive)
        except Exception as exc:
            error = _failure_text(exc, spec, deadline, _http_host(hop, spec))
            return Observation(at=at, latency_ms=_since(started), error=error)
        latency_ms = _since(started)
    return Observation(
        at=at,
        latency_ms=latency_ms,
        status_code=seen.status_code,
        body=seen.body,
        body_truncated=seen.body_truncated,
        cert_days_left=seen.cert_days_left,
    )


async def _probe_tcp(spec: MonitorSpec, clock: Callable[[], float], local_address: str | None) -> Observation:
    at = clock()
    started = time.perf_counter()
    try:
        host, port = tcp_target(spec.url)
    except ValueError as exc:
        return Observation(at=at, latency_ms=0.0, error=str(exc))
    deadline = asyncio.timeout(spec.timeout)
    try:
        async with deadline:
            latency_ms = await connect(host, port, local_address)
    except Exception as exc:
        return Observation(at=at, latency_ms=_since(started), error=_failure_text(exc, spec, deadline, host))
    return Observation(at=at, latency_ms=latency_ms)


def _since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _http_host(hop: Hop | None, spec: MonitorSpec) -> str | None:
    """The host of the hop that failed (a redirect may lead elsewhere), else the monitor's own."""
    if hop is not None and hop.url.host:
        return hop.url.host
    return urlsplit(spec.url).hostname


def _failure_text(exc: Exception, spec: MonitorSpec, deadline: asyncio.Timeout, host: str | None) -> str:
    if deadline.expired():
        return timeout_text(spec.timeout)
    text = describe(exc, host=host)
    log.debug("check of %s failed: %s (%r)", spec.name, text, exc)
    return text
