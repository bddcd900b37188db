"""The dashboard checks an action before writing it, but the engine decides: the dashboard says
what happened once the engine has applied the action, or why the engine refused it (the incident
resolved while the operator typed a note)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from test_tui_seed import settled, wait_until
from textual.widgets import Input

from shiptrack_tui.config import Config
from shiptrack_tui.core.model import MonitorSpec
from shiptrack_tui.demo import DemoTargetsThread
from shiptrack_tui.engine import Engine, EngineThread
from shiptrack_tui.storage import Store
from shiptrack_tui.tui import ShipTrackApp
from shiptrack_tui.tui.modals.note_modal import NoteModal


def _incident_states(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [state for (state,) in conn.execute("SELECT state FROM incident ORDER BY id")]


def _record_toasts(app: ShipTrackApp) -> list[tuple[str, str]]:
    """Every toast the app is asked to show, in order: a 3 s toast can be gone before a slow
    machine reaches the assertion, so the screen's list alone would not say what was shown."""
    shown: list[tuple[str, str]] = []
    show = app.notify

    def recording(message: str, *, title: str = "", **options: object) -> None:
        shown.append((title, message))
        show(message, title=title, **options)  # type: ignore[arg-type]

    app.notify = recording  # type: ignore[method-assign]
    return shown


async def test_a_note_the_engine_refuses_is_reported_not_claimed(tmp_path: Path) -> None:
    db = tmp_path / "live.db"
    targets = DemoTargetsThread()
    targets.start()
    store = Store.open(db)
    try:
        spec = MonitorSpec(name="api", url=f"{targets.base_url}/t/api", interval=0.5, timeout=5.0,
                           failure_threshold=1, recovery_threshold=1)
        targets.set_down("t/api")
        handle = EngineThread(Engine(Config(path=tmp_path / "none.toml", monitors=(spec,)), store))
        app = ShipTrackApp(db, engine=handle)
        shown = _record_toasts(app)
        async with app.run_test(size=(120, 40)) as pilot:
            await settled(pilot)
            await wait_until(pilot, lambda: _incident_states(db) == ["open"])
            await pilot.pause(0.5)  # the dashboard's view has the open incident
            await pilot.press("n")  # applied: said once the engine has applied it
            await wait_until(pilot, lambda: isinstance(app.screen, NoteModal))
            app.screen.query_one("#note-input", Input).value = "on it"
            await pilot.press("enter")
            await wait_until(pilot, lambda: ("", "Note added to incident #1.") in shown)
            await pilot.press("n")
            await wait_until(pilot, lambda: isinstance(app.screen, NoteModal))
            # While the operator types, the target recovers and the engine resolves the incident.
            targets.set_up("t/api")
            await wait_until(pilot, lambda: _incident_states(db) == ["resolved"])
            app.screen.query_one("#note-input", Input).value = "looking into it"
            await pilot.press("enter")
            await wait_until(pilot, lambda: any(title == "Not done" for title, _ in shown))
            await pilot.pause(0.5)
            # Only what happened: no "Note added" for the refused note.
            assert shown == [("", "Note added to incident #1."), ("Not done", "api has no open incident.")]
        with sqlite3.connect(db) as conn:
            assert conn.execute("SELECT kind, error FROM action ORDER BY id").fetchall() == [
                ("note", None), ("note", "api has no open incident")]
    finally:
        store.close()
        targets.stop()


async def test_an_action_no_engine_takes_up_says_it_is_not_applied_yet(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from test_tui_forms import ReloadingEngine
    from test_tui_seed import Plan, seed

    from shiptrack_tui.tui.screens import monitor_actions

    monkeypatch.setattr(monitor_actions, "OUTCOME_WAIT", 0.5)  # how long the dashboard watches
    db = tmp_path / "st.db"
    seed(db, (Plan("api", "u" * 5),))
    app = ShipTrackApp(db, engine=ReloadingEngine())  # an engine that never applies an action
    shown = _record_toasts(app)
    async with app.run_test(size=(120, 40)) as pilot:
        await settled(pilot)
        await pilot.press("c")
        await wait_until(pilot, lambda: bool(shown))
        await pilot.pause(0.3)
        assert shown == [("", "Not applied yet (is the engine busy?): Checking api now.")]
