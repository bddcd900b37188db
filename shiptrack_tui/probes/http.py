"""The HTTP(S) exchange of one check: request, redirects, capped streamed body, certificate expiry.

The caller owns the deadline (`asyncio.timeout` around all of this); here we only speak HTTP.
"""

from __future__ import annotations

from contextlib import aclosing
from dataclasses import dataclass

import httpx

from shiptrack_tui.core.model import MonitorSpec
from shiptrack_tui.probes.certs import cert_days_left
from shiptrack_tui.probes.pool import MAX_REDIRECTS


@dataclass(frozen=True, slots=True)
class HttpSeen:
    status_code: int
    body: bytes | None
    cert_days_left: int | None
    body_truncated: bool = False


def _min_days(current: int | None, new: int | None) -> int | None:
    if new is None:
        return current
    return new if current is None else min(current, new)


def _status_expected(spec: MonitorSpec, code: int) -> bool:
    return any(code in r for r in spec.expect_status)


async def _read_capped(response: httpx.Response, cap: int) -> tuple[bytes, bool]:
    """The first `cap` bytes of the body, and whether there was more.

    Reading stops at the cap: the caller closes the response, so the rest is never downloaded
    (the connection is dropped rather than reused, which is cheaper than draining a big page).
    """
    chunks: list[bytes] = []
    size = 0
    async with aclosing(response.aiter_bytes()) as stream:
        async for chunk in stream:
            room = cap - size
            if len(chunk) > room:
                chunks.append(chunk[:room])
                return b"".join(chunks), True
            chunks.append(chunk)
            size += len(chunk)
    return b"".join(chunks), False


async def _drain(response: httpx.Response, cap: int) -> None:
    """Read and drop a body so its connection can be reused; give up (and lose it) past `cap`."""
    size = 0
    async for chunk in response.aiter_raw():
        size += len(chunk)
        if size > cap:
            return


async def exchange(spec: MonitorSpec, client: httpx.AsyncClient, now: float, drain: bool = False) -> HttpSeen:
    """Send the monitor's request, follow up to MAX_REDIRECTS redirects, and read what it asks for.

    Redirects are followed here rather than by httpx so that every HTTPS hop's certificate is read
    while its connection is open; the soonest expiry is reported, since any hop breaks the check.
    With `drain`, unread bodies are read and dropped so that a keep-alive connection survives.
    """
    request = client.build_request(
        spec.method,
        spec.url,
        headers=list(spec.headers),
        content=spec.body.encode() if spec.body is not None else None,
    )
    days: int | None = None
    for _hop in range(MAX_REDIRECTS + 1):
        response = await client.send(request, stream=True)
        try:
            if response.url.scheme == "https":  # plain http has no certificate to read
                days = _min_days(days, cert_days_left(response, now))
            next_request = response.next_request
            if next_request is None:
                body, truncated = None, False
                if spec.wants_body and _status_expected(spec, response.status_code):
                    body, truncated = await _read_capped(response, spec.max_body_bytes)
                elif drain:
                    await _drain(response, spec.max_body_bytes)
                return HttpSeen(response.status_code, body, days, truncated)
            if drain:
                await _drain(response, spec.max_body_bytes)
        finally:
            await response.aclose()
        request = next_request
    raise httpx.TooManyRedirects("too many redirects", request=request)
