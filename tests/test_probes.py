"""Probes against real loopback servers that misbehave in every way an operator must be told about."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import misbehaving_servers as ms
import pytest
from yarl import URL

from shiptrack_tui.core.evaluation import evaluate
from shiptrack_tui.core.model import MonitorSpec, Outcome
from shiptrack_tui.probes import USER_AGENT, ClientPool, probe
from shiptrack_tui.probes.http import Hop, next_hop


@pytest.fixture
async def pool() -> AsyncIterator[ClientPool]:
    async with ClientPool(16, verify=ms.client_trusting_test_ca()) as p:
        yield p


def spec(url: str, **kw: object) -> MonitorSpec:
    kw.setdefault("timeout", 2.0)
    return MonitorSpec(name=kw.pop("name", "web"), url=url, **kw)  # type: ignore[arg-type]


async def test_healthy_endpoint_is_up_with_status_and_wall_clock_start(pool: ClientPool) -> None:
    async with ms.serve(ms.answer(200, b"all ok")) as port:
        s = spec(f"http://127.0.0.1:{port}/health", body_contains="ok")
        obs = await probe(s, pool, clock=lambda: 1_000.0)
    assert obs.error is None
    assert (obs.at, obs.status_code, obs.body) == (1_000.0, 200, b"all ok")
    assert 0 < obs.latency_ms < 2000
    assert obs.cert_days_left is None
    assert evaluate(s, obs).outcome is Outcome.UP


async def test_request_carries_method_headers_body_and_user_agent(pool: ClientPool) -> None:
    seen = ms.Seen()
    async with ms.serve(ms.answer(204), seen=seen) as port:
        s = spec(
            f"http://127.0.0.1:{port}/hook", method="POST", body='{"ping":1}', headers=(("X-Token", "t"),)
        )
        obs = await probe(s, pool)
    assert obs.error is None and obs.status_code == 204
    [request] = seen.requests
    assert (request.method, request.path, request.body) == ("POST", "/hook", b'{"ping":1}')
    assert request.headers["x-token"] == "t"
    assert request.headers["user-agent"] == USER_AGENT
    assert USER_AGENT.startswith("ShipTrack/")


async def test_body_is_not_read_unless_asserted(pool: ClientPool) -> None:
    async with ms.serve(ms.chunked(5 << 20)) as port:
        obs = await probe(spec(f"http://127.0.0.1:{port}/"), pool)
    assert obs.error is None and obs.status_code == 200 and obs.body is None


async def test_unexpected_status_is_judged_down_by_evaluation(pool: ClientPool) -> None:
    async with ms.serve(ms.answer(503, b"maintenance")) as port:
        s = spec(f"http://127.0.0.1:{port}/", body_contains="ok")
        obs = await probe(s, pool)
    assert obs.error is None and obs.status_code == 503
    result = evaluate(s, obs)
    assert (result.outcome, result.reason) == (Outcome.DOWN, "HTTP 503")


async def test_body_assertion_failure_is_judged_down_by_evaluation(pool: ClientPool) -> None:
    async with ms.serve(ms.answer(200, b'{"status": "degraded"}')) as port:
        s = spec(f"http://127.0.0.1:{port}/", body_regex=r'"status": "ok"')
        obs = await probe(s, pool)
    result = evaluate(s, obs)
    assert result.outcome is Outcome.DOWN
    assert result.reason == 'body does not match /"status": "ok"/'


async def test_refused_port(pool: ClientPool) -> None:
    obs = await probe(spec(f"http://127.0.0.1:{ms.refused_port()}/"), pool)
    assert obs.error == "connection refused"
    assert evaluate(spec("http://x/"), obs).reason == "connection refused"


async def test_server_that_never_answers_hits_the_deadline(pool: ClientPool) -> None:
    async with ms.serve(ms.never_answer) as port:
        started = time.perf_counter()
        obs = await probe(spec(f"http://127.0.0.1:{port}/", timeout=0.3), pool)
        elapsed = time.perf_counter() - started
    assert obs.error == "timeout after 0.3s"
    assert 0.3 <= elapsed < 0.8
    assert 290 <= obs.latency_ms < 800


@pytest.mark.parametrize("head_first", [True, False], ids=["status-line", "body"])
async def test_dripping_server_is_cut_off_at_the_total_deadline(pool: ClientPool, head_first: bool) -> None:
    """One byte every 50 ms never trips a per-phase read timeout; the total deadline still holds."""
    async with ms.serve(ms.drip(head_first=head_first)) as port:
        started = time.perf_counter()
        obs = await probe(spec(f"http://127.0.0.1:{port}/", timeout=0.5, body_contains="x"), pool)
        elapsed = time.perf_counter() - started
    assert obs.error == "timeout after 0.5s"
    assert 0.5 <= elapsed < 0.9


async def test_connection_reset_by_peer(pool: ClientPool) -> None:
    async with ms.serve(ms.reset) as port:
        obs = await probe(spec(f"http://127.0.0.1:{port}/"), pool)
    assert obs.error == "connection reset by peer"


async def test_connection_closed_before_a_response(pool: ClientPool) -> None:
    async with ms.serve(ms.close_silently) as port:
        obs = await probe(spec(f"http://127.0.0.1:{port}/"), pool)
    assert obs.error == "connection closed before a response"


async def test_garbage_instead_of_http_is_a_protocol_error(pool: ClientPool) -> None:
    async with ms.serve(ms.garbage) as port:
        obs = await probe(spec(f"http://127.0.0.1:{port}/"), pool)
    assert obs.error is not None and obs.error.startswith("protocol error: ")
    assert "\n" not in obs.error and "SSH-2.0" in obs.error  # one line, naming what came back


async def test_redirects_are_followed(pool: ClientPool) -> None:
    seen = ms.Seen()
    async with ms.serve(ms.redirect_chain(3), seen=seen) as port:
        obs = await probe(spec(f"http://127.0.0.1:{port}/", body_contains="arrived"), pool)
    assert (obs.error, obs.status_code, obs.body) == (None, 200, b"arrived")
    assert [r.path for r in seen.requests] == ["/", "/1", "/2", "/3"]


async def test_redirect_loop_is_too_many_redirects(pool: ClientPool) -> None:
    seen = ms.Seen()
    async with ms.serve(ms.redirect_loop, seen=seen) as port:
        obs = await probe(spec(f"http://127.0.0.1:{port}/"), pool)
    assert obs.error == "too many redirects"
    assert len(seen.requests) == 11  # the request and ten redirects followed


@pytest.mark.parametrize(("status", "method", "body"),
                         [(302, "GET", b""), (303, "GET", b""), (307, "POST", b"x=1")])
async def test_a_redirected_post_becomes_a_get_except_on_307(
        pool: ClientPool, status: int, method: str, body: bytes) -> None:
    seen = ms.Seen()

    async def once(_r: object, writer: asyncio.StreamWriter, q: ms.Request) -> None:
        if q.path == "/":
            writer.write(ms.response(status, headers={"Location": "/next"}))
        else:
            writer.write(ms.response(200, b"ok"))
        await writer.drain()

    async with ms.serve(once, seen=seen) as port:
        obs = await probe(spec(f"http://127.0.0.1:{port}/", method="POST", body="x=1"), pool)
    assert (obs.error, obs.status_code) == (None, 200)
    [first, second] = seen.requests
    assert (first.method, first.body) == ("POST", b"x=1")
    assert (second.method, second.path, second.body) == (method, "/next", body)


def test_credentials_stay_with_their_origin_on_redirect() -> None:
    secret = [("Authorization", "Bearer s3cret"), ("X-Trace", "1")]
    here = Hop("GET", URL("http://api.example/a"), secret, None)
    assert next_hop(here, 302, "/b").headers == secret  # same origin
    assert next_hop(here, 302, "https://api.example/b").headers == secret  # upgrade to https
    assert next_hop(here, 302, "http://elsewhere.example/").headers == [("X-Trace", "1")]
    assert next_hop(here, 302, "//api.example:8080/").headers == [("X-Trace", "1")]  # another port


@pytest.mark.parametrize("location", ["ftp://files.example/x", "http://[::1"])
async def test_a_redirect_that_cannot_be_followed_is_a_protocol_error(
        pool: ClientPool, location: str) -> None:
    async with ms.serve(ms.answer(302, headers={"Location": location})) as port:
        obs = await probe(spec(f"http://127.0.0.1:{port}/"), pool)
    assert obs.error == f"protocol error: invalid redirect location {location!r}"


async def test_a_long_header_line_is_not_a_failure(pool: ClientPool) -> None:
    """Real sites send CSP and cookie headers past aiohttp's default 8 KiB line limit."""
    policy = "default-src 'self'; " + "script-src https://cdn.example/" + "x" * 20_000
    async with ms.serve(ms.answer(200, b"ok", {"Content-Security-Policy": policy})) as port:
        obs = await probe(spec(f"http://127.0.0.1:{port}/", body_contains="ok"), pool)
    assert (obs.error, obs.status_code, obs.body) == (None, 200, b"ok")


async def test_a_cookie_one_monitor_got_never_rides_on_another_monitors_request(pool: ClientPool) -> None:
    seen = ms.Seen()
    async with ms.serve(ms.answer(200, b"ok", {"Set-Cookie": "session=s3cret; Path=/"}), seen=seen) as port:
        for name in ("login", "other"):
            obs = await probe(spec(f"http://127.0.0.1:{port}/", name=name), pool)
            assert obs.status_code == 200
    assert [request.headers.get("cookie") for request in seen.requests] == [None, None]


BIG_PAGE = 64 << 20  # far more than loopback socket buffers hold, so a full download would show
SMALL_CAP = 64 * 1024


@pytest.mark.parametrize("declare_length", [True, False], ids=["content-length", "chunked"])
async def test_big_page_is_judged_on_its_first_max_body_bytes(pool: ClientPool, declare_length: bool) -> None:
    """A healthy page larger than max_body is up when its marker is early, and the rest is not fetched."""
    sent = ms.Sent()
    page = ms.big_page(BIG_PAGE, b"HEALTHY", 1000, sent, declare_length)
    async with ms.serve(page) as port:
        s = spec(f"http://127.0.0.1:{port}/", body_contains="HEALTHY", max_body_bytes=SMALL_CAP, timeout=10)
        obs = await probe(s, pool)
        await asyncio.wait_for(sent.done.wait(), 10)  # the server notices the hang-up
    assert obs.error is None and obs.body is not None and len(obs.body) == SMALL_CAP
    assert evaluate(s, obs).outcome is Outcome.UP
    assert not sent.finished and sent.bytes < BIG_PAGE // 4


@pytest.mark.parametrize("declare_length", [True, False], ids=["content-length", "chunked"])
async def test_marker_past_max_body_fails_naming_what_was_read(
    pool: ClientPool, declare_length: bool
) -> None:
    sent = ms.Sent()
    page = ms.big_page(BIG_PAGE, b"HEALTHY", SMALL_CAP + 10, sent, declare_length)
    async with ms.serve(page) as port:
        s = spec(f"http://127.0.0.1:{port}/", body_contains="HEALTHY", max_body_bytes=SMALL_CAP, timeout=10)
        obs = await probe(s, pool)
        regex = spec(s.url, body_regex="HEAL+THY", max_body_bytes=SMALL_CAP, timeout=10)
        regex_obs = await probe(regex, pool)
    result = evaluate(s, obs)
    assert (result.outcome, result.reason) == (
        Outcome.DOWN,
        "body does not contain 'HEALTHY' (only the first 64 KiB were read: raise max_body to search further)",
    )
    assert evaluate(regex, regex_obs).reason == (
        "body does not match /HEAL+THY/ (only the first 64 KiB were read: raise max_body to search further)"
    )


async def test_body_exactly_at_the_cap_is_read_whole(pool: ClientPool) -> None:
    async with ms.serve(ms.chunked(1 << 20)) as port:
        s = spec(f"http://127.0.0.1:{port}/", body_contains="x")
        obs = await probe(s, pool)
    assert obs.error is None and obs.body is not None and len(obs.body) == 1 << 20
    assert not obs.body_truncated
    assert evaluate(s, obs).reason == "body does not contain 'x'"  # nothing was left unread


async def test_dns_failure_names_the_host_and_fails_fast(pool: ClientPool) -> None:
    started = time.perf_counter()
    obs = await probe(spec("http://shiptrack-probe-test.invalid/"), pool)
    assert obs.error == 'DNS: cannot resolve host "shiptrack-probe-test.invalid"'
    assert time.perf_counter() - started < 1.5


async def test_pool_queues_beyond_its_limit_without_charging_the_target(pool: ClientPool) -> None:
    """Checks waiting for a slot neither time out nor count the wait as latency."""
    seen = ms.Seen()

    # Half a second an answer, three rounds of two: a check charged for its wait in the queue would
    # take at least 1 s, past its 0.9 s timeout; the margins hold on a busy machine.
    async def slow(_r: object, writer: asyncio.StreamWriter, _q: object) -> None:
        await asyncio.sleep(0.5)
        writer.write(ms.response(200, b"ok"))
        await writer.drain()

    async with (
        ClientPool(max_in_flight=2) as narrow,
        ms.serve(slow, seen=seen) as port,
    ):
        specs = [spec(f"http://127.0.0.1:{port}/", name=f"m{i}", timeout=0.9) for i in range(6)]
        results = await asyncio.gather(*(probe(s, narrow) for s in specs))
    assert [r.error for r in results] == [None] * 6
    assert seen.peak_open == 2
    assert max(r.latency_ms for r in results) < 1000  # a queued wait would add at least 500 ms


async def test_each_check_opens_a_fresh_connection(pool: ClientPool) -> None:
    seen = ms.Seen()

    async def keep_alive(_r: object, writer: asyncio.StreamWriter, _q: object) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")  # no Connection: close
        await writer.drain()
        await asyncio.sleep(5)

    async with ms.serve(keep_alive, seen=seen) as port:
        for _ in range(3):
            assert (await probe(spec(f"http://127.0.0.1:{port}/"), pool)).status_code == 200
    assert seen.connections == 3


async def test_closed_pool_refuses_work() -> None:
    p = ClientPool()
    await p.aclose()
    await p.aclose()
    with pytest.raises(RuntimeError):
        await probe(spec("http://127.0.0.1:1/"), p)


# --- TCP ------------------------------------------------------------------------------------------


async def test_tcp_open_port(pool: ClientPool) -> None:
    seen = ms.Seen()
    async with ms.serve(ms.never_answer, seen=seen) as port:
        obs = await probe(spec(f"tcp://127.0.0.1:{port}"), pool, clock=lambda: 42.0)
        await asyncio.sleep(0.05)
    assert obs.error is None and obs.at == 42.0 and 0 < obs.latency_ms < 1000
    assert obs.status_code is None
    assert evaluate(spec(f"tcp://127.0.0.1:{port}"), obs).outcome is Outcome.UP
    assert seen.connections == 1


async def test_tcp_refused(pool: ClientPool) -> None:
    obs = await probe(spec(f"tcp://127.0.0.1:{ms.refused_port()}"), pool)
    assert obs.error == "connection refused"


async def test_tcp_deadline(pool: ClientPool) -> None:
    with ms.unaccepting_port() as port:
        started = time.perf_counter()
        obs = await probe(spec(f"tcp://127.0.0.1:{port}", timeout=0.3), pool)
    assert obs.error == "timeout after 0.3s"
    assert time.perf_counter() - started < 0.8


async def test_tcp_dns_failure(pool: ClientPool) -> None:
    obs = await probe(spec("tcp://shiptrack-probe-test.invalid:5432"), pool)
    assert obs.error == 'DNS: cannot resolve host "shiptrack-probe-test.invalid"'


async def test_tcp_target_without_port_is_named(pool: ClientPool) -> None:
    obs = await probe(spec("tcp://db.internal"), pool)
    assert obs.error == "invalid TCP target 'tcp://db.internal': expected tcp://host:port"


async def test_connection_closed_mid_body(pool: ClientPool) -> None:
    async def short_body(_r: object, writer: asyncio.StreamWriter, _q: object) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b")
        await writer.drain()

    async with ms.serve(short_body) as port:
        obs = await probe(spec(f"http://127.0.0.1:{port}/", body_contains="ten"), pool)
    assert obs.error == "connection closed before the body was complete"


async def test_keepalive_pool_reuses_connections() -> None:
    """The benchmark-only mode: one connection serves successive checks of a monitor."""
    seen = ms.Seen()

    async def keep_alive(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _q: object) -> None:
        while True:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()
            if await ms.read_request(reader) is None:
                return

    async with ClientPool(keepalive=True) as reuse, ms.serve(keep_alive, seen=seen) as port:
        for _ in range(3):
            assert (await probe(spec(f"http://127.0.0.1:{port}/"), reuse)).status_code == 200
    assert seen.connections == 1
