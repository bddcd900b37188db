"""How exceptions become operator text, including the shapes loopback servers cannot easily produce."""

from __future__ import annotations

import socket
import ssl

import aiohttp
import pytest
from aiohttp.client_reqrep import ConnectionKey

from shiptrack_tui.core.sizes import size_text
from shiptrack_tui.probes.errors import BadRedirect, TooManyRedirects, describe, timeout_text


def chained(outer: BaseException, *inner: BaseException) -> BaseException:
    """Build `outer` ← inner[0] ← inner[1] ... as `raise X from Y` would."""
    current = outer
    for cause in inner:
        current.__cause__ = cause
        current = cause
    return outer


def cert_error(code: int, message: str) -> ssl.SSLCertVerificationError:
    exc = ssl.SSLCertVerificationError(
        1, f"[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: {message}"
    )
    exc.verify_code = code
    exc.verify_message = message
    return exc


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (10, "timeout after 10.0s"),
        (10.0, "timeout after 10.0s"),
        (0.25, "timeout after 0.25s"),
        (1.5, "timeout after 1.5s"),
    ],
)
def test_timeout_text(seconds: float, text: str) -> None:
    assert timeout_text(seconds) == text


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (100, "100 bytes"),
        (1024, "1 KiB"),
        (512 * 1024, "512 KiB"),
        (1 << 20, "1 MiB"),
        (3 << 19, "1.5 MiB"),
        (5 << 30, "5 GiB"),
    ],
)
def test_size_text(size: int, text: str) -> None:
    assert size_text(size) == text


KEY = ConnectionKey("api.example", 443, True, True, None, None, None, None)


def connector(os_error: OSError) -> aiohttp.ClientConnectorError:
    """What aiohttp raises when the connection itself fails: the OSError is kept as the cause."""
    return chained(aiohttp.ClientConnectorError(KEY, os_error), os_error)


def tls(error: ssl.SSLError) -> BaseException:
    wrapper = (aiohttp.ClientConnectorCertificateError(KEY, error)
               if isinstance(error, ssl.SSLCertVerificationError)
               else aiohttp.ClientConnectorSSLError(KEY, error))
    return chained(wrapper, error)


@pytest.mark.parametrize(
    ("exc", "text"),
    [
        (aiohttp.ClientConnectionError(), "connection closed unexpectedly"),
        (TooManyRedirects("too many redirects"), "too many redirects"),
        (aiohttp.ServerDisconnectedError(), "connection closed before a response"),
        (
            aiohttp.ClientPayloadError(
                "Response payload is not completed: <ContentLengthError: 400, message='Not enough data to "
                "satisfy content length header.'>"
            ),
            "connection closed before the body was complete",
        ),
        (
            aiohttp.ClientPayloadError("400, message:\n  Can not decode content-encoding: gzip"),
            "protocol error: 400, message: Can not decode content-encoding: gzip",
        ),
        (
            aiohttp.ClientResponseError(None, (), status=400, message="Invalid status line 'SSH-2.0'"),  # type: ignore[arg-type]
            "protocol error: Invalid status line 'SSH-2.0'",
        ),
        (BadRedirect("invalid redirect location 'ftp://x'"), "protocol error: invalid redirect location 'ftp://x'"),
        (connector(ConnectionRefusedError(111, "Connect call failed")), "connection refused"),
        (
            connector(OSError(
                "Multiple exceptions: [Errno 111] Connect call failed ('::1', 1), "
                "[Errno 111] Connect call failed"
            )),
            "connection refused",
        ),
        (
            chained(
                aiohttp.ClientConnectionError("x"),
                ExceptionGroup(
                    "multiple connection attempts failed",
                    [ConnectionRefusedError(111, "x"), ConnectionRefusedError(111, "y")],
                ),
            ),
            "connection refused",
        ),
        (aiohttp.ClientOSError(104, "Connection reset by peer"), "connection reset by peer"),
        (connector(OSError(101, "Network is unreachable")), "network unreachable"),
        (connector(OSError(113, "No route to host")), "host unreachable"),
        (tls(cert_error(10, "certificate has expired")), "TLS: certificate has expired"),
        (tls(cert_error(9, "certificate is not yet valid")), "TLS: certificate is not yet valid"),
        (
            tls(cert_error(62, "Hostname mismatch, certificate is not valid for 'a'.")),
            "TLS: certificate is for another host",
        ),
        (tls(cert_error(64, "IP address mismatch")), "TLS: certificate is for another host"),
        (
            tls(cert_error(18, "self-signed certificate")),
            "TLS: certificate is not trusted (self-signed or unknown issuer)",
        ),
        (
            tls(cert_error(20, "unable to get local issuer certificate")),
            "TLS: certificate is not trusted (self-signed or unknown issuer)",
        ),
        (tls(cert_error(23, "certificate revoked")), "TLS: certificate has been revoked"),
        (
            tls(cert_error(50, "application verification failure")),
            "TLS: certificate rejected (application verification failure)",
        ),
        (aiohttp.InvalidURL("http://[::1"), "invalid URL: http://[::1"),
        (
            ExceptionGroup(
                "unhandled errors in a TaskGroup", [OverflowError("connect(): port must be 0-65535.")]
            ),
            "overflow error: connect(): port must be 0-65535.",
        ),
        (KeyError(), "key error"),
    ],
)
def test_describe(exc: BaseException, text: str) -> None:
    assert describe(exc) == text


def test_handshake_failure_names_the_ssl_reason() -> None:
    inner = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)")
    inner.reason = "WRONG_VERSION_NUMBER"
    assert describe(tls(inner)) == "TLS: handshake failed (wrong version number)"


def test_dns_failure_names_the_host() -> None:
    gai = socket.gaierror(-2, "Name or service not known")
    exc = chained(aiohttp.ClientConnectorDNSError(KEY, gai), gai)
    assert describe(exc, host="api.example") == 'DNS: cannot resolve host "api.example"'
    assert describe(exc) == "DNS: Name or service not known"


def test_cyclic_context_does_not_loop() -> None:
    a, b = aiohttp.ClientConnectionError(), aiohttp.ServerConnectionError()
    a.__context__, b.__context__ = b, a
    assert describe(a) == "connection closed unexpectedly"
