"""The demo targets behave as their docstring says: endpoints, controls, keep-alive, lifecycles."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from shiptrack_tui.demo import FLAKY_PATTERN, SLOW_PATTERN_MS, DemoTargets, DemoTargetsThread


@pytest.fixture
async def targets() -> AsyncIterator[DemoTargets]:
    server = DemoTargets(outage_up=0.4, outage_down=0.4)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def client(targets: DemoTargets) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=targets.base_url, timeout=5) as c:
        yield c


async def raw_exchange(targets: DemoTargets, data: bytes, *, until_closed: bool = False,
                       responses: int = 1) -> bytes:
    """Send raw bytes; read `responses` Content-Length responses (or everything until EOF)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", targets.port)
    writer.write(data)
    try:
        if until_closed:
            return await asyncio.wait_for(reader.read(), 5)
        out = b""
        for _ in range(responses):
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            out += head + await reader.readexactly(length)
        return out
    finally:
        writer.close()


# endpoints ------------------------------------------------------------------------------------
async def test_index_lists_every_endpoint(client: httpx.AsyncClient) -> None:
    r = await client.get("/")
    assert r.status_code == 200
    for path in ("/steady", "/slow", "/flaky", "/outage", "/status/", "/delay/", "/bytes/",
                 "/control/", "tcp://"):
        assert path in r.text


async def test_steady_answers_ok_at_once(client: httpx.AsyncClient) -> None:
    started = time.perf_counter()
    r = await client.get("/steady")
    assert (r.status_code, r.text) == (200, "ok")
    assert r.headers["content-length"] == "2"
    assert time.perf_counter() - started < 0.5
    head = await client.head("/steady")
    assert (head.status_code, head.content, head.headers["content-length"]) == (200, b"", "2")


def test_slow_pattern_spans_300_to_1500_ms_and_crosses_one_second() -> None:
    assert min(SLOW_PATTERN_MS) == 300 and max(SLOW_PATTERN_MS) == 1500
    assert 0 < sum(ms > 1000 for ms in SLOW_PATTERN_MS) < len(SLOW_PATTERN_MS)


async def test_slow_follows_its_pattern(client: httpx.AsyncClient) -> None:
    for expected_ms in SLOW_PATTERN_MS[:2]:
        started = time.perf_counter()
        r = await client.get("/slow")
        elapsed_ms = (time.perf_counter() - started) * 1000
        assert r.status_code == 200
        assert expected_ms - 20 <= elapsed_ms < expected_ms + 250


async def test_flaky_fails_a_quarter_with_one_run_of_three(client: httpx.AsyncClient) -> None:
    statuses = [(await client.get("/flaky")).status_code for _ in range(len(FLAKY_PATTERN))]
    assert statuses == [503 if failing else 200 for failing in FLAKY_PATTERN]
    assert statuses.count(503) == len(statuses) // 4
    assert "503,503,503" in ",".join(map(str, statuses))
    assert "503,503,503,503" not in ",".join(map(str, statuses))
    # every path keeps its own sequence
    assert [(await client.get("/flaky/other")).status_code for _ in range(4)] == [200, 200, 200, 503]


async def test_outage_cycles_on_elapsed_time(targets: DemoTargets, client: httpx.AsyncClient) -> None:
    """Up 0.4 s, down 0.4 s, over and over: every answer is the one for the time it was asked.

    A request that straddles a phase change proves nothing and is not counted, so a busy machine
    (late wake-ups, slow requests) cannot fail this; it asks until it has seen both phases of two
    cycles."""
    period = 0.8

    def phase(at: float) -> tuple[int, bool]:  # (which cycle, up?)
        elapsed = at - targets.outage_epoch
        return int(elapsed // period), elapsed % period < 0.4

    seen: dict[tuple[int, bool], int] = {}
    deadline = time.monotonic() + 30
    while len(seen) < 4 and time.monotonic() < deadline:
        before = time.monotonic()
        status = (await client.get("/outage")).status_code
        if phase(before) == phase(time.monotonic()):
            assert status == (200 if phase(before)[1] else 503), (phase(before), status)
            seen[phase(before)] = status
        await asyncio.sleep(0.1)
    assert len(seen) >= 4 and {up for _, up in seen} == {True, False}, seen


async def test_outage_with_no_down_time_stays_up() -> None:
    assert DemoTargets(outage_up=1, outage_down=0).outage_is_up()
    with pytest.raises(ValueError):
        DemoTargets(outage_up=0)


async def test_status_codes(client: httpx.AsyncClient) -> None:
    for code in (200, 301, 404, 418, 500, 503):
        r = await client.get(f"/status/{code}", follow_redirects=False)
        assert r.status_code == code
    assert (await client.get("/status/204")).content == b""
    for bad in ("/status/99", "/status/600", "/status/abc", "/status"):
        assert (await client.get(bad)).status_code == 400


async def test_delay_waits_that_long(client: httpx.AsyncClient) -> None:
    started = time.perf_counter()
    r = await client.get("/delay/200")
    assert r.status_code == 200
    assert 0.19 <= time.perf_counter() - started < 0.6
    assert (await client.get("/delay/x")).status_code == 400


async def test_bytes_returns_that_many(client: httpx.AsyncClient) -> None:
    assert len((await client.get("/bytes/100000")).content) == 100_000
    assert (await client.get("/bytes/0")).content == b""


async def test_drip_sends_one_byte_at_a_time(client: httpx.AsyncClient) -> None:
    started = time.perf_counter()
    r = await client.get("/drip/30?n=5")
    assert (r.status_code, r.content) == (200, b"xxxxx")
    assert time.perf_counter() - started >= 0.12


async def test_echo_reports_the_request(client: httpx.AsyncClient) -> None:
    r = await client.post("/echo?a=1", content=b"payload", headers={"X-Probe": "yes"})
    assert r.text.startswith("POST /echo?a=1\n")
    assert "x-probe: yes" in r.text and r.text.endswith("\n\npayload")


async def test_named_targets_and_unknown_paths(client: httpx.AsyncClient, targets: DemoTargets) -> None:
    assert (await client.get("/t/api-1")).text == "ok"
    assert (await client.get("/nope")).status_code == 404
    assert targets.hits("t/api-1") == 1 and targets.hits("/nope") == 1


async def test_tcp_connects_are_accepted(targets: DemoTargets, client: httpx.AsyncClient) -> None:
    assert targets.tcp_url == f"tcp://127.0.0.1:{targets.port}"
    for _ in range(3):
        _, writer = await asyncio.open_connection("127.0.0.1", targets.port)
        writer.close()
        await writer.wait_closed()
    assert (await client.get("/steady")).status_code == 200


# controls -------------------------------------------------------------------------------------
async def test_set_down_and_up(targets: DemoTargets, client: httpx.AsyncClient) -> None:
    targets.set_down("steady")
    assert (await client.get("/steady")).status_code == 503
    targets.set_down("steady", status=500)
    assert (await client.get("/steady")).status_code == 500
    targets.set_up("steady")
    assert (await client.get("/steady")).status_code == 200


async def test_overrides_cover_paths_under_a_name(targets: DemoTargets, client: httpx.AsyncClient) -> None:
    targets.set_down("t/a")
    assert [(await client.get(p)).status_code for p in ("/t/a", "/t/b")] == [503, 200]
    targets.set_down("t")
    targets.set_down("t/a", 502)  # the longest name wins
    assert [(await client.get(p)).status_code for p in ("/t/a", "/t/b")] == [502, 503]
    targets.reset()
    assert [(await client.get(p)).status_code for p in ("/t/a", "/t/b")] == [200, 200]


async def test_control_over_http(client: httpx.AsyncClient) -> None:
    assert (await client.post("/control/flaky/down?status=502")).status_code == 200
    assert (await client.get("/flaky")).status_code == 502
    assert "flaky: 502" in (await client.get("/control")).text
    assert (await client.get("/control/flaky/up")).status_code == 200
    assert (await client.get("/flaky")).status_code == 200
    assert (await client.get("/control/flaky/sideways")).status_code == 400
    assert (await client.get("/control/flaky/down?status=42")).status_code == 400


async def test_hang_holds_requests_until_set_up(targets: DemoTargets, client: httpx.AsyncClient) -> None:
    await client.get("/control/steady/hang")
    with pytest.raises(httpx.ReadTimeout):
        await client.get("/steady", timeout=0.3)
    held = asyncio.create_task(client.get("/steady"))
    await asyncio.sleep(0.1)
    assert not held.done()
    targets.set_down("steady", 500)  # still forced, no longer hung: the held request is answered
    assert (await asyncio.wait_for(held, 2)).status_code == 500
    targets.set_hang("steady")
    held = asyncio.create_task(client.get("/steady"))
    await asyncio.sleep(0.1)
    targets.set_up("steady")
    assert (await asyncio.wait_for(held, 2)).status_code == 200


async def test_held_requests_count_once(targets: DemoTargets, client: httpx.AsyncClient) -> None:
    targets.set_hang("t")
    held = asyncio.gather(client.get("/t/a"), client.get("/steady"))
    await asyncio.sleep(0.1)
    targets.set_up("t")
    assert [r.status_code for r in await asyncio.wait_for(held, 2)] == [200, 200]
    assert (targets.hits("t/a"), targets.hits("steady"), targets.requests) == (1, 1, 2)


async def test_stop_closes_hung_connections(targets: DemoTargets, client: httpx.AsyncClient) -> None:
    targets.set_hang("steady")
    held = asyncio.create_task(client.get("/steady"))
    await asyncio.sleep(0.1)
    await asyncio.wait_for(targets.stop(), 3)
    with pytest.raises(httpx.HTTPError):
        await asyncio.wait_for(held, 2)
    assert targets.connections == 0


# HTTP/1.1 -------------------------------------------------------------------------------------
async def test_keep_alive_reuses_one_connection(targets: DemoTargets, client: httpx.AsyncClient) -> None:
    for path in ("/steady", "/flaky", "/status/404", "/bytes/10", "/delay/10"):
        await client.get(path)
    assert targets.connections == 1


async def test_pipelined_requests_are_answered_in_order(targets: DemoTargets) -> None:
    request = b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n"
    data = b"".join(request % p for p in (b"/delay/100", b"/status/201", b"/bytes/3"))
    out = await raw_exchange(targets, data, responses=3)
    assert re.findall(rb"HTTP/1\.1 \d+ [A-Za-z]+", out) == [
        b"HTTP/1.1 200 OK", b"HTTP/1.1 201 Created", b"HTTP/1.1 200 OK"]
    assert out.endswith(b"\r\n\r\nxxx")


async def test_connection_close_and_http_1_0_close(targets: DemoTargets) -> None:
    out = await raw_exchange(targets, b"GET /steady HTTP/1.1\r\nConnection: close\r\n\r\n", until_closed=True)
    assert out.startswith(b"HTTP/1.1 200 OK") and out.endswith(b"\r\n\r\nok")
    out = await raw_exchange(targets, b"GET /steady HTTP/1.0\r\n\r\n", until_closed=True)
    assert b"Connection: close" in out and out.endswith(b"ok")


async def test_request_bodies_are_read_and_bad_requests_refused(targets: DemoTargets) -> None:
    out = await raw_exchange(
        targets, b"POST /echo HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET /steady HTTP/1.1\r\n\r\n",
        responses=2)
    assert out.count(b"HTTP/1.1 200 OK") == 2 and b"\n\nhelloHTTP/1.1" in out
    out = await raw_exchange(targets, b"NONSENSE\r\n\r\n", until_closed=True)
    assert out.startswith(b"HTTP/1.1 400 Bad Request")
    out = await raw_exchange(targets, b"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
                             until_closed=True)
    assert out.startswith(b"HTTP/1.1 501")


# lifecycles -----------------------------------------------------------------------------------
async def test_busy_port_raises_or_falls_back() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(OSError):
            await DemoTargets().start(port=port)
        async with DemoTargets() as fresh:
            assert fresh.port != 0
        server = DemoTargets()
        await server.start(port=port, fallback=True)
        try:
            assert server.port not in (0, port)
        finally:
            await server.stop()


def test_thread_variant_starts_controls_and_stops() -> None:
    with DemoTargetsThread(outage_up=5, outage_down=1) as demo:
        assert demo.running
        with httpx.Client(base_url=demo.base_url, timeout=5) as c:
            assert c.get("/steady").text == "ok"
            demo.set_down("steady", 500)
            assert c.get("/steady").status_code == 500
            assert demo.overrides()["steady"].status == 500
            demo.set_up("steady")
            assert c.get("/steady").status_code == 200
            assert demo.hits("steady") == 3
            demo.set_hang("slow")
            demo.reset()
            assert c.get("/outage").status_code == 200
        port = demo.port
    assert not demo.running
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass
    demo.stop()  # twice is fine


def test_thread_variant_reports_bind_errors() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        demo = DemoTargetsThread()
        with pytest.raises(OSError):
            demo.start(port=busy.getsockname()[1])
        assert not demo.running


def test_module_runs_standalone_and_stops_on_sigterm() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "shiptrack_tui.demo", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert proc.stdout is not None
        base_url = proc.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:")
        assert httpx.get(f"{base_url}/steady", timeout=5).text == "ok"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


async def test_many_concurrent_connections(targets: DemoTargets) -> None:
    request = b"GET /t/%d HTTP/1.1\r\nHost: x\r\n\r\n"

    async def one(i: int) -> bytes:
        return await raw_exchange(targets, (request % i) * 3, responses=3)

    answers = await asyncio.gather(*(one(i) for i in range(300)))
    assert all(a.count(b"HTTP/1.1 200 OK") == 3 for a in answers)
    assert targets.requests == 900
