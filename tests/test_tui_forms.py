"""Editing monitors from the dashboard: the forms write the user's file, byte for byte, like a careful
person would (golden texts), validate as you type with check-config's words, and show conflicts."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from test_tui_seed import NOW, Plan, seed, settled, wait_until
from textual.pilot import Pilot
from textual.widgets import Input, Static

from shiptrack_tui.config import Config, load_config
from shiptrack_tui.tui import ShipTrackApp
from shiptrack_tui.tui.config_edits import MonitorEdit, check_edit, load_snapshot
from shiptrack_tui.tui.form_fields import form_problem
from shiptrack_tui.tui.modals.choice_modal import ChoiceModal
from shiptrack_tui.tui.modals.monitor_form import WAITING, MonitorForm
from shiptrack_tui.tui.screens.dashboard import Dashboard
from shiptrack_tui.tui.screens.monitor_actions import NO_FILE
from shiptrack_tui.tui.widgets.detail_pane import DetailPane
from shiptrack_tui.tui.widgets.monitor_table import MonitorTable

WIDE = (160, 40)

COMMENTED = """\
# ShipTrack config for the shop.
# Keep it tidy.

[defaults]
interval = "60s"   # once a minute
timeout = "10s"

# --- monitors ---------------------------------------------------------------

# The public API.
[[monitor]]
name = "api"        # never rename: history hangs on it
url = "https://api.example.com/health"
interval = "30s"    # tighter than the default
tags = [
    "prod",   # pages people
    "api",
]
# body_contains = "ok"

# The shop front.
[[monitor]]
name = "shop"
url = "https://shop.example.com/"
[monitor.headers]
Accept = "text/html"   # like a browser

# --- maintenance ------------------------------------------------------------

# Backups every night.
[[maintenance]]
name = "backups"
at = "02:00"
duration = "30m"
"""

SHOP = """\
# The shop front.
[[monitor]]
name = "shop"
url = "https://shop.example.com/"
[monitor.headers]
Accept = "text/html"   # like a browser
"""


class ReloadingEngine:
    """Stands in at the EngineHandle boundary: records the configs the dashboard hands over."""

    def __init__(self) -> None:
        self.reloaded: list[Config] = []
        self.event = threading.Event()

    def start(self) -> None: ...

    def stop(self, timeout: float = 5.0) -> None: ...

    def wake(self) -> None: ...

    def add_listener(self, callback: Callable[[set[str]], None]) -> None: ...

    def reload(self, config: Config) -> None:
        self.reloaded.append(config)
        self.event.set()


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(COMMENTED)
    return path


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "st.db"
    seed(path, (Plan("api", "u" * 20, tags=("prod", "api")), Plan("shop", "u" * 20)))
    return path


async def open_dashboard(pilot: Pilot[None]) -> Dashboard:
    dashboard = await settled(pilot)
    await wait_until(pilot, lambda: dashboard.snapshot is not None)
    return dashboard


async def fill(pilot: Pilot[None], key: str, text: str) -> None:
    """Clear a form field and type into it, key by key (validation runs on every change)."""
    field = pilot.app.screen.query_one(f"#field-{key}", Input)
    field.focus()
    await pilot.press("home", "ctrl+k", *text)


async def open_form(pilot: Pilot[None], key: str) -> MonitorForm:
    """The dashboard, then the form that `key` opens (e: edit, plus: add, d: duplicate)."""
    await open_dashboard(pilot)
    await pilot.press(key)
    form = pilot.app.screen
    assert isinstance(form, MonitorForm)
    return form


def problems_text(app: ShipTrackApp) -> str:
    return str(app.screen.query_one("#form-problems", Static).render())


async def save_and_wait(pilot: Pilot[None], cfg: Path, before: str) -> None:
    await pilot.press("ctrl+s")
    await wait_until(pilot, lambda: cfg.read_text() != before)


async def test_add_through_the_form_appends_after_the_last_monitor(cfg: Path, db: Path) -> None:
    engine = ReloadingEngine()
    app = ShipTrackApp(db, engine=engine, clock=lambda: NOW, config_path=cfg)
    async with app.run_test(size=WIDE) as pilot:
        await open_dashboard(pilot)
        await pilot.press("plus")
        assert isinstance(app.screen, MonitorForm)
        await fill(pilot, "name", "db")
        await fill(pilot, "url", "tcp://db:5432")
        await fill(pilot, "interval", "30s")
        await fill(pilot, "tags", "prod,db")
        assert "✓ valid" in problems_text(app)
        await save_and_wait(pilot, cfg, COMMENTED)
        await wait_until(pilot, engine.event.is_set)
    expected = COMMENTED.replace(SHOP, SHOP + '\n[[monitor]]\nname = "db"\nurl = "tcp://db:5432"\n'
                                 'interval = "30s"\ntags = ["prod", "db"]\n')
    assert cfg.read_text() == expected
    assert [spec.name for spec in engine.reloaded[-1].monitors] == ["api", "shop", "db"]


async def test_edit_changes_only_the_edited_values(cfg: Path, db: Path) -> None:
    app = ShipTrackApp(db, clock=lambda: NOW, config_path=cfg)
    async with app.run_test(size=WIDE) as pilot:
        await open_dashboard(pilot)
        assert app.screen.query_one(MonitorTable).selected_monitor == "api"
        await pilot.press("e")
        form = app.screen
        assert isinstance(form, MonitorForm)
        assert form.texts()["interval"] == "30s" and form.texts()["tags"] == "prod, api"
        await fill(pilot, "interval", "45s")
        await fill(pilot, "body_contains", "ok")
        await save_and_wait(pilot, cfg, COMMENTED)
    expected = COMMENTED.replace('interval = "30s"    # tighter', 'interval = "45s"    # tighter').replace(
        '    "api",\n]\n', '    "api",\n]\nbody_contains = "ok"\n')
    assert cfg.read_text() == expected  # the multi-line tags and every comment are untouched


async def test_the_form_edits_the_body_checks_and_the_request_body(cfg: Path, db: Path) -> None:
    app = ShipTrackApp(db, clock=lambda: NOW, config_path=cfg)
    async with app.run_test(size=WIDE) as pilot:
        form = await open_form(pilot, "e")
        await fill(pilot, "body_contains", "ok")
        await fill(pilot, "body_regex", "ok|green")  # both: shown on that field once it is left
        await pilot.press("tab")
        assert "Fill in body contains or body regex, not both." in problems_text(app)
        assert form.query_one("#field-body_regex", Input).has_class("-problem")
        await fill(pilot, "body_contains", "")
        await fill(pilot, "max_body", "512KiB")
        await fill(pilot, "method", "POST")
        await fill(pilot, "body", '{"ping": true}')
        assert "✓ valid" in problems_text(app)
        await save_and_wait(pilot, cfg, COMMENTED)
    added = 'method = "POST"\nbody = \'{"ping": true}\'\nbody_regex = "ok|green"\nmax_body = "512KiB"\n'
    expected = COMMENTED.replace('    "api",\n]\n', '    "api",\n]\n' + added)  # a JSON body reads as typed
    assert cfg.read_text() == expected
    (api, _shop) = load_config(cfg).monitors
    assert (api.method, api.body, api.body_regex, api.max_body_bytes) == (
        "POST", '{"ping": true}', "ok|green", 512 * 1024)


async def test_duplicate_is_prefilled_and_keeps_the_other_keys(cfg: Path, db: Path) -> None:
    app = ShipTrackApp(db, clock=lambda: NOW, config_path=cfg)
    async with app.run_test(size=WIDE) as pilot:
        await open_dashboard(pilot)
        await pilot.press("j")  # shop
        await wait_until(pilot, lambda: app.screen.query_one(MonitorTable).selected_monitor == "shop")
        await pilot.press("d")
        form = app.screen
        assert isinstance(form, MonitorForm)
        assert form.texts()["name"] == "copy of shop"
        assert form.texts()["url"] == "https://shop.example.com/"
        await save_and_wait(pilot, cfg, COMMENTED)
    expected = COMMENTED.replace(SHOP, SHOP + '\n[[monitor]]\nname = "copy of shop"\n'
                                 'url = "https://shop.example.com/"\nheaders = { Accept = "text/html" }\n')
    assert cfg.read_text() == expected


async def test_delete_asks_then_removes_the_monitor_and_its_comments(cfg: Path, db: Path) -> None:
    app = ShipTrackApp(db, clock=lambda: NOW, config_path=cfg)
    async with app.run_test(size=WIDE) as pilot:
        await open_dashboard(pilot)
        await pilot.press("j")
        await wait_until(pilot, lambda: app.screen.query_one(MonitorTable).selected_monitor == "shop")
        await pilot.press("x")
        await wait_until(pilot, lambda: isinstance(app.screen, ChoiceModal))  # after counting the history
        await pilot.press("escape")  # first, think better of it
        assert cfg.read_text() == COMMENTED
        await pilot.press("delete")
        await wait_until(pilot, lambda: isinstance(app.screen, ChoiceModal))
        await pilot.click("#choice-delete")
        await wait_until(pilot, lambda: cfg.read_text() != COMMENTED)
    assert cfg.read_text() == COMMENTED.replace(SHOP + "\n", "")


async def test_a_fields_problem_shows_once_it_is_left_in_the_forms_words(cfg: Path, db: Path) -> None:
    app = ShipTrackApp(db, clock=lambda: NOW, config_path=cfg)
    async with app.run_test(size=WIDE) as pilot:
        form = await open_form(pilot, "plus")
        # A blank form opens calm: nothing marked, nothing in TOML's terms.
        assert problems_text(app) == WAITING
        assert not form.query(".-problem")
        await pilot.press("tab", *"ftp://x")  # leave the name empty, type a url
        # The url is still being typed: not judged yet.
        assert problems_text(app) == "Name is required (unique: the monitor's history hangs on it)."
        assert form.query_one("#field-name", Input).has_class("-problem")
        assert not form.query_one("#field-url", Input).has_class("-problem")
        await fill(pilot, "name", "api")
        assert problems_text(app) == ('Name: a monitor named "api" already exists; pick another name or '
                                      "edit that one")
        await fill(pilot, "name", "new")
        assert problems_text(app) == 'URL: "ftp://x" must start with http://, https:// or tcp://'
        assert form.query_one("#field-url", Input).has_class("-problem")
        await fill(pilot, "url", "http://n.io")
        await fill(pilot, "interval", "500ms")
        await pilot.press("tab")
        assert problems_text(app).startswith('Interval: "500ms" ')
        await fill(pilot, "interval", "5s")  # the timeout from [defaults] no longer fits
        assert problems_text(app) == ('Interval: "5s" must be above the timeout (10s, from [defaults]); set '
                                      "a shorter timeout for this monitor")
        await fill(pilot, "interval", "15s")
        assert "✓ valid" in problems_text(app)
        await pilot.press("escape")
    assert cfg.read_text() == COMMENTED  # cancelled: nothing written


async def test_save_shows_every_problem_and_goes_to_the_first(cfg: Path, db: Path) -> None:
    app = ShipTrackApp(db, clock=lambda: NOW, config_path=cfg)
    async with app.run_test(size=WIDE) as pilot:
        form = await open_form(pilot, "plus")
        await fill(pilot, "tags", "prod")
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, MonitorForm)
        assert problems_text(app) == ("Name is required (unique: the monitor's history hangs on it).\n"
                                      "URL is required: https://… or tcp://host:port.")
        assert form.focused is form.query_one("#field-name", Input)


async def test_a_file_changed_on_disk_is_shown_as_a_conflict_then_reapplied(cfg: Path, db: Path) -> None:
    app = ShipTrackApp(db, clock=lambda: NOW, config_path=cfg)
    async with app.run_test(size=WIDE) as pilot:
        await open_dashboard(pilot)
        await pilot.press("e")
        await fill(pilot, "interval", "45s")
        changed = COMMENTED.replace("# Keep it tidy.", "# Keep it tidy. (edited in vim)")
        cfg.write_text(changed)  # someone else saves while the form is open
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, ChoiceModal))
        assert app.screen.query_one("#choice-dialog").has_class("-conflict")
        assert "changed on disk" in str(app.screen.query_one("#choice-body", Static).render())
        assert cfg.read_text() == changed  # nothing overwritten blindly
        await pilot.click("#choice-reapply")
        await wait_until(pilot, lambda: cfg.read_text() != changed)
    expected = changed.replace('interval = "30s"    # tighter', 'interval = "45s"    # tighter')
    assert cfg.read_text() == expected


async def test_conflict_cancelled_keeps_the_other_writers_file(cfg: Path, db: Path) -> None:
    app = ShipTrackApp(db, clock=lambda: NOW, config_path=cfg)
    async with app.run_test(size=WIDE) as pilot:
        await open_dashboard(pilot)
        cfg.write_text(COMMENTED + "# appended elsewhere\n")
        await pilot.press("x")
        await wait_until(pilot, lambda: isinstance(app.screen, ChoiceModal))
        await pilot.click("#choice-delete")
        await wait_until(pilot, lambda: isinstance(app.screen, ChoiceModal)
                         and app.screen.query_one("#choice-dialog").has_class("-conflict"))
        await pilot.press("escape")
        await pilot.pause()
    assert cfg.read_text() == COMMENTED + "# appended elsewhere\n"


async def test_without_a_config_file_editing_explains_why_not(db: Path) -> None:
    app = ShipTrackApp(db, clock=lambda: NOW)
    async with app.run_test(size=WIDE) as pilot:
        await settled(pilot)
        for key in ("plus", "e", "d", "x"):
            await pilot.press(key)
            assert isinstance(app.screen, Dashboard)
        assert sum(n.message == NO_FILE for n in app._notifications) == 4


async def test_detail_pane_shows_the_maintenance_window(cfg: Path, db: Path) -> None:
    night = 1_795_054_000.0  # 2026-11-19 02:06:40 UTC: inside the nightly 02:00-02:30 backups
    seed(db, (Plan("api", "u" * 3, tags=("prod", "api")),), end=night)
    app = ShipTrackApp(db, clock=lambda: night, config_path=cfg)
    async with app.run_test(size=WIDE) as pilot:
        dashboard = await open_dashboard(pilot)
        pane = dashboard.query_one(DetailPane)
        await wait_until(pilot, lambda: bool(pane.notes))
        notes = " ".join(pane.notes)
    assert 'in maintenance "backups" until 11-19 02:30:00 UTC' in notes


async def test_the_form_fits_80x24_with_its_buttons_showing_and_its_fields_scrolling(
        cfg: Path, db: Path) -> None:
    app = ShipTrackApp(db, clock=lambda: NOW, config_path=cfg)
    async with app.run_test(size=(80, 24)) as pilot:
        form = await open_form(pilot, "e")
        await pilot.pause()
        screen = form.region
        for button in ("#form-save", "#form-cancel"):
            region = form.query_one(button).region
            assert region.height > 0 and screen.contains_region(region), button
        fields = form.query_one("#form-fields").region
        last = form.query_one("#field-degraded_after", Input)
        last.focus()  # the list scrolls the field into view
        await pilot.pause(0.3)
        assert fields.contains_region(last.region)


async def test_the_form_opens_typing_into_the_first_field_after_its_text(cfg: Path, db: Path) -> None:
    app = ShipTrackApp(db, clock=lambda: NOW, config_path=cfg)
    async with app.run_test(size=WIDE) as pilot:
        form = await open_form(pilot, "e")
        await pilot.press("2")  # the first key is not lost
        assert form.texts()["name"] == "api2"
        await pilot.press("tab", "x")  # tabbing in does not select the text for the next key to replace
        assert form.texts()["url"] == "https://api.example.com/healthx"


DEFAULTS_5S = """\
[defaults]
interval = "5s"
failure_threshold = 5

[[monitor]]
name = "api"
url = "https://api.example.com/health"
"""


async def test_hints_show_what_the_monitor_inherits_from_this_files_defaults(tmp_path: Path,
                                                                             db: Path) -> None:
    cfg = tmp_path / "five.toml"
    cfg.write_text(DEFAULTS_5S)
    app = ShipTrackApp(db, clock=lambda: NOW, config_path=cfg)
    async with app.run_test(size=WIDE) as pilot:
        form = await open_form(pilot, "plus")

        def hint(key: str) -> str:
            return form.query_one(f"#field-{key}", Input).placeholder

        assert hint("interval") == "default: 5s (from [defaults])"
        assert hint("timeout") == "default: 2.5s (half the interval)"
        assert hint("failure_threshold") == "default: 5 (from [defaults])"
        assert hint("recovery_threshold") == "default: 2"
        assert hint("method") == "default: GET"
        await fill(pilot, "interval", "1m")  # the inherited timeout follows the interval
        assert hint("timeout") == "default: 10s"
        # A hint does not look like a value: dim and italic.
        field = form.query_one("#field-method", Input)
        placeholder = field.get_component_rich_style("input--placeholder")
        assert placeholder.italic and placeholder.color != field.rich_style.color


async def test_toasts_say_what_happened_to_which_monitor_in_which_file(cfg: Path, db: Path) -> None:
    app = ShipTrackApp(db, clock=lambda: NOW, config_path=cfg)
    async with app.run_test(size=WIDE) as pilot:
        await open_form(pilot, "e")
        await fill(pilot, "interval", "45s")
        await save_and_wait(pilot, cfg, COMMENTED)
        await wait_until(pilot, lambda: any("saved in" in n.message for n in app._notifications))
        await pilot.press("j")
        await wait_until(pilot, lambda: app.screen.query_one(MonitorTable).selected_monitor == "shop")
        before = cfg.read_text()
        await pilot.press("x")
        await wait_until(pilot, lambda: isinstance(app.screen, ChoiceModal))
        body = str(app.screen.query_one("#choice-body", Static).render())
        assert "Its history (20 checks and 0 incidents) stays in the database" in body
        await pilot.click("#choice-delete")
        await wait_until(pilot, lambda: cfg.read_text() != before)
        await wait_until(pilot, lambda: len(app._notifications) == 2)
    assert [n.message for n in app._notifications] == ["Monitor “api” saved in config.toml",
                                                       "Monitor “shop” removed from config.toml"]


@pytest.mark.parametrize(("fields", "shown"), [
    ({"name": "shop"}, ("name", "Name: another monitor already has this name; names must be unique.")),
    ({"interval": "500ms"}, ("interval", 'Interval: "500ms" is below the minimum of 1s; use "1s" or more')),
    ({"url": "tcp://db:5432", "method": "POST"},
     ("method", "Method: applies to HTTP monitors only; clear it (a tcp:// monitor only opens a "
                "connection)")),
    ({"tags": ["prod", ""]},
     ("tags", "Tags: separate tags with commas, like prod, api; a tag cannot be empty.")),
    ({"failure_threshold": 0}, ("failure_threshold", "Failures to open: 0 must be at least 1")),
])
def test_check_configs_problems_read_in_the_forms_words(cfg: Path, fields: dict,
                                                        shown: tuple[str, str]) -> None:
    (problem,) = check_edit(load_snapshot(cfg), MonitorEdit("update", "api", fields))
    assert form_problem(problem.message, problem.key) == shown


async def test_at_80x24_the_problems_and_the_buttons_show_whole(cfg: Path, db: Path) -> None:
    app = ShipTrackApp(db, clock=lambda: NOW, config_path=cfg)
    async with app.run_test(size=(80, 24)) as pilot:
        form = await open_form(pilot, "plus")
        await pilot.press("ctrl+s")  # two problems: no name, no url
        await pilot.pause()
        dialog = form.query_one("#form-dialog").content_region
        for part in ("#form-problems", "#form-save", "#form-cancel"):
            assert dialog.contains_region(form.query_one(part).region), part
