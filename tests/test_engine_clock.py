"""Time: the schedule runs on the monotonic clock; results carry the wall clock; a step is logged.

The real engine checks a real loopback target while the test steps the wall clock it was given
(the monotonic clock is the real one): nothing is mocked but the hour the wall clock shows.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from loopback_http import LoopbackTarget

from shiptrack_tui.config import Config
from shiptrack_tui.core.model import MonitorSpec
from shiptrack_tui.engine import Engine
from shiptrack_tui.storage import Store

HOUR = 3600.0


class SteppedWallClock:
    """time.time() plus an offset the test can step, as NTP or a resumed VM would."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


async def until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


@asynccontextmanager
async def running(tmp_path: Path, specs: tuple[MonitorSpec, ...],
                  wall: SteppedWallClock) -> AsyncIterator[Engine]:
    store = Store.open(tmp_path / "db.sqlite")
    engine = Engine(Config(path=tmp_path / "none.toml", monitors=specs), store, clock=wall,
                    monotonic=time.monotonic, send_notifications=False)
    task = asyncio.create_task(engine.run())
    try:
        yield engine
    finally:
        engine.request_stop()
        await asyncio.wait_for(task, 15)
        store.close()


async def test_checks_keep_running_across_a_one_hour_backward_step(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    wall = SteppedWallClock()
    with LoopbackTarget() as target:
        spec = MonitorSpec(name="api", url=target.url("api"), interval=1.0, timeout=0.8)
        with caplog.at_level(logging.WARNING, logger="shiptrack.engine"):
            async with running(tmp_path, (spec,), wall) as engine:
                await until(lambda: target.count() >= 2, 10, "two checks before the step")
                wall.offset = -HOUR
                stepped = time.monotonic()
                # On the wall clock the next slot is now an hour away: on today's code nothing runs.
                await until(lambda: target.count(since=stepped) >= 3, 8, "three checks after the step")
                await until(lambda: engine.counters.checks >= 5, 5, "their results")
        jumps = [r.getMessage() for r in caplog.records if "wall clock jumped" in r.getMessage()]
        assert len(jumps) == 1 and "jumped back by 1h" in jumps[0], jumps
    store = Store.open(tmp_path / "db.sqlite")
    stamps = [check.at for check in store.recent_checks("api", limit=100)]
    store.close()
    # Results carry the wall clock, stepped or not: those after the step are an hour behind.
    now = time.time()
    before = [at for at in stamps if abs(now - at) < 60]
    after = [at for at in stamps if abs(now - HOUR - at) < 60]
    assert len(before) >= 2 and len(after) >= 3 and len(before) + len(after) == len(stamps)


async def test_a_forward_jump_does_not_fire_every_check_at_once(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    wall = SteppedWallClock()
    with LoopbackTarget() as target:
        # 20 monitors spread over a 10 s interval: about 2 checks a second.
        specs = tuple(MonitorSpec(name=f"m{i:02d}", url=target.url(f"m{i:02d}"), interval=10.0, timeout=2.0)
                      for i in range(20))
        with caplog.at_level(logging.WARNING, logger="shiptrack.engine"):
            async with running(tmp_path, specs, wall):
                await until(lambda: target.count() >= 3, 15, "the first checks")
                await asyncio.sleep(0.3)  # past the start-up tick
                wall.offset = HOUR
                jumped = time.monotonic()
                # A bounded observation window: the burst, if any, lands within one loop pass (≤ 1 s).
                await asyncio.sleep(1.5)
                burst = target.count(since=jumped)
        assert burst <= 8, f"{burst} checks in the 1.5 s after the jump (about 3 expected; 20 = a burst)"
        assert any("jumped forward by 1h" in r.getMessage() for r in caplog.records)


def test_the_phase_comes_from_the_wall_clock_and_the_due_times_from_the_monotonic_one() -> None:
    from shiptrack_tui.core.schedule import first_due
    from shiptrack_tui.engine.scheduler import Schedule

    wall = 1_800_000_123.4
    for mono in (50.0, 98_765.25):  # two processes started at different monotonic origins
        schedule = Schedule()
        schedule.add("api", 30.0, mono, wall=wall)
        due = schedule.next_wake()
        assert due is not None
        # The same slot on the wall clock's grid, expressed on this process's monotonic clock.
        assert due - mono == pytest.approx(first_due("api", 30.0, wall) - wall)
        schedule.run_now("api")
        assert [d.recurring for d in schedule.pop_due(mono)] == [False]  # "check now" goes first


async def test_check_now_runs_at_once_after_a_backward_step(tmp_path: Path) -> None:
    from shiptrack_tui.core.model import ActionKind

    wall = SteppedWallClock()
    with LoopbackTarget() as target:
        spec = MonitorSpec(name="api", url=target.url("api"), interval=300.0, timeout=2.0)
        async with running(tmp_path, (spec,), wall) as engine:
            # The monitor is in the database once the engine knows it: an action for it can be queued.
            await until(lambda: "api" in engine.states, 10, "the engine to know the monitor")
            wall.offset = -HOUR
            asked = time.monotonic()
            await asyncio.to_thread(engine.store.add_action, ActionKind.CHECK_NOW, wall(), "api")
            engine.wake()
            await until(lambda: target.count(since=asked) >= 1, 5, "the check the operator asked for")


async def test_check_now_on_a_push_monitor_is_refused_with_the_reason(tmp_path: Path) -> None:
    from shiptrack_tui.core.model import ActionKind

    backup = MonitorSpec(name="backup", url="push", push=True, interval=3600.0, grace=60.0)
    async with running(tmp_path, (backup,), SteppedWallClock()) as engine:
        await until(lambda: "backup" in engine.states, 10, "the engine to know the monitor")
        action = await asyncio.to_thread(engine.store.add_action, ActionKind.CHECK_NOW, time.time(), "backup")
        engine.wake()
        await until(lambda: engine.store.action_outcome(action)[1] is not None, 5, "the refusal")
        applied_at, error = engine.store.action_outcome(action)
        assert applied_at is None and error is not None and "push monitor" in error


async def test_a_stop_asked_before_the_engine_runs_is_kept(tmp_path: Path) -> None:
    """A daemon's SIGTERM can land while it still starts (its HTTP server, say): the engine must
    stop as soon as it runs, not check forever (it was dropped, and the daemon hung)."""
    store = Store.open(tmp_path / "stop.db")
    try:
        engine = Engine(Config(path=tmp_path / "none.toml", monitors=()), store, send_notifications=False)
        engine.request_stop()
        await asyncio.wait_for(engine.run(), 10)
    finally:
        store.close()
