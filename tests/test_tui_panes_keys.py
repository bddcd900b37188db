"""The incidents pane and the keys: folded notification attempts, acting on a selected incident,
the filter, focus and esc, the help at 80×24, the palette's commands and its "go to"."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from receiver import Receiver
from test_notify_delivery import API, FAST, down_state, write
from test_tui_seed import NOW, WITH_INCIDENT, Plan, open_store, seed, settled, wait_until
from textual.command import CommandPalette
from textual.pilot import Pilot
from textual.widgets import Input

from shiptrack_tui.cli import main as cli_main
from shiptrack_tui.config import NotifySettings
from shiptrack_tui.core.incidents import IncidentOpened
from shiptrack_tui.core.model import IncidentState, TimelineKind
from shiptrack_tui.notify import NotificationSender
from shiptrack_tui.notify.services import service_names
from shiptrack_tui.storage import Store
from shiptrack_tui.tui import ShipTrackApp
from shiptrack_tui.tui.data import read_overview
from shiptrack_tui.tui.modals.help_screen import HelpScreen
from shiptrack_tui.tui.modals.note_modal import NoteModal
from shiptrack_tui.tui.screens.dashboard import Dashboard
from shiptrack_tui.tui.timeline_lines import notification_schemes
from shiptrack_tui.tui.widgets.detail_pane import DetailPane
from shiptrack_tui.tui.widgets.monitor_table import MonitorTable
from shiptrack_tui.tui.widgets.timeline_pane import TimelineBody, TimelinePane, render_timeline

WIDE = (160, 40)
SMALL = (80, 24)


@pytest.fixture
def incident_db(tmp_path: Path) -> Path:
    db = tmp_path / "shiptrack.db"
    seed(db, WITH_INCIDENT)
    return db


def actions(db: Path) -> list[tuple[str, str | None, int | None, str | None]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT kind, monitor, incident_id, note FROM action ORDER BY id").fetchall()


def pane_lines(pane: TimelinePane) -> list[str]:
    body = pane.query_one(TimelineBody)
    return [body.render_line(y).text.rstrip() for y in range(body.virtual_size.height)]


# ---- 10: notification attempts ------------------------------------------------------------------

@pytest.fixture
def failing_notifier(tmp_path: Path) -> Iterator[tuple[Path, Store, NotificationSender]]:
    """An open incident whose OPEN message goes to a receiver that refuses every connection."""
    db = tmp_path / "notify.db"
    store = Store.open(db)
    with Receiver() as rx:
        rx.down()
        settings = NotifySettings(urls=(rx.url(),))
        store.sync_monitors([API], time.time() - 60)
        t0 = time.time() - 30
        write(store, settings, API, down_state(t0, t0), IncidentOpened("api", t0, t0, "HTTP 503"))
        sender = NotificationSender(store, settings, **{**FAST, "backoff_base": 0.1, "backoff_cap": 0.3})
        try:
            yield db, store, sender
        finally:
            sender.stop()
            store.close()


async def test_failed_attempts_are_one_line_that_counts_them_with_the_service_name(
        failing_notifier: tuple[Path, Store, NotificationSender]) -> None:
    db, store, sender = failing_notifier
    app = ShipTrackApp(db)
    async with app.run_test(size=WIDE) as pilot:
        pane = (await settled(pilot)).query_one(TimelinePane)
        sender.start()

        def notify_lines() -> list[str]:
            return [line for line in pane_lines(pane) if "[OPEN]" in line]

        def counted(at_least: int) -> bool:
            lines = notify_lines()
            return (len(lines) == 1 and "JSON webhook [OPEN]: " in lines[0]
                    and int(lines[0].split("[OPEN]: ")[1].split()[0]) >= at_least)

        await wait_until(pilot, lambda: counted(3), seconds=10)
        await wait_until(pilot, lambda: counted(6), seconds=10)  # the same line, counting on
        sender.stop()
        shown = "\n".join(pane_lines(pane))
        words = " ".join(shown.split())  # the line may wrap ("7 attempts failed, retrying\n now")
        assert "attempts failed, next in" in words or "attempts failed, retrying now" in words
        assert "notify_retry" not in shown and "127.0.0.1" not in shown
    # The record keeps every attempt: `incidents --json` lists each.
    retries = [e for i in store.incidents() for e in i.events if e.kind is TimelineKind.NOTIFY_RETRY]
    assert len(retries) == sender.attempts >= 6


def test_incidents_json_keeps_every_attempt(failing_notifier: tuple[Path, Store, NotificationSender],
                                            capsys: pytest.CaptureFixture[str]) -> None:
    db, _store, sender = failing_notifier
    sender.start()
    deadline = time.monotonic() + 10
    while sender.attempts < 4 and time.monotonic() < deadline:
        time.sleep(0.02)
    sender.stop()
    assert cli_main(["incidents", "--json", "--db", str(db)]) == 0
    (incident,) = json.loads(capsys.readouterr().out)
    kinds = [event["kind"] for event in incident["events"]]
    assert kinds.count("notify_retry") == sender.attempts >= 4


def test_delivered_after_retries_is_one_line_in_words(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "sent.db")
    try:
        with Receiver() as rx:
            rx.fail(2)
            settings = NotifySettings(urls=(rx.url(),))
            store.sync_monitors([API], time.time() - 60)
            t0 = time.time() - 30
            write(store, settings, API, down_state(t0, t0), IncidentOpened("api", t0, t0, "HTTP 503"))
            sender = NotificationSender(store, settings, **FAST)
            sender.start()
            try:
                rx.wait_for(1)
                deadline = time.monotonic() + 10
                while sender.attempts < 3 and time.monotonic() < deadline:
                    time.sleep(0.02)
            finally:
                sender.stop()
        incidents = tuple(store.incidents())
    finally:
        store.close()
    names = tuple(service_names(notification_schemes(incidents[0].events)).items())
    console_text = _plain(render_timeline(incidents, time.time(), {}, names=names))
    assert "JSON webhook [OPEN]: sent on attempt 3" in console_text
    assert "attempt 1 failed" not in console_text and "notified" not in console_text


def _plain(renderable: object, width: int = 100) -> str:
    from rich.console import Console

    console = Console(width=width, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


# ---- 11: the incidents pane --------------------------------------------------------------------

async def _focus_incidents(pilot: Pilot[None], dashboard: Dashboard) -> TimelinePane:
    pane = dashboard.query_one(TimelinePane)
    while dashboard.active_pane != "timeline":
        await pilot.press("tab")
    await wait_until(pilot, lambda: pane.has_focus and pane.selected is not None)
    return pane


async def test_a_and_n_act_on_the_incident_selected_in_the_incidents_pane(incident_db: Path) -> None:
    app = ShipTrackApp(incident_db, clock=lambda: NOW)
    async with app.run_test(size=WIDE) as pilot:
        dashboard = await settled(pilot)
        pane = await _focus_incidents(pilot, dashboard)
        first, second = pane.incidents[:2]
        assert pane.selected == first.id
        await pilot.press("j")
        assert pane.selected == second.id
        # The monitors list follows, so the detail shows the incident's monitor.
        await wait_until(pilot, lambda: dashboard.query_one(MonitorTable).selected_monitor == second.monitor)
        await pilot.press("a")
        assert isinstance(app.screen, NoteModal)
        await pilot.press(*"on it", "enter")
        await wait_until(pilot, lambda: len(actions(incident_db)) == 1)
        await pilot.press("n")
        await pilot.press(*"rolled back", "enter")
        await wait_until(pilot, lambda: len(actions(incident_db)) == 2)
        resolved = next(i for i in pane.incidents if i.state is IncidentState.RESOLVED)
        while pane.selected != resolved.id:
            await pilot.press("j")
        await pilot.press("a")
        assert isinstance(app.screen, Dashboard)  # a resolved incident takes no acknowledgement
    assert actions(incident_db) == [("ack", second.monitor, second.id, "on it"),
                                    ("note", second.monitor, second.id, "rolled back")]


async def test_the_incidents_pane_follows_the_filter(incident_db: Path) -> None:
    app = ShipTrackApp(incident_db, clock=lambda: NOW)
    async with app.run_test(size=WIDE) as pilot:
        dashboard = await settled(pilot)
        pane = dashboard.query_one(TimelinePane)
        assert {i.monitor for i in pane.incidents} == {"api", "search", "web"}
        await pilot.press("slash", *"staging")
        await wait_until(pilot, lambda: {i.monitor for i in pane.incidents} == {"search"})
        await pilot.press("escape")
        await wait_until(pilot, lambda: len(pane.incidents) == 3)


def test_open_incidents_first_then_by_start_time_which_the_pane_shows(tmp_path: Path) -> None:
    """`slowpoke` failed first but opened last (a longer interval): start time decides."""
    db = tmp_path / "order.db"
    seed(db, (Plan("slowpoke", "xxxx", interval=300), Plan("quick", "x" * 15),
              Plan("old", "u" + "xxx" + "uu" * 3)))
    with open_store(db) as store:
        incidents = read_overview(store, NOW).incidents
    assert [i.monitor for i in incidents] == ["quick", "slowpoke", "old"]
    quick, slowpoke = incidents[:2]
    assert slowpoke.opened_at > quick.opened_at and slowpoke.started_at < quick.started_at
    text = _plain(render_timeline(incidents, NOW, {}))
    start = time.strftime("%H:%M:%S", time.gmtime(incidents[1].started_at))
    assert f"{start} ✕ first failed check: HTTP 503" in text


# ---- 12: focus, esc, enter ---------------------------------------------------------------------

async def test_the_focused_pane_shows_it_esc_returns_to_the_list_and_j_moves_it_from_the_detail(
        incident_db: Path) -> None:
    app = ShipTrackApp(incident_db, clock=lambda: NOW)
    async with app.run_test(size=WIDE) as pilot:
        dashboard = await settled(pilot)
        monitors, detail = dashboard.query_one("#monitors-pane"), dashboard.query_one("#detail-pane")

        def border(widget: object) -> object:
            return widget.styles.border_top[1]  # type: ignore[attr-defined]

        focused_colour, resting_colour = border(monitors), border(detail)
        assert focused_colour != resting_colour  # the list has the keys, and shows it
        await pilot.press("enter")
        assert dashboard.active_pane == "detail"
        swapped = (focused_colour, resting_colour)
        await wait_until(pilot, lambda: (border(detail), border(monitors)) == swapped)
        table = dashboard.query_one(MonitorTable)
        before = table.selected_monitor
        await pilot.press("j")  # from the detail, j moves the list (and the detail follows)
        assert table.selected_monitor != before
        pane = dashboard.query_one(DetailPane)
        await wait_until(pilot, lambda: pane.detail is not None
                         and pane.detail.summary.name == table.selected_monitor)
        await pilot.press("escape")
        assert dashboard.active_pane == "monitors" and app.focused is table


async def test_esc_from_the_incidents_pane_on_a_small_terminal_shows_the_list(incident_db: Path) -> None:
    app = ShipTrackApp(incident_db, clock=lambda: NOW)
    async with app.run_test(size=SMALL) as pilot:
        dashboard = await settled(pilot)
        await _focus_incidents(pilot, dashboard)
        assert not dashboard.query_one("#monitors-pane").display
        await pilot.press("escape")
        assert dashboard.active_pane == "monitors" and dashboard.query_one("#monitors-pane").display


# ---- 13: help, footer and palette from the bindings -------------------------------------------

async def test_help_fits_80x24_and_scrolls(incident_db: Path) -> None:
    app = ShipTrackApp(incident_db, clock=lambda: NOW)
    async with app.run_test(size=SMALL) as pilot:
        await settled(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.pause()
        dialog = app.screen.query_one("#help-dialog")
        assert dialog.region.y >= 0 and dialog.region.bottom <= SMALL[1]
        scroll = app.screen.query_one("#help-scroll")
        assert scroll.max_scroll_y > 0 and app.focused is scroll
        await pilot.press("pagedown")
        await wait_until(pilot, lambda: scroll.scroll_y > 0)
        await pilot.press("escape")
        assert isinstance(app.screen, Dashboard)


async def test_palette_keys_once_and_every_binding_with_a_title(incident_db: Path) -> None:
    app = ShipTrackApp(incident_db, clock=lambda: NOW)
    async with app.run_test(size=WIDE) as pilot:
        dashboard = await settled(pilot)
        titles = [command.title for command in app.get_system_commands(dashboard)]
        assert titles.count("Keys") == 1
        assert {"Acknowledge incident", "Add note", "Silence", "Edit monitor", "Chart: 7 days"} <= set(titles)
        keys = next(c for c in app.get_system_commands(dashboard) if c.title == "Keys")
        keys.callback()
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)  # the palette's Keys is the same help as ?


# ---- 17: the palette's "go to" -----------------------------------------------------------------

async def _palette_choose(pilot: Pilot[None], query: str, expected: str) -> None:
    await pilot.press("ctrl+p")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, CommandPalette))
    palette = pilot.app.screen
    palette.query_one(Input).value = query

    def offered() -> bool:
        options = palette.query_one("CommandList").options  # type: ignore[attr-defined]
        return bool(options) and expected in str(options[0].prompt)

    await wait_until(pilot, offered)
    await pilot.press("down", "enter")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, Dashboard))


async def test_palette_goes_to_a_monitor_or_an_incident(incident_db: Path) -> None:
    app = ShipTrackApp(incident_db, clock=lambda: NOW)
    async with app.run_test(size=WIDE) as pilot:
        dashboard = await settled(pilot)
        table, pane = dashboard.query_one(MonitorTable), dashboard.query_one(TimelinePane)
        await _palette_choose(pilot, "billing", "billing")
        await wait_until(pilot, lambda: table.selected_monitor == "billing")
        web = next(i for i in pane.incidents if i.monitor == "web")
        await _palette_choose(pilot, f"#{web.id}", f"#{web.id} web")
        await wait_until(pilot, lambda: table.selected_monitor == "web" and pane.selected == web.id)
        assert dashboard.active_pane == "timeline" and app.focused is pane
