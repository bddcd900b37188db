"""The HTTP(S) exchange of one check: request, redirects, capped streamed body, certificate expiry.

The caller owns the deadline (`asyncio.timeout` around all of this); here we only speak HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from shiptrack_tui.core.model import MonitorSpec
from shiptrack_tui.probes.certs import cert_days_left
from shiptrack_tui.probes.errors import size_text
from shiptrack_tui.probes.pool import MAX_REDIRECTS


class ProbeFailure(Exception):
    """A failure we detected ourselves and have already phrased for the operator."""


@dataclass(frozen=True, slots=True)
class HttpSeen:
    status_code: int
    body: bytes | None
    cert_days_left: int | None


def _min_days(current: int | None, new: int | None) -> int | None:
    if new is None:
        return current
    return new if current is None else min(current, new)


def _status_expected(spec: MonitorSpec, code: int) -> bool:
    return any(code in r for r in spec.expect_status)


async def _read_capped(response: httpx.Response, cap: int) -> bytes:
    too_large = ProbeFailure(f"body too large (over {size_text(cap)})")
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap and "content-encoding" not in response.headers:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > cap:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


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
                body = None
                if spec.wants_body and _status_expected(spec, response.status_code):
                    body = await _read_capped(response, spec.max_body_bytes)
                elif drain:
                    await _drain(response, spec.max_body_bytes)
                return HttpSeen(response.status_code, body, days)
            if drain:
                await _drain(response, spec.max_body_bytes)
        finally:
            await response.aclose()
        request = next_request
    raise httpx.TooManyRedirects("too many redirects", request=request)
