"""HTTPS probes against loopback servers presenting the committed test certificates."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
import time
from collections.abc import AsyncIterator

import misbehaving_servers as ms
import pytest
from cryptography import x509

from shiptrack_tui.core.evaluation import evaluate
from shiptrack_tui.core.model import MonitorSpec, Outcome
from shiptrack_tui.probes import ClientPool, probe
from shiptrack_tui.probes.certs import der_not_after
from shiptrack_tui.probes.pool import CLEANUP_CLOSED_TLS

DAY = 86400.0


def not_after(name: str) -> float:
    pem = (ms.TLS_DIR / f"{name}.pem").read_bytes()
    return x509.load_pem_x509_certificate(pem).not_valid_after_utc.timestamp()


@pytest.fixture
async def pool() -> AsyncIterator[ClientPool]:
    async with ClientPool(verify=ms.client_trusting_test_ca()) as p:
        yield p


def spec(url: str, **kw: object) -> MonitorSpec:
    return MonitorSpec(name="secure", url=url, timeout=2.0, **kw)  # type: ignore[arg-type]


async def test_valid_certificate_reports_days_left(pool: ClientPool) -> None:
    now = not_after("valid") - 100.5 * DAY
    async with ms.serve(ms.answer(200, b"secure ok"), tls=ms.server_tls("valid")) as port:
        s = spec(f"https://127.0.0.1:{port}/", body_contains="ok")
        obs = await probe(s, pool, clock=lambda: now)
    assert (obs.error, obs.status_code, obs.body) == (None, 200, b"secure ok")
    assert obs.cert_days_left == 100
    result = evaluate(s, obs)
    assert result.outcome is Outcome.UP and result.cert_days_left == 100


async def test_days_left_by_name_as_well_as_by_address(pool: ClientPool) -> None:
    now = not_after("valid") - 7 * DAY
    async with ms.serve(ms.answer(200), tls=ms.server_tls("valid")) as port:
        obs = await probe(spec(f"https://localhost:{port}/"), pool, clock=lambda: now)
    assert obs.error is None and obs.cert_days_left == 7


async def test_days_left_without_verification_reads_the_raw_certificate() -> None:
    """getpeercert() is empty for unverified peers; the DER fallback still finds notAfter."""
    now = not_after("self_signed") - 30.2 * DAY
    async with (
        ClientPool(verify=False) as insecure,
        ms.serve(ms.answer(200), tls=ms.server_tls("self_signed")) as port,
    ):
        obs = await probe(spec(f"https://127.0.0.1:{port}/"), insecure, clock=lambda: now)
    assert obs.error is None and obs.cert_days_left == 30


async def test_days_left_is_the_soonest_expiry_across_redirect_hops(pool: ClientPool) -> None:
    now = not_after("valid") - 12 * DAY
    async with ms.serve(ms.answer(200, b"plain")) as plain_port:
        hop = ms.answer(301, headers={"Location": f"http://127.0.0.1:{plain_port}/"})
        async with ms.serve(hop, tls=ms.server_tls("valid")) as tls_port:
            obs = await probe(spec(f"https://127.0.0.1:{tls_port}/"), pool, clock=lambda: now)
    assert (obs.error, obs.status_code, obs.cert_days_left) == (None, 200, 12)


@pytest.mark.parametrize(
    ("fixture", "error"),
    [
        ("expired", "TLS: certificate has expired"),
        ("wrong_host", "TLS: certificate is for another host"),
        ("self_signed", "TLS: certificate is not trusted (self-signed or unknown issuer)"),
    ],
)
async def test_bad_certificates_are_named(pool: ClientPool, fixture: str, error: str) -> None:
    async with ms.serve(ms.answer(200), tls=ms.server_tls(fixture)) as port:
        s = spec(f"https://127.0.0.1:{port}/")
        obs = await probe(s, pool)
    assert obs.error == error and obs.status_code is None
    assert evaluate(s, obs).reason == error


async def test_certificate_from_an_unknown_ca_is_not_trusted() -> None:
    """The default pool trusts the public CA bundle, which has never heard of our test CA."""
    async with ClientPool() as public, ms.serve(ms.answer(200), tls=ms.server_tls("valid")) as port:
        obs = await probe(spec(f"https://127.0.0.1:{port}/"), public)
    assert obs.error == "TLS: certificate is not trusted (self-signed or unknown issuer)"


async def test_plain_http_on_an_https_url_is_a_handshake_failure(pool: ClientPool) -> None:
    async with ms.serve(ms.answer(200), greet=ms.response(400, b"speak HTTP")) as port:
        obs = await probe(spec(f"https://127.0.0.1:{port}/"), pool)
    assert obs.error is not None and obs.error.startswith("TLS: handshake failed (")


async def test_tls_server_that_never_answers_hits_the_deadline(pool: ClientPool) -> None:
    async with ms.serve(ms.never_answer, tls=ms.server_tls("valid")) as port:
        s = MonitorSpec(name="secure", url=f"https://127.0.0.1:{port}/", timeout=0.3)
        obs = await asyncio.wait_for(probe(s, pool), 2)
    assert obs.error == "timeout after 0.3s"


@pytest.mark.parametrize("name", ["valid", "expired", "self_signed", "ca"])
def test_der_not_after_matches_the_certificate(name: str) -> None:
    pem = (ms.TLS_DIR / f"{name}.pem").read_text()
    cert_pem = pem[pem.index("-----BEGIN CERTIFICATE-----") :]
    der = ssl.PEM_cert_to_DER_cert(
        cert_pem.split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----"
    )
    assert der_not_after(der) == x509.load_der_x509_certificate(der).not_valid_after_utc.timestamp()


def _silent_after_answer(listener: socket.socket, closed_after: list[float]) -> None:
    """One TLS exchange, then never a TLS shutdown: read the raw socket until the client drops it."""
    conn, _ = listener.accept()
    tls = ms.server_tls("valid").wrap_socket(conn, server_side=True)
    tls.recv(65536)
    tls.sendall(ms.response(200, b"ok"))
    answered = time.monotonic()
    raw = socket.fromfd(tls.fileno(), socket.AF_INET, socket.SOCK_STREAM)  # below TLS: nothing answered
    raw.settimeout(40)
    try:
        while raw.recv(4096):  # the client's close_notify arrives, then only its end of the TCP stream
            pass
    except OSError:
        pass
    closed_after.append(time.monotonic() - answered)
    raw.close()
    tls.close()


@pytest.mark.skipif(not CLEANUP_CLOSED_TLS, reason="this Python releases such transports itself")
async def test_a_server_that_never_finishes_the_tls_shutdown_does_not_keep_the_connection(
        pool: ClientPool) -> None:
    """A fresh connection per check must not pile up behind servers that skip close_notify: held
    for asyncio's 30 s shutdown timeout otherwise (measured here: 30.1 s without the flag)."""
    listener = socket.create_server(("127.0.0.1", 0))
    closed_after: list[float] = []
    server = threading.Thread(target=_silent_after_answer, args=(listener, closed_after), daemon=True)
    server.start()
    try:
        port = listener.getsockname()[1]
        obs = await probe(spec(f"https://127.0.0.1:{port}/"), pool)
        assert (obs.error, obs.status_code) == (None, 200)
        await asyncio.to_thread(server.join, 45)
    finally:
        listener.close()
    assert closed_after and closed_after[0] < 10  # asyncio's own shutdown timeout would be 30 s
