"""Seeding helpers for the dashboard tests: a real SQLite store filled through the real pipeline.

Histories are folded through `core.incidents.step`, so states, incidents and timelines are exactly
what the engine would have stored. The tests here check the dashboard's read layer on top of it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from textual.pilot import Pilot

from shiptrack_tui.core.incidents import Event, acknowledge, pause, step
from shiptrack_tui.core.model import (
    CheckResult,
    MonitorSpec,
    MonitorState,
    Outcome,
    Policy,
    TimelineEntry,
    TimelineKind,
)
from shiptrack_tui.storage.pipeline import PipelineWrite
from shiptrack_tui.storage.store import Store
from shiptrack_tui.tui.data import read_detail, read_overview
from shiptrack_tui.tui.screens.dashboard import Dashboard

NOW: Final = 1_795_000_000.0  # 2026-11-18 UTC: every test runs at this instant
POLICY: Final = Policy(failure_threshold=3, recovery_threshold=2)


@dataclass(frozen=True, slots=True)
class Plan:
    """A monitor's history: `pattern` is one character per check, oldest first (u/d/x = up/degraded/down)."""

    name: str
    pattern: str
    tags: tuple[str, ...] = ()
    interval: float = 60.0
    paused: bool = False
    ack_note: str | None = None


@contextmanager
def open_store(path: Path) -> Iterator[Store]:
    store = Store.open(path)
    try:
        yield store
    finally:
        store.close()


def _latency(name: str, index: int) -> float:
    base = 20.0 + 7.0 * (sum(map(ord, name)) % 9)
    return round(base + 6.0 * math.sin(index / 3.0) + (index % 5), 1)


def fold(plan: Plan, end: float = NOW) -> list[PipelineWrite]:
    """The writes the engine would have made for this history, ending at `end`."""
    state = MonitorState()
    writes: list[PipelineWrite] = []
    count = len(plan.pattern)
    for index, char in enumerate(plan.pattern):
        at = end - (count - index) * plan.interval
        outcome = {"u": Outcome.UP, "d": Outcome.DEGRADED, "x": Outcome.DOWN}[char]
        down = outcome is Outcome.DOWN
        result = CheckResult(
            monitor=plan.name,
            at=at,
            outcome=outcome,
            latency_ms=None if down else _latency(plan.name, index),
            status_code=503 if down else 200,
            reason="HTTP 503 (expected 200-399)" if down else None,
            cert_days_left=None if plan.name.startswith("tcp") else 42,
        )
        state, events = step(state, result, POLICY)
        timeline: tuple[TimelineEntry, ...] = ()
        if any(type(event).__name__ == "IncidentOpened" for event in events):
            timeline = (TimelineEntry(at + 1, TimelineKind.NOTIFIED, "[OPEN] sent to 1 URL"),)
        writes.append(PipelineWrite(plan.name, state, result=result, events=tuple(events), timeline=timeline))
    tail: list[Event] = []
    if plan.ack_note is not None and state.incident is not None:
        state, tail = acknowledge(state, plan.name, end - 10, plan.ack_note)
        writes.append(PipelineWrite(plan.name, state, events=tuple(tail)))
    if plan.paused:
        state, tail = pause(state, plan.name, end - 5)
        writes.append(PipelineWrite(plan.name, state, events=tuple(tail)))
    return writes


def seed(path: Path, plans: Sequence[Plan], end: float = NOW) -> None:
    """Create the monitors and store their histories through the store's batch write."""
    with open_store(path) as store:
        specs = [MonitorSpec(plan.name, f"https://{plan.name}.example.test/health", interval=plan.interval,
                             tags=plan.tags) for plan in plans]
        store.sync_monitors(specs, end - 86400)
        writes = [write for plan in plans for write in fold(plan, end)]
        for start in range(0, len(writes), 500):
            store.commit_batch(writes[start:start + 500])


ALL_UP: Final = (
    Plan("api", "u" * 40, tags=("prod",)),
    Plan("web", "u" * 39 + "d", tags=("prod",)),
    Plan("search", "u" * 40, tags=("staging",)),
    Plan("tcp-db", "u" * 40),
)
WITH_INCIDENT: Final = (
    Plan("api", "u" * 30 + "x" * 10, tags=("prod",)),
    Plan("web", "u" * 20 + "xxxx" + "u" * 16, tags=("prod",)),
    Plan("search", "u" * 37 + "xx" + "x", tags=("staging",)),
    Plan("billing", "u" * 38 + "x", tags=("staging",)),
    Plan("tcp-db", "u" * 40, paused=True),
)
WITH_ACK: Final = (
    Plan("api", "u" * 30 + "x" * 10, tags=("prod",), ack_note="on it — rolling back"),
    Plan("web", "u" * 40, tags=("prod",)),
    Plan("tcp-db", "u" * 40),
)


async def wait_until(pilot: Pilot[None], condition: Callable[[], bool], seconds: float = 20.0) -> None:
    """Pause until `condition()`; at least `seconds` (a pass takes longer on a busy machine)."""
    for _ in range(int(seconds / 0.02)):
        if condition():
            await pilot.pause()
            return
        await pilot.pause(0.02)
    raise AssertionError("condition not reached in time")


async def settled(pilot: Pilot[None]) -> Dashboard:
    def ready() -> bool:
        screen = pilot.app.screen
        return isinstance(screen, Dashboard) and screen.settled
    await wait_until(pilot, ready)
    await pilot.pause()
    dashboard = pilot.app.screen
    assert isinstance(dashboard, Dashboard)
    await wait_until(pilot, lambda: dashboard.settled)
    return dashboard


def test_overview_reads_states_sparks_and_incidents(tmp_path: Path) -> None:
    db = tmp_path / "st.db"
    seed(db, WITH_INCIDENT)
    with open_store(db) as store:
        overview = read_overview(store, NOW)
    names = [s.name for s in overview.summaries]
    assert sorted(names) == ["api", "billing", "search", "tcp-db", "web"]
    by_name = {s.name: s for s in overview.summaries}
    assert by_name["api"].state.status.value == "down"
    assert by_name["api"].open_incident_id is not None
    assert by_name["billing"].state.status.value == "pending"
    assert by_name["tcp-db"].state.paused
    assert len(overview.sparks["web"]) == 10
    assert overview.sparks["api"][-1] is None  # the last check failed: a gap in the sparkline
    # Open incidents first, then resolved ones; each with its timeline.
    states = [incident.state.value for incident in overview.incidents]
    assert states[:2] == ["open", "open"] and states[-1] == "resolved"
    opened = overview.incidents[0]
    assert [e.kind.value for e in opened.events][:2] == ["opened", "notified"]


def test_detail_reads_windows_series_and_checks(tmp_path: Path) -> None:
    db = tmp_path / "st.db"
    seed(db, ALL_UP)
    with open_store(db) as store:
        overview = read_overview(store, NOW)
        detail = read_detail(store, overview.summaries[0], "1h", NOW)
    assert set(detail.stats) == {"1h", "24h", "7d"}
    assert detail.stats["1h"].uptime == 100.0
    assert any(value is not None for value in detail.series)
    assert len(detail.checks) == 12 and detail.checks[0].at > detail.checks[-1].at
