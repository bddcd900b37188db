"""A monitor's history across a rename and a removal: renaming carries the checks and incidents to
the new name (in the dashboard's own engine, and in a daemon that reads the file by itself);
`monitor rm` of a monitor with history asks for --yes first."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest
from test_tui_forms import fill, open_dashboard
from test_tui_seed import NOW, Plan, seed, wait_until
from waiting import wait_for

from shiptrack_tui import cli
from shiptrack_tui.config import ConfigEditor, load_config
from shiptrack_tui.core.model import ActionKind, MonitorHistory
from shiptrack_tui.demo import DemoTargetsThread
from shiptrack_tui.engine import Engine, EngineThread
from shiptrack_tui.engine import engine as engine_module
from shiptrack_tui.storage import Store
from shiptrack_tui.tui import ShipTrackApp
from shiptrack_tui.tui.modals.choice_modal import ChoiceModal
from shiptrack_tui.tui.modals.monitor_form import MonitorForm
from shiptrack_tui.tui.widgets.monitor_table import MonitorTable

WIDE = (160, 40)




def config_for(path: Path, url: str, extra: str = "") -> Path:
    path.write_text(f'# the shop\n[[monitor]]\nname = "api"   # history hangs on it\nurl = "{url}"\n'
                    f'interval = "1s"\n{extra}')
    return path


def monitor_rows(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [row[0] for row in conn.execute("SELECT name FROM monitor ORDER BY id")]


def status_json(db: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, dict]:
    capsys.readouterr()
    assert cli.main(["status", "--json", "--db", str(db)]) == 0
    return {row["name"]: row for row in json.loads(capsys.readouterr().out)}


async def test_a_rename_in_the_form_keeps_the_history_under_the_new_name(
        tmp_path: Path, targets: DemoTargetsThread) -> None:
    db = tmp_path / "st.db"
    # Ten checks and one incident, as "api", ending now: the running engine's retention would prune
    # raw checks from the seed's fixed day, which lies behind today by more than their days.
    seed(db, (Plan("api", "uuuxxxxuuu"),), end=time.time())
    cfg = config_for(tmp_path / "config.toml", f"{targets.base_url}/t/api")
    store = Store.open(db)
    handle = EngineThread(Engine(load_config(cfg), store))
    app = ShipTrackApp(db, engine=handle, config_path=cfg)
    try:
        async with app.run_test(size=WIDE) as pilot:
            await open_dashboard(pilot)
            await pilot.press("e")
            assert isinstance(app.screen, MonitorForm)
            await fill(pilot, "name", "web")
            await pilot.press("ctrl+s")
            table = app.screen.query_one(MonitorTable)
            await wait_until(pilot, lambda: table.selected_monitor == "web", seconds=10)
            checks = store.history("web")
            assert checks is not None and checks.checks >= 10 and checks.incidents == 1
            await wait_until(pilot, lambda: any("renamed" in n.message for n in app._notifications))
            assert [n.message for n in app._notifications] == [
                "Monitor “api” renamed to “web” in config.toml; its history goes with it"]
    finally:
        handle.stop()
        store.close()
    assert monitor_rows(db) == ["web"]  # the same row, renamed: no empty "web", no leftover "api"
    assert 'name = "web"   # history hangs on it' in cfg.read_text()


def test_a_daemon_that_reads_the_renamed_file_by_itself_carries_the_history_over(
        tmp_path: Path, targets: DemoTargetsThread, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(engine_module, "CONFIG_POLL_SECONDS", 0.05)  # the daemon's 2 s watcher, sooner
    db = tmp_path / "st.db"
    cfg = config_for(tmp_path / "config.toml", f"{targets.base_url}/t/api", "failure_threshold = 1\n")
    store = Store.open(db)
    handle = EngineThread(Engine(load_config(cfg), store, config_loader=lambda: load_config(cfg)))
    handle.start()
    try:
        targets.set_down("t/api")
        wait_for(lambda: (status_json(db, capsys).get("api") or {}).get("open_incident"))
        opened = status_json(db, capsys)["api"]["open_incident"]
        before = store.history("api")
        assert before is not None and before.incidents == 1
        # What the dashboard does on Save, from another process: the action row, then the file.
        other = Store.open(db)
        try:
            other.add_action(ActionKind.RENAME, time.time(), monitor="api", note="web", source="tui")
        finally:
            other.close()
        editor = ConfigEditor(cfg)
        editor.update_monitor("api", {"name": "web"})
        editor.save()
        wait_for(lambda: "web" in status_json(db, capsys))
        rows = status_json(db, capsys)
        assert set(rows) == {"web"}
        web = rows["web"]
        assert web["open_incident"] == opened  # the same incident, still open, under the new name
        assert web["uptime"]["1h"] is not None
        after = store.history("web")
        assert after is not None and after.checks >= before.checks and after.incidents == 1
        wait_for(lambda: (store.history("web") or MonitorHistory()).checks > after.checks)  # checked on
    finally:
        handle.stop()
        store.close()
    assert monitor_rows(db) == ["web"]


def test_a_rename_is_refused_when_the_file_kept_the_old_name_or_the_new_name_has_history(
        store_target: str | Path) -> None:
    db = store_target
    seed(db, (Plan("api", "uuu"), Plan("web", "uu")))
    store = Store.open(db)
    try:
        taken = store.add_action(ActionKind.RENAME, time.time(), monitor="api", note="web")
        assert store.apply_renames(["web"], time.time()) == []
        unsaved = store.add_action(ActionKind.RENAME, time.time(), monitor="api", note="zed")
        assert store.apply_renames(["api", "web"], time.time()) == []
        assert store.apply_renames(["zed", "web"], time.time()) == []  # both were refused for good
        assert store.action_outcome(unsaved)[1] == ("the config still has a monitor named 'api': the "
                                                    "renaming edit was not saved")
        assert store.action_outcome(taken)[1] == "'web' already has history of its own; 'api''s history " \
                                                 "stays under 'api'"
        kept = store.history("api")
        assert kept is not None and kept.checks == 3
    finally:
        store.close()


def test_monitor_rm_asks_for_yes_when_the_monitor_has_history(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "st.db"
    seed(db, (Plan("api", "uuuxxxuu"),))
    cfg = config_for(tmp_path / "config.toml", "https://api.example.test/health",
                     '\n[[monitor]]\nname = "new"\nurl = "https://new.example.test/"\n')
    where = ["--config", str(cfg), "--db", str(db)]
    before = cfg.read_text()
    assert cli.main(["monitor", "rm", "api", *where]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line == (f"shiptrack: 'api' has history in {db} (8 checks and 1 incident); rm keeps it there, out "
                    "of sight (adding the name again takes it up); add --yes to remove the monitor")
    assert cfg.read_text() == before
    assert cli.main(["monitor", "rm", "new", *where]) == 0  # never checked: nothing to lose, no question
    assert cli.main(["monitor", "rm", "api", "--yes", *where]) == 0
    assert "api" not in cfg.read_text()
    store = Store.open(db)
    try:
        kept = store.history("api")
        assert kept is not None and (kept.checks, kept.incidents) == (8, 1)  # out of sight, not gone
    finally:
        store.close()


def rename_actions(db: Path) -> list[tuple[str, str, float | None, str | None]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT monitor, note, applied_at, error FROM action WHERE kind = 'rename' "
                            "ORDER BY id").fetchall()


async def test_a_rename_onto_a_name_with_history_of_its_own_says_so(tmp_path: Path) -> None:
    db = tmp_path / "st.db"
    seed(db, (Plan("api", "uuu"), Plan("old", "uu")))  # "old" was removed from the file long ago
    cfg = config_for(tmp_path / "config.toml", "https://api.example.test/health")
    app = ShipTrackApp(db, clock=lambda: NOW, config_path=cfg)
    async with app.run_test(size=WIDE) as pilot:
        await open_dashboard(pilot)
        await pilot.press("e")
        await fill(pilot, "name", "old")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: bool(app._notifications))
        assert [n.message for n in app._notifications] == [
            "Monitor “api” renamed to “old” in config.toml; “old” has a history of its own, so “api”'s "
            "stays under the old name"]
    assert rename_actions(db) == []  # nothing for an engine to refuse later


async def test_a_rename_that_was_not_saved_is_withdrawn(tmp_path: Path) -> None:
    db = tmp_path / "st.db"
    seed(db, (Plan("api", "uuu"),))
    cfg = config_for(tmp_path / "config.toml", "https://api.example.test/health")
    app = ShipTrackApp(db, clock=lambda: NOW, config_path=cfg)
    async with app.run_test(size=WIDE) as pilot:
        await open_dashboard(pilot)
        await pilot.press("e")
        await fill(pilot, "name", "web")
        cfg.write_text(cfg.read_text() + "# edited in vim meanwhile\n")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, ChoiceModal))  # the conflict
        await pilot.press("escape")
        await wait_until(pilot, lambda: bool(rename_actions(db)) and rename_actions(db)[0][3] is not None)
    assert rename_actions(db) == [("api", "web", None, "the config file was not saved")]
