"""Dashboard behaviour with Pilot on a real SQLite database seeded through the store."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from daemon_lock import held_by
from loopback_http import LoopbackTarget
from rich.console import Console
from test_tui_seed import (
    ALL_UP,
    NOW,
    POLICY,
    WITH_INCIDENT,
    Plan,
    fold,
    open_store,
    seed,
    settled,
    wait_until,
)
from textual.binding import Binding

from shiptrack_tui.config import Config, operator
from shiptrack_tui.core.model import ActionKind, IncidentState, MonitorSpec
from shiptrack_tui.demo import DemoTargetsThread
from shiptrack_tui.engine import Engine, EngineThread
from shiptrack_tui.storage import Store
from shiptrack_tui.tui import ShipTrackApp
from shiptrack_tui.tui.modals.help_screen import HelpScreen
from shiptrack_tui.tui.modals.note_modal import NoteModal
from shiptrack_tui.tui.screens.config_error import ConfigErrorScreen
from shiptrack_tui.tui.screens.dashboard import Dashboard
from shiptrack_tui.tui.widgets.detail_pane import DetailPane
from shiptrack_tui.tui.widgets.monitor_table import GROUP_PREFIX, MonitorTable, monitor_of
from shiptrack_tui.tui.widgets.status_bar import StatusBar

WIDE = (160, 40)


class RecordingEngine:
    """Stands in at the EngineHandle interface boundary: records calls, runs nothing."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.listeners: list[Callable[[set[str]], None]] = []
        self.stopped = threading.Event()

    def start(self) -> None:
        self.calls.append("start")

    def stop(self, timeout: float | None = None) -> None:
        self.calls.append("stop")
        self.stopped.set()

    def wake(self) -> None:
        self.calls.append("wake")

    def add_listener(self, callback: Callable[[set[str]], None]) -> None:
        self.listeners.append(callback)


def actions(db: Path) -> list[tuple[str, str | None, int | None, str | None, str]]:
    with sqlite3.connect(db) as conn:
        query = "SELECT kind, monitor, incident_id, note, source FROM action ORDER BY id"
        return conn.execute(query).fetchall()


def table_rows(app: ShipTrackApp) -> list[str]:
    table = app.screen.query_one(MonitorTable)
    return [row.key.value or "" for row in table.ordered_rows]


def incident_id_of(db: Path, monitor: str) -> int:
    with open_store(db) as store:
        (incident,) = [i for i in store.incidents(open_only=True) if i.monitor == monitor]
        return incident.id


@pytest.fixture
def incident_db(tmp_path: Path) -> Path:
    db = tmp_path / "shiptrack.db"
    seed(db, WITH_INCIDENT)
    return db


async def test_trouble_first_and_header_counts(incident_db: Path) -> None:
    app = ShipTrackApp(incident_db, clock=lambda: NOW)
    async with app.run_test(size=WIDE) as pilot:
        await settled(pilot)
        assert table_rows(app) == ["api", "search", "billing", "web", "tcp-db"]
        counts = app.screen.query_one(StatusBar).counts
        assert (counts["down"], counts["pending"], counts["up"], counts["paused"]) == (2, 1, 1, 1)


async def test_ack_with_note_writes_the_action_row_and_wakes_the_engine(incident_db: Path) -> None:
    engine = RecordingEngine()
    app = ShipTrackApp(incident_db, engine=engine, clock=lambda: NOW)
    async with app.run_test(size=WIDE) as pilot:
        await settled(pilot)
        await pilot.press("a")
        assert isinstance(app.screen, NoteModal)
        await pilot.press(*"rolling back")
        await pilot.press("enter")
        await wait_until(pilot, lambda: "wake" in engine.calls)
    assert actions(incident_db) == [
        ("ack", "api", incident_id_of(incident_db, "api"), "rolling back", operator("dashboard"))]


async def test_ack_cancelled_writes_nothing(incident_db: Path) -> None:
    app = ShipTrackApp(incident_db, clock=lambda: NOW)
    async with app.run_test(size=WIDE) as pilot:
        await settled(pilot)
        await pilot.press("a", "x", "escape")
        assert isinstance(app.screen, Dashboard)
        await pilot.pause()
    assert actions(incident_db) == []


async def test_note_on_open_incident(incident_db: Path) -> None:
    app = ShipTrackApp(incident_db, clock=lambda: NOW)
    async with app.run_test(size=WIDE) as pilot:
        await settled(pilot)
        await pilot.press("j", "n", *"db failover", "enter")
        await wait_until(pilot, lambda: bool(actions(incident_db)))
    search_incident = incident_id_of(incident_db, "search")
    assert actions(incident_db) == [("note", "search", search_incident, "db failover", operator("dashboard"))]


async def test_pause_resume_and_check_now_write_actions(incident_db: Path) -> None:
    app = ShipTrackApp(incident_db, clock=lambda: NOW)
    async with app.run_test(size=WIDE) as pilot:
        await settled(pilot)
        await pilot.press("c")
        await wait_until(pilot, lambda: len(actions(incident_db)) == 1)
        await pilot.press("p")
        await wait_until(pilot, lambda: len(actions(incident_db)) == 2)
        await pilot.press("ctrl+end", "p")  # the paused tcp-db sorts last: resume it
        await wait_until(pilot, lambda: len(actions(incident_db)) == 3)
    assert actions(incident_db) == [
        (ActionKind.CHECK_NOW.value, "api", None, None, operator("dashboard")),
        (ActionKind.PAUSE.value, "api", None, None, operator("dashboard")),
        (ActionKind.RESUME.value, "tcp-db", None, None, operator("dashboard")),
    ]


async def test_ack_without_open_incident_only_warns(tmp_path: Path) -> None:
    db = tmp_path / "up.db"
    seed(db, ALL_UP)
    app = ShipTrackApp(db, clock=lambda: NOW)
    async with app.run_test(size=WIDE) as pilot:
        await settled(pilot)
        await pilot.press("a")
        assert isinstance(app.screen, Dashboard)
        assert any("no open incident" in n.message for n in app._notifications)
    assert actions(db) == []


async def test_filter_by_tag_state_and_name_then_escape_clears(incident_db: Path) -> None:
    app = ShipTrackApp(incident_db, clock=lambda: NOW)
    async with app.run_test(size=WIDE) as pilot:
        await settled(pilot)
        await pilot.press("slash", *"staging")
        assert table_rows(app) == ["search", "billing"]
        await pilot.press(*["backspace"] * 7, *"down")
        assert table_rows(app) == ["api", "search"]
        await pilot.press(*["backspace"] * 4, *"web")
        assert table_rows(app) == ["web"]
        await pilot.press("escape")
        assert table_rows(app) == ["api", "search", "billing", "web", "tcp-db"]
        assert isinstance(app.focused, MonitorTable)


async def test_grouping_by_tag_adds_header_rows(incident_db: Path) -> None:
    app = ShipTrackApp(incident_db, clock=lambda: NOW)
    async with app.run_test(size=WIDE) as pilot:
        await settled(pilot)
        await pilot.press("g")
        rows = [f"#{row.removeprefix(GROUP_PREFIX)}" if row.startswith(GROUP_PREFIX) else monitor_of(row)
                for row in table_rows(app)]
        assert rows == ["#prod", "api", "web", "#staging", "search", "billing", "#untagged", "tcp-db"]


async def test_window_keys_switch_the_chart(incident_db: Path) -> None:
    app = ShipTrackApp(incident_db, clock=lambda: NOW)
    async with app.run_test(size=WIDE) as pilot:
        dashboard = await settled(pilot)
        pane = dashboard.query_one(DetailPane)
        assert pane.detail is not None and pane.detail.window == "1h"
        for key, window in (("2", "24h"), ("3", "7d"), ("1", "1h")):
            await pilot.press(key)
            await wait_until(pilot, lambda w=window: pane.detail is not None and pane.detail.window == w)
            assert pane.window == window


async def test_selection_follows_the_cursor(incident_db: Path) -> None:
    app = ShipTrackApp(incident_db, clock=lambda: NOW)
    async with app.run_test(size=WIDE) as pilot:
        dashboard = await settled(pilot)
        pane = dashboard.query_one(DetailPane)
        await pilot.press("j", "j")
        await wait_until(pilot, lambda: pane.detail is not None and pane.detail.summary.name == "billing")
        await pilot.press("k")
        await wait_until(pilot, lambda: pane.detail is not None and pane.detail.summary.name == "search")


async def test_help_lists_every_key(incident_db: Path) -> None:
    app = ShipTrackApp(incident_db, clock=lambda: NOW)
    async with app.run_test(size=WIDE) as pilot:
        dashboard = await settled(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        console = Console(width=200, record=True, color_system=None)
        console.print(app.screen.table)
        listed = console.export_text()
        for binding in dashboard.BINDINGS:
            assert isinstance(binding, Binding)
            if binding.key not in ("j", "k"):  # the focused list's own j/k come first
                assert binding.tooltip in listed, f"{binding.key} missing from help"
        await pilot.press("escape")
        assert isinstance(app.screen, Dashboard)


async def test_palette_offers_the_actions(incident_db: Path) -> None:
    app = ShipTrackApp(incident_db, clock=lambda: NOW)
    async with app.run_test(size=WIDE) as pilot:
        dashboard = await settled(pilot)
        titles = {command.title: command for command in app.get_system_commands(dashboard)}
        wanted = {"Acknowledge incident", "Check now", "Pause / resume", "Filter monitors", "Keys"}
        assert wanted <= set(titles)
        await titles["Check now"].callback()
        await wait_until(pilot, lambda: len(actions(incident_db)) == 1)
    assert actions(incident_db)[0][:2] == ("check_now", "api")


async def test_quit_stops_the_engine(tmp_path: Path) -> None:
    """Quitting waits for the check in flight and its write; the store is closed after, never under it."""
    db = tmp_path / "live.db"
    with LoopbackTarget(slow_seconds=6.0) as target:  # longer than the old 5 s join
        specs = tuple(MonitorSpec(name=f"slow{i}", url=target.url(f"slow/{i}"), interval=9.0, timeout=8.0)
                      for i in range(3))
        store = Store.open(db)
        handle = EngineThread(Engine(Config(path=tmp_path / "none.toml", monitors=specs), store))
        app = ShipTrackApp(db, engine=handle)
        try:
            async with app.run_test(size=WIDE) as pilot:
                await settled(pilot)
                await wait_until(pilot, lambda: target.count() >= 1, seconds=12)  # a check in flight
                await pilot.press("q")
            assert not handle.running  # the engine thread has ended before the app returned
        finally:
            store.close()  # what launch.py does next
        requested = {path.removeprefix("/slow/") for path in target.paths()}
    with sqlite3.connect(db) as conn:
        rows = conn.execute('SELECT m.name, c.latency_us FROM "check" c JOIN monitor m ON m.id = c.monitor_id'
                            ).fetchall()
    # Every check that started was answered (6 s later) and stored: none was cut off by the quit.
    assert {name.removeprefix("slow") for name, _ in rows} == requested
    assert all(latency_us >= 5_900_000 for _, latency_us in rows)


async def test_engine_listener_from_another_thread_refreshes(incident_db: Path) -> None:
    engine = RecordingEngine()
    app = ShipTrackApp(incident_db, engine=engine, clock=lambda: NOW + 60)
    async with app.run_test(size=WIDE) as pilot:
        await settled(pilot)
        with open_store(incident_db) as store:
            recovered = fold(Plan("api", "u" * 30 + "x" * 10 + "uu", tags=("prod",)), NOW + 60)[-2:]
            store.commit_batch(recovered)
        thread = threading.Thread(target=engine.listeners[0], args=({"api"},))
        thread.start()
        thread.join()
        await wait_until(pilot, lambda: "api" not in table_rows(app)[:2])
        assert table_rows(app)[:2] == ["search", "billing"]


async def test_attached_dashboard_sees_another_connections_commits(incident_db: Path) -> None:
    app = ShipTrackApp(incident_db, attached_pid=4242, clock=lambda: NOW + 120)
    with held_by(incident_db, 4242):  # a daemon with this pid holds the lock
        async with app.run_test(size=WIDE) as pilot:
            await settled(pilot)
            assert "attached to daemon (pid 4242)" in str(app.screen.query_one(StatusBar).render())
            assert table_rows(app)[0] == "api"
            # Another process (the daemon) resolves api's incident: only the data_version poll can tell us.
            with open_store(incident_db) as store:
                writes = fold(Plan("api", "u" * 30 + "x" * 10 + "uu", tags=("prod",)), NOW + 120)
                store.commit_batch(writes[-2:])
            await wait_until(pilot, lambda: table_rows(app)[0] == "search")
            counts = app.screen.query_one(StatusBar).counts
            assert counts["down"] == 1


async def test_narrow_terminal_shows_one_pane_and_tab_cycles(incident_db: Path) -> None:
    app = ShipTrackApp(incident_db, clock=lambda: NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        dashboard = await settled(pilot)
        assert dashboard.has_class("-narrow")
        assert dashboard.query_one("#monitors-pane").display and not dashboard.query_one("#side").display
        await pilot.press("tab")
        assert dashboard.active_pane == "detail"
        assert dashboard.query_one("#detail-pane").display
        assert not dashboard.query_one("#monitors-pane").display
        await pilot.press("tab")
        assert dashboard.active_pane == "timeline"
        await pilot.press("tab")
        assert dashboard.active_pane == "monitors"
        await pilot.press("enter")
        assert dashboard.active_pane == "detail"


async def test_config_error_screen_and_quit(tmp_path: Path) -> None:
    message = "config.toml:7: interval must be at least 1s, got \"500ms\""
    app = ShipTrackApp(tmp_path / "st.db", config_error=message)
    async with app.run_test(size=(80, 24)) as pilot:
        assert isinstance(app.screen, ConfigErrorScreen)
        text = str(app.screen.query_one("#config-error-lines").render())
        assert "config.toml:7" in text
        await pilot.press("q")
    assert app.return_code == 0


async def test_a_failing_read_is_a_notification_not_a_crash(tmp_path: Path) -> None:
    garbage = tmp_path / "not-a-database.db"
    garbage.write_bytes(b"this is not SQLite" * 100)
    app = ShipTrackApp(garbage, clock=lambda: NOW)
    async with app.run_test(size=WIDE) as pilot:
        await wait_until(pilot, lambda: any(n.severity == "error" for n in app._notifications))
        assert isinstance(app.screen, Dashboard)
        await pilot.press("j")
        assert app.is_running


async def test_recovered_plan_is_consistent(tmp_path: Path) -> None:
    """A monitor that goes down past its threshold and recovers, checked by the real engine: it opens
    and resolves one incident, the dashboard shows it up with nothing open, and `fold` (the helper
    the seeded tests rely on) reaches the state the engine stored from the same history."""
    db = tmp_path / "live.db"
    targets = DemoTargetsThread()
    targets.start()
    targets.set_down("t/api")
    spec = MonitorSpec(name="api", url=f"{targets.base_url}/t/api", interval=1.0, timeout=0.5,
                       failure_threshold=POLICY.failure_threshold,
                       recovery_threshold=POLICY.recovery_threshold)
    store = Store.open(db)
    handle = EngineThread(Engine(Config(path=tmp_path / "none.toml", monitors=(spec,)), store))
    app = ShipTrackApp(db, engine=handle)
    try:
        async with app.run_test(size=WIDE) as pilot:
            await settled(pilot)
            bar = app.screen.query_one(StatusBar)
            await wait_until(pilot, lambda: bar.incidents == 1 and bar.counts["down"] == 1, seconds=15)
            targets.set_up("t/api")
            await wait_until(pilot, lambda: bar.incidents == 0 and bar.counts["up"] == 1, seconds=15)
            assert table_rows(app) == ["api"]
            await pilot.press("q")
        assert not handle.running
        stored = sorted(store.recent_checks("api", limit=1000), key=lambda check: check.at)
        (incident,) = store.incidents()
        engine_state = handle.engine.states["api"]
    finally:
        store.close()
        targets.stop()
    pattern = "".join({"up": "u", "degraded": "d", "down": "x"}[str(c.outcome)] for c in stored)
    first_down = pattern.index("x")
    resolved_by = pattern.index("uu", first_down)  # two good checks in a row (recovery_threshold 2)
    assert incident.state is IncidentState.RESOLVED
    # Checks are stored to the millisecond; incidents keep the engine's float.
    assert incident.started_at == pytest.approx(stored[first_down].at, abs=0.002)
    assert incident.resolved_at == pytest.approx(stored[resolved_by + 1].at, abs=0.002)
    assert engine_state.incident is None and engine_state.status.value == "up"
    folded = fold(Plan("api", pattern))[-1].state
    assert (folded.status, folded.consecutive_failures, folded.consecutive_successes, folded.incident) == (
        engine_state.status, engine_state.consecutive_failures, engine_state.consecutive_successes, None)
