"""The HTTP(S) exchange of one check: request, redirects, capped streamed body, certificate expiry.

The caller owns the deadline (`asyncio.timeout` around all of this); here we only speak HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp
from yarl import URL

from shiptrack_tui.core.model import MonitorSpec
from shiptrack_tui.probes.certs import days_left
from shiptrack_tui.probes.errors import BadRedirect, TooManyRedirects
from shiptrack_tui.probes.pool import MAX_REDIRECTS, CertReadingResponse

REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
# Headers that must not follow a redirect to another origin (credentials), or to a GET (the body's).
_CREDENTIALS = frozenset({"authorization", "cookie", "host"})
_BODY_HEADERS = frozenset({"content-length", "transfer-encoding"})


@dataclass(frozen=True, slots=True)
class HttpSeen:
    status_code: int
    body: bytes | None
    cert_days_left: int | None
    body_truncated: bool = False


@dataclass(slots=True)
class Hop:
    """The request on the wire now: where a failure happened, for the operator's message."""

    method: str
    url: URL
    headers: list[tuple[str, str]]
    body: bytes | None


def _min_days(current: int | None, new: int | None) -> int | None:
    if new is None:
        return current
    return new if current is None else min(current, new)


def _status_expected(spec: MonitorSpec, code: int) -> bool:
    return any(code in r for r in spec.expect_status)


def _origin(url: URL) -> tuple[str | None, str | None, int | None]:
    return url.scheme, url.host, url.port


def next_hop(hop: Hop, status: int, location: str) -> Hop:
    """The request a redirect asks for, as browsers and httpx follow it.

    303 turns anything but HEAD into a GET, 301/302 turn a POST into a GET (what every browser
    does); 307/308 keep the method and the body. Credentials stay with their origin, except on an
    upgrade from http to https of the same host.
    """
    try:
        target = hop.url.join(URL(location))
    except ValueError as exc:
        raise BadRedirect(f"invalid redirect location {location!r}") from exc
    if target.scheme not in ("http", "https") or not target.host:
        raise BadRedirect(f"invalid redirect location {location!r}")
    method, body, headers = hop.method, hop.body, hop.headers
    if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
        method, body = "GET", None
        headers = [(k, v) for k, v in headers if k.lower() not in _BODY_HEADERS]
    upgrade = hop.url.scheme == "http" and target.scheme == "https" and hop.url.host == target.host
    if _origin(target) != _origin(hop.url) and not upgrade:
        headers = [(k, v) for k, v in headers if k.lower() not in _CREDENTIALS]
    return Hop(method, target, headers, body)


async def _read_capped(response: aiohttp.ClientResponse, cap: int) -> tuple[bytes, bool]:
    """The first `cap` bytes of the body, and whether there was more.

    Reading stops at the cap: leaving the response unread makes aiohttp close the connection, so
    the rest is never downloaded (cheaper than draining a big page).
    """
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_any():
        room = cap - size
        if len(chunk) > room:
            chunks.append(chunk[:room])
            return b"".join(chunks), True
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks), False


async def _drain(response: aiohttp.ClientResponse, cap: int) -> None:
    """Read and drop a body so its connection can be reused; give up (and lose it) past `cap`."""
    size = 0
    async for chunk in response.content.iter_any():
        size += len(chunk)
        if size > cap:
            return


def _cert_days(response: aiohttp.ClientResponse, now: float) -> int | None:
    expires = response.peer_expires_at if isinstance(response, CertReadingResponse) else None
    return None if expires is None else days_left(expires, now)


async def exchange(spec: MonitorSpec, session: aiohttp.ClientSession, now: float, hop: Hop,
                   drain: bool = False) -> HttpSeen:
    """Send `hop` (the monitor's request), follow up to MAX_REDIRECTS redirects, read what it asks for.

    Redirects are followed here rather than by aiohttp so that every HTTPS hop's certificate is
    read while its connection is open; the soonest expiry is reported, since any hop breaks the
    check. `hop` is updated in place, so a failure names the hop that failed. With `drain`, unread
    bodies are read and dropped so that a keep-alive connection survives.
    """
    days: int | None = None
    for _hop in range(MAX_REDIRECTS + 1):
        async with session.request(hop.method, hop.url, headers=hop.headers, data=hop.body,
                                   allow_redirects=False) as response:
            days = _min_days(days, _cert_days(response, now))
            location = response.headers.get("Location") if response.status in REDIRECT_CODES else None
            if location is None:
                body, truncated = None, False
                if spec.wants_body and _status_expected(spec, response.status):
                    body, truncated = await _read_capped(response, spec.max_body_bytes)
                elif drain:
                    await _drain(response, spec.max_body_bytes)
                return HttpSeen(response.status, body, days, truncated)
            if drain:
                await _drain(response, spec.max_body_bytes)
        following = next_hop(hop, response.status, location)
        hop.method, hop.url = following.method, following.url
        hop.headers, hop.body = following.headers, following.body
    raise TooManyRedirects("too many redirects")


def first_hop(spec: MonitorSpec) -> Hop:
    """The monitor's own request, before any redirect."""
    body = spec.body.encode() if spec.body is not None else None
    return Hop(spec.method, URL(spec.url), list(spec.headers), body)
