"""Turn network exceptions into the one-line reasons an operator reads ("connection refused").

aiohttp wraps what the socket said: a TLS failure is a `ClientConnectorCertificateError` whose
`ssl` error sits in `__cause__`, a refused port a `ClientConnectorError` carrying the errno (or an
OSError whose text lists several failed attempts, one per address), and some messages are empty.
So we walk the whole chain and name the most telling cause, falling back to the exception class
when there is no message.
"""

from __future__ import annotations

import errno
import re
import socket
import ssl
from collections.abc import Iterator
from typing import Final

import aiohttp

# OpenSSL X509_V_ERR_* codes, as reported in ssl.SSLCertVerificationError.verify_code.
_CERT_EXPIRED: Final = 10
_CERT_NOT_YET_VALID: Final = 9
_CERT_REVOKED: Final = 23
_HOSTNAME_MISMATCH: Final = 62
_IP_MISMATCH: Final = 64
_UNTRUSTED: Final = frozenset(
    {
        2,  # unable to get issuer certificate
        18,  # self-signed certificate
        19,  # self-signed certificate in chain
        20,  # unable to get local issuer certificate
        21,  # unable to verify the first certificate
        27,  # certificate not trusted
    }
)

_ERRNO_TEXT: Final = {
    errno.ECONNREFUSED: "connection refused",
    errno.ECONNRESET: "connection reset by peer",
    errno.ECONNABORTED: "connection aborted",
    errno.EPIPE: "connection closed by peer (broken pipe)",
    errno.ENETUNREACH: "network unreachable",
    errno.EHOSTUNREACH: "host unreachable",
    errno.ETIMEDOUT: "connection timed out",
    errno.EADDRNOTAVAIL: "cannot assign the address (address not available)",
}

# Python 3.11 asyncio folds several failed connection attempts into one OSError whose text lists them.
_MULTI_ERRNO: Final = re.compile(r"\[Errno (\d+)\]")


class TooManyRedirects(Exception):
    """More than MAX_REDIRECTS redirects in one check."""


class BadRedirect(Exception):
    """A redirect whose Location cannot be followed."""


def timeout_text(seconds: float) -> str:
    """`timeout after 10.0s`, `timeout after 0.25s`: the deadline as the operator configured it."""
    text = f"{float(seconds):.3f}".rstrip("0")
    return f"timeout after {text}0s" if text.endswith(".") else f"timeout after {text}s"


def causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception, then everything behind it (causes, contexts, group members), each once."""
    seen: set[int] = set()
    queue: list[BaseException] = [exc]
    while queue:
        current = queue.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, BaseExceptionGroup):
            queue.extend(current.exceptions)
        for nxt in (current.__cause__, current.__context__):
            if nxt is not None:
                queue.append(nxt)


def _class_words(exc: BaseException) -> str:
    """`ReadError` → `read error`: the operator's text when an exception carries no message."""
    return re.sub(r"(?<!^)(?=[A-Z])", " ", type(exc).__name__).lower()


def _plain(exc: BaseException) -> str:
    message = str(exc).strip()
    return f"{_class_words(exc)}: {message}" if message else _class_words(exc)


def _cert_text(exc: ssl.SSLCertVerificationError) -> str:
    code = exc.verify_code
    message = (exc.verify_message or "").lower()
    if code == _CERT_EXPIRED or "expired" in message:
        return "TLS: certificate has expired"
    if code == _CERT_NOT_YET_VALID or "not yet valid" in message:
        return "TLS: certificate is not yet valid"
    if code in (_HOSTNAME_MISMATCH, _IP_MISMATCH) or "mismatch" in message:
        return "TLS: certificate is for another host"
    if code in _UNTRUSTED or "self-signed" in message or "issuer" in message:
        return "TLS: certificate is not trusted (self-signed or unknown issuer)"
    if code == _CERT_REVOKED:
        return "TLS: certificate has been revoked"
    return f"TLS: certificate rejected ({exc.verify_message or exc})"


def _ssl_text(exc: ssl.SSLError) -> str:
    reason = exc.reason or str(exc) or type(exc).__name__
    return f"TLS: handshake failed ({str(reason).replace('_', ' ').lower()})"


def _oserror_text(exc: OSError) -> str | None:
    if exc.errno in _ERRNO_TEXT:
        return _ERRNO_TEXT[exc.errno]
    codes = {int(code) for code in _MULTI_ERRNO.findall(str(exc))}
    if len(codes) == 1 and (code := codes.pop()) in _ERRNO_TEXT:
        return _ERRNO_TEXT[code]
    return None


def describe(exc: BaseException, host: str | None = None) -> str:
    """Name a failed exchange in operator words; `host` is used for DNS failures."""
    chain = list(causes(exc))
    for item in chain:
        if isinstance(item, TooManyRedirects):
            return "too many redirects"
    for item in chain:
        # aiohttp's own wrappers also subclass the ssl errors, without their fields: skip them.
        if isinstance(item, ssl.SSLCertVerificationError) and not isinstance(item, aiohttp.ClientError):
            return _cert_text(item)
    for item in chain:
        if isinstance(item, socket.gaierror):
            return f'DNS: cannot resolve host "{host}"' if host else f"DNS: {item.strerror or item}"
    for item in chain:
        if isinstance(item, ssl.SSLError) and not isinstance(item, aiohttp.ClientError):
            return _ssl_text(item)
    for item in chain:
        if isinstance(item, OSError) and (text := _oserror_text(item)) is not None:
            return text
    for item in chain:
        if isinstance(item, aiohttp.ServerDisconnectedError):
            return "connection closed before a response"
        if isinstance(item, aiohttp.ClientPayloadError):
            return _payload_text(str(item))
        if isinstance(item, aiohttp.ClientResponseError):  # the response did not parse as HTTP
            return _protocol_text(item.message)
        if isinstance(item, BadRedirect):
            return f"protocol error: {item}"
        if isinstance(item, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError):
            return f"invalid URL: {item}"
    for item in chain:
        if isinstance(item, aiohttp.ClientConnectionError) and not str(item).strip():
            return "connection closed unexpectedly"
    # Nothing we know by name: say what the first real (non-group) exception says.
    return _plain(next((item for item in chain if not isinstance(item, BaseExceptionGroup)), exc))


def _protocol_text(message: str) -> str:
    """One line: aiohttp's parser spreads its message over lines, with a caret under the fault."""
    lines = (line.strip() for line in message.splitlines())
    message = " ".join(line for line in lines if line and set(line) != {"^"}).rstrip(".")
    return f"protocol error: {message}" if message else "protocol error"


def _payload_text(message: str) -> str:
    """aiohttp's words for a body that broke off or did not decode."""
    lowered = message.lower()
    if "not completed" in lowered or "content length" in lowered or "incomplete" in lowered:
        return "connection closed before the body was complete"
    return _protocol_text(message)
