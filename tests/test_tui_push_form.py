"""Push monitors in the dashboard's form: added, edited, duplicated and turned into probed ones,
written as a careful person would (golden texts), and loaded back by the config loader."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_tui_forms import (
    COMMENTED,
    SHOP,
    WIDE,
    ReloadingEngine,
    fill,
    open_dashboard,
    problems_text,
    save_and_wait,
)
from test_tui_seed import NOW, Plan, seed, wait_until
from textual.pilot import Pilot
from textual.widgets import Checkbox, Input

from shiptrack_tui.config import load_config
from shiptrack_tui.tui import ShipTrackApp
from shiptrack_tui.tui.modals.monitor_form import MonitorForm
from shiptrack_tui.tui.widgets.monitor_table import MonitorTable

TOKEN = "nightly-backup-0123456789"
BACKUP = f"""
# The nightly backup job pings us.
[[monitor]]
name = "backup"
push = true
push_token = "{TOKEN}"   # in the job's crontab
interval = "1d"
grace = "1h"   # the job takes a while
"""
PUSHING = COMMENTED.replace(SHOP, SHOP + BACKUP)  # the monitors together, as the editor wants them


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(PUSHING)
    return path


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "st.db"
    seed(path, (Plan("api", "u" * 20), Plan("shop", "u" * 20), Plan("backup", "u" * 3, interval=86400.0)))
    return path


def shown(form: MonitorForm, key: str) -> bool:
    """Whether the field's row is on show (rows of the other kind of monitor are hidden)."""
    row = form.query_one(f"#field-{key}", Input).parent
    assert row is not None
    return row.display


async def select(pilot: Pilot[None], name: str) -> None:
    table = pilot.app.screen.query_one(MonitorTable)
    for _ in range(5):
        if table.selected_monitor == name:
            return
        await pilot.press("j")
        await pilot.pause()
    await wait_until(pilot, lambda: table.selected_monitor == name)


async def form_of(pilot: Pilot[None], name: str, key: str) -> MonitorForm:
    """The dashboard, `name` selected, then the form `key` opens (e: edit, d: duplicate)."""
    await open_dashboard(pilot)
    await select(pilot, name)
    await pilot.press(key)
    form = pilot.app.screen
    assert isinstance(form, MonitorForm)
    return form


async def test_a_push_monitor_is_added_with_the_fields_it_has(cfg: Path, db: Path) -> None:
    engine = ReloadingEngine()
    app = ShipTrackApp(db, engine=engine, clock=lambda: NOW, config_path=cfg)
    async with app.run_test(size=WIDE) as pilot:
        await open_dashboard(pilot)
        await pilot.press("plus")
        form = app.screen
        assert isinstance(form, MonitorForm)
        assert shown(form, "url") and not shown(form, "grace")
        await fill(pilot, "name", "reports")
        await pilot.press("shift+tab", "space")  # the push checkbox is above the name
        assert form.query_one("#field-push", Checkbox).value
        assert not shown(form, "url") and not shown(form, "timeout") and shown(form, "grace")
        assert form.query_one("#field-failure_threshold", Input).placeholder.startswith("default: 1 ")
        await fill(pilot, "interval", "1h")
        assert form.query_one("#field-grace", Input).placeholder.startswith("default: 6m ")
        await fill(pilot, "grace", "10m")
        assert "✓ valid" in problems_text(app)  # no URL asked for
        await save_and_wait(pilot, cfg, PUSHING)
        await wait_until(pilot, engine.event.is_set)
        await wait_until(pilot, lambda: any(n.message == "Push monitor “reports” added to config.toml; its "
                                            "ping URL is in the detail pane" for n in app._notifications))
    added = '\n[[monitor]]\nname = "reports"\npush = true\ninterval = "1h"\ngrace = "10m"\n'
    assert cfg.read_text() == PUSHING.replace(BACKUP, BACKUP + added)
    reports = next(spec for spec in engine.reloaded[-1].monitors if spec.name == "reports")
    assert reports.push and (reports.interval, reports.grace) == (3600.0, 600.0)
    assert (reports.failure_threshold, reports.recovery_threshold) == (1, 1)


async def test_editing_a_push_monitor_changes_only_what_was_edited(cfg: Path, db: Path) -> None:
    app = ShipTrackApp(db, clock=lambda: NOW, config_path=cfg)
    async with app.run_test(size=WIDE) as pilot:
        form = await form_of(pilot, "backup", "e")
        assert form.push and not shown(form, "url") and form.texts()["grace"] == "1h"
        await fill(pilot, "grace", "2h")
        await save_and_wait(pilot, cfg, PUSHING)
    assert cfg.read_text() == PUSHING.replace('grace = "1h"   # the job', 'grace = "2h"   # the job')
    (backup,) = [spec for spec in load_config(cfg).monitors if spec.name == "backup"]
    assert backup.grace == 7200.0


async def test_a_push_monitor_turned_into_a_probed_one_loses_its_push_keys(cfg: Path, db: Path) -> None:
    app = ShipTrackApp(db, clock=lambda: NOW, config_path=cfg)
    async with app.run_test(size=WIDE) as pilot:
        form = await form_of(pilot, "backup", "e")
        form.query_one("#field-push", Checkbox).focus()
        await pilot.press("space")
        assert shown(form, "url") and not shown(form, "grace")
        await pilot.press("ctrl+s")  # a probed monitor needs a URL: said, and nothing written
        await wait_until(pilot, lambda: "URL is required" in problems_text(app))
        await fill(pilot, "url", "https://backup.example.com/health")
        await save_and_wait(pilot, cfg, PUSHING)
    expected = COMMENTED.replace(SHOP, SHOP + (
        '\n# The nightly backup job pings us.\n[[monitor]]\nname = "backup"\ninterval = "1d"\n'
        'url = "https://backup.example.com/health"\n'))
    assert cfg.read_text() == expected
    (backup,) = [spec for spec in load_config(cfg).monitors if spec.name == "backup"]
    assert not backup.push and backup.url == "https://backup.example.com/health"


async def test_a_duplicated_push_monitor_gets_a_token_of_its_own(cfg: Path, db: Path) -> None:
    app = ShipTrackApp(db, clock=lambda: NOW, config_path=cfg)
    async with app.run_test(size=WIDE) as pilot:
        form = await form_of(pilot, "backup", "d")
        assert form.push and form.texts()["name"] == "copy of backup"
        assert "✓ valid" in problems_text(app)  # the original's token would be a duplicate
        checkbox = form.query_one("#field-push", Checkbox)
        checkbox.focus()
        await pilot.press("enter")  # saves, as from any field: it does not untick the box
        await wait_until(pilot, lambda: cfg.read_text() != PUSHING)
        assert checkbox.value
    assert cfg.read_text() == PUSHING.replace(BACKUP, BACKUP + (
        '\n[[monitor]]\nname = "copy of backup"\npush = true\ninterval = "1d"\ngrace = "1h"\n'))
    names = [spec.name for spec in load_config(cfg).monitors if spec.push]
    assert names == ["backup", "copy of backup"]
