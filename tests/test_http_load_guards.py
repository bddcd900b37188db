"""What keeps HTTP load off the engine (docs/http.md, "Under load"): expensive answers are computed
once and shared within a second, a client reads its own writes at once, and the server's threads
are held to their CPU budget."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter
from http_rig import AUTH, Rig

from shiptrack_tui.config import Config
from shiptrack_tui.core.model import MonitorSpec
from shiptrack_tui.demo import DemoTargetsThread
from shiptrack_tui.storage import Store
from shiptrack_tui.web import HttpServer, WebContext, asgi_app, bind, create_app
from shiptrack_tui.web import governor as governor_module
from shiptrack_tui.web.governor import LAG_LIMIT, MAX_HOLD, PROBE_EVERY, Governor
from shiptrack_tui.web.renders import MAX_KEYS, RenderCache


def _serve(tmp_path: Path, monitors: int, **context: object) -> tuple[HttpServer, WebContext]:
    store = Store.open(tmp_path / "st.db")
    specs = tuple(MonitorSpec(name=f"m{i:04d}", url=f"http://127.0.0.1:9/{i}") for i in range(monitors))
    store.sync_monitors(specs, time.time())
    config = Config(path=tmp_path / "c.toml", monitors=specs)
    ctx = WebContext(store=store, config=lambda: config, public_api=True, **context)  # type: ignore[arg-type]
    server = HttpServer(asgi_app(create_app(ctx, extra_routers=[_burner])), bind("127.0.0.1", 0),
                        on_stop=store.close)
    server.start()
    return server, ctx


_burner = APIRouter()


@_burner.get("/burn")
def burn() -> dict[str, float]:
    """20 ms of CPU on a worker thread: a stand-in for an expensive answer."""
    started = time.thread_time()
    while time.thread_time() - started < 0.02:
        pass
    return {"burned": time.thread_time() - started}


def test_concurrent_asks_share_one_computation_then_it_expires(tmp_path: Path) -> None:
    server, ctx = _serve(tmp_path, 300)
    try:
        def ask(_: int) -> list[dict[str, object]]:
            with httpx.Client(base_url=server.url, timeout=30) as client:
                response = client.get("/api/v1/monitors")
                assert response.status_code == 200
                return response.json()

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(ask, range(8)))
        assert all(len(answer) == 300 for answer in answers)
        assert all(answer == answers[0] for answer in answers)
        assert ctx.renders.computations("monitors") == 1
        time.sleep(ctx.renders.max_age + 0.1)
        ask(0)
        assert ctx.renders.computations("monitors") == 2
    finally:
        server.stop()


def test_an_answer_is_never_older_than_max_age_when_asked() -> None:
    now = [100.0]
    cache = RenderCache(max_age=1.0, clock=lambda: now[0])
    gate = threading.Event()
    computed: list[float] = []

    def compute() -> bytes:
        gate.wait(5)
        computed.append(now[0])
        return f"{len(computed)}".encode()

    async def scenario() -> list[bytes]:
        first = asyncio.create_task(cache.get("k", compute))  # starts at t=100
        await asyncio.sleep(0.05)
        now[0] = 100.5
        joins = asyncio.create_task(cache.get("k", compute))  # fresh enough: shares the first
        await asyncio.sleep(0.05)
        now[0] = 101.5
        late = asyncio.create_task(cache.get("k", compute))  # too late for it: waits for a new one
        await asyncio.sleep(0.05)
        gate.set()
        return list(await asyncio.gather(first, joins, late))

    assert asyncio.run(scenario()) == [b"1", b"1", b"2"]
    assert cache.computations("k") == 2


def test_keys_that_clients_choose_do_not_pile_up() -> None:
    now = [0.0]
    cache = RenderCache(max_age=1.0, clock=lambda: now[0])

    async def many() -> None:
        for i in range(3 * MAX_KEYS):
            now[0] += 0.1  # ten new queries a second, each answered once
            assert await cache.get(("incidents", i), lambda: b"[]") == b"[]"

    asyncio.run(many())
    assert len(cache) <= MAX_KEYS


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    targets = DemoTargetsThread()
    targets.start()
    started = Rig(tmp_path, targets)
    yield started
    started.close()
    targets.stop()


def test_a_client_reads_its_own_write_at_once(rig: Rig) -> None:
    assert rig.monitors()["web"]["state"] != "paused"  # now shared for up to a second
    assert rig.post("/api/v1/monitors/web/pause", headers=AUTH).json()["state"] == "applied"
    assert rig.monitors()["web"]["state"] == "paused"


def _burn(tmp_path: Path, governor: Governor) -> tuple[float, float]:
    """(CPU seconds burned, wall seconds) for 10 sequential 20 ms requests."""
    server, _ctx = _serve(tmp_path, 1, governor=governor)
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            started = time.monotonic()
            burned = sum(client.get("/burn").json()["burned"] for _ in range(10))
            return burned, time.monotonic() - started
    finally:
        server.stop()


def test_the_server_is_held_to_its_cpu_budget(tmp_path: Path) -> None:
    governor = Governor(share=0.1, burst=0.02)
    burned, wall = _burn(tmp_path, governor)
    # 10 x 20 ms of CPU at a tenth of a core: at least (0.2 s - burst) / 0.1 of wall time.
    assert burned >= 0.2
    assert wall >= (burned - governor.burst) / governor.share * 0.9, wall
    assert governor.held >= 5 and governor.held_seconds > 1.0


def test_a_prefix_can_skip_the_budget(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(governor_module, "UNBUDGETED_PREFIXES", ["/burn"])  # as the push router would
    governor = Governor(share=0.1, burst=0.02)
    burned, wall = _burn(tmp_path, governor)
    # Budgeted, this much CPU could not finish before (burned - burst) / share of wall time.
    assert burned >= 0.2 and wall < (burned - governor.burst) / governor.share, wall
    assert governor.held == 0


def test_requests_give_way_while_the_engines_loop_lags(rig: Rig) -> None:
    assert rig.get("/health/live").status_code == 200
    busy = threading.Event()

    def block() -> None:  # the engine's loop busy for 4 s, as a burst of work would keep it
        busy.set()
        time.sleep(4)

    assert rig.engine.call_soon(block)
    assert busy.wait(5)
    rig.get("/health/live")  # may run at once: it may send the probe that finds the loop busy
    time.sleep(2 * PROBE_EVERY)  # (or one went out just before it: probes are PROBE_EVERY apart)
    rig.get("/health/live")  # so a probe is out now, unanswered
    time.sleep(2 * LAG_LIMIT)  # the probe unanswered for longer than the limit
    started = time.monotonic()
    assert rig.get("/health/live").status_code == 200
    waited = time.monotonic() - started
    # Held while the loop lags, but never longer than MAX_HOLD: the server stays answerable.
    assert MAX_HOLD * 0.8 <= waited < MAX_HOLD + 0.8, waited
    held = [line for line in rig.get("/metrics", headers=AUTH).text.splitlines()
            if line.startswith("shiptrack_http_requests_held_total ")]
    assert held and float(held[0].split()[1]) >= 1
