"""Checks start in groups: the scheduler looks ahead by a window sized from the launch rate.

The pure part is driven with made-up times; the engine part runs a real engine against a real
loopback target and reads, from the target's side, when each check arrived against its slot.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

from loopback_http import LoopbackTarget

from shiptrack_tui.config import Config
from shiptrack_tui.core.model import MonitorSpec
from shiptrack_tui.core.schedule import stable_offset
from shiptrack_tui.engine import Engine
from shiptrack_tui.engine.launch_window import GROUP, MAX_AHEAD, MIN_AHEAD, RATE_PERIOD, LaunchWindow
from shiptrack_tui.storage import Store


def _steady(window: LaunchWindow, rate: float, start: float, seconds: float,
            pass_every: float = 0.01) -> float:
    """Passes every `pass_every` s starting `rate` checks a second; returns the time reached."""
    now, owed = start, 0.0
    while now < start + seconds:
        now += pass_every
        owed += rate * pass_every
        started = int(owed)
        owed -= started
        window.launched(started, now)
    return now


def test_the_window_starts_small_and_follows_the_rate() -> None:
    window = LaunchWindow()
    assert window.ahead == MIN_AHEAD  # nothing known yet: no check starts more than 5 ms early
    now = _steady(window, 500.0, 0.0, RATE_PERIOD + 0.1)
    assert abs(window.ahead - GROUP / 500.0) < 0.002  # 30,000 monitors at 60 s
    now = _steady(window, 10_000 / 60, now, 2 * RATE_PERIOD + 0.1)  # a whole period at the new rate
    assert abs(window.ahead - GROUP / (10_000 / 60)) < 0.004  # a third of the rate, thrice the window


def test_the_window_is_bounded_at_both_ends() -> None:
    slow = LaunchWindow()
    _steady(slow, 2.0, 0.0, RATE_PERIOD + 0.1)
    assert slow.ahead == MAX_AHEAD  # a few monitors: never more than 150 ms early
    idle = LaunchWindow()
    _steady(idle, 0.0, 0.0, RATE_PERIOD + 0.1)
    assert idle.ahead == MAX_AHEAD
    busy = LaunchWindow()
    _steady(busy, 20_000.0, 0.0, RATE_PERIOD + 0.1, pass_every=0.001)
    assert busy.ahead == MIN_AHEAD


async def test_checks_start_early_in_groups_and_each_slot_runs_once(tmp_path: Path) -> None:
    interval = 0.5
    store = Store.open(tmp_path / "db.sqlite")
    with LoopbackTarget() as target:
        specs = tuple(MonitorSpec(name=f"m{i:02d}", url=target.url(f"m{i:02d}"), interval=interval,
                                  timeout=0.4) for i in range(20))
        wall_minus_mono = time.time() - time.monotonic()
        engine = Engine(Config(path=tmp_path / "none.toml", monitors=specs), store, send_notifications=False)
        task = asyncio.create_task(engine.run())
        await asyncio.sleep(RATE_PERIOD + 0.6)  # 40 checks a second: the look-ahead grows to its cap
        measured_from = time.monotonic()
        await asyncio.sleep(3.0)
        measured_to = time.monotonic()
        engine.request_stop()
        await asyncio.wait_for(task, 15)
        arrivals = [(at, path.lstrip("/")) for at, path in target.arrivals
                    if measured_from <= at < measured_to]
    store.close()

    early: list[float] = []  # how long before its slot each check reached the target
    per_slot: Counter[tuple[str, int]] = Counter()
    for at, name in arrivals:
        offset = stable_offset(name, interval)
        slot = round((at + wall_minus_mono - offset) / interval)
        early.append(offset + slot * interval - (at + wall_minus_mono))
        per_slot[name, slot] += 1
    assert len(arrivals) >= 80, len(arrivals)  # 40 a second for 3 s
    assert max(per_slot.values()) == 1  # a check that starts early still runs once for its slot
    assert max(early) <= MAX_AHEAD + 0.01, max(early)
    # With up to 150 ms of look-ahead, most checks start well before their slots (the margin is
    # for a loaded machine, where requests reach the target later); started one by one, none
    # would start more than 5 ms early.
    well_ahead = sum(1 for seconds in early if seconds >= 0.01)
    assert well_ahead >= len(early) // 4, (well_ahead, len(early))
