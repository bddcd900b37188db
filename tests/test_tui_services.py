"""Issue 12 in the dashboard: the services strip and its filter, status updates and severity
changes posted from a modal as action rows, and the timeline's status, severity and updates."""

from __future__ import annotations

import random
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
from rich.console import Console
from test_tui_seed import NOW, WITH_INCIDENT, seed, settled, wait_until
from textual.command import CommandPalette
from textual.coordinate import Coordinate
from textual.widgets import Input, OptionList

from shiptrack_tui.config import load_config, operator
from shiptrack_tui.core.incident_status import BY_RECOVERY, advance
from shiptrack_tui.core.incidents import IllegalTransition
from shiptrack_tui.core.model import (
    Incident,
    IncidentState,
    IncidentStatus,
    MonitorState,
    MonitorStatus,
    MonitorSummary,
    Severity,
    TimelineEntry,
    TimelineKind,
)
from shiptrack_tui.core.services import ServiceIndex, ServiceSpec, ServiceStatus
from shiptrack_tui.tui import ShipTrackApp
from shiptrack_tui.tui.data import Overview
from shiptrack_tui.tui.modals.help_screen import help_groups
from shiptrack_tui.tui.modals.pick_modal import PickModal
from shiptrack_tui.tui.screens.dashboard import Dashboard
from shiptrack_tui.tui.services_live import ServiceBoard, ServiceView, index_of
from shiptrack_tui.tui.widgets.monitor_table import MonitorTable, monitor_of
from shiptrack_tui.tui.widgets.services_strip import ServicesStrip, strip_text
from shiptrack_tui.tui.widgets.timeline_pane import TimelinePane, render_timeline

WIDE = (150, 40)
SMALL = (80, 24)

SERVICES_TOML = """
[[monitor]]
name = "api"
url = "https://api.example.test/health"
tags = ["prod"]

[[monitor]]
name = "web"
url = "https://web.example.test/health"
tags = ["prod"]

[[monitor]]
name = "search"
url = "https://search.example.test/health"
tags = ["staging"]
severity = "medium"

[[monitor]]
name = "billing"
url = "https://billing.example.test/health"
tags = ["staging"]

[[monitor]]
name = "tcp-db"
url = "tcp://127.0.0.1:9"

[[service]]
name = "Checkout"
description = "Cart, payment and order confirmation"
monitors = ["api", "billing"]

[[service]]
name = "Search"
monitors = ["search"]

[[service]]
name = "Website"
tags = ["prod"]

[[service]]
name = "Database"
monitors = ["tcp-db"]
"""


@pytest.fixture
def services_setup(tmp_path: Path) -> tuple[Path, Path]:
    return seed_services(tmp_path)


def seed_services(tmp_path: Path) -> tuple[Path, Path]:
    """WITH_INCIDENT (api and search open, web resolved, tcp-db paused) and a config with four
    services; the search incident is medium, as its monitor's severity says."""
    db = tmp_path / "shiptrack.db"
    seed(db, WITH_INCIDENT)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE incident SET severity = 'medium' WHERE monitor_id = "
                     "(SELECT id FROM monitor WHERE name = 'search')")
    config = tmp_path / "config.toml"
    config.write_text(SERVICES_TOML, encoding="utf-8")
    return db, config


def services_app(db: Path, config: Path) -> ShipTrackApp:
    return ShipTrackApp(db, clock=lambda: NOW, config_path=config, services=index_of(load_config(config)))


def shown_monitors(table: MonitorTable) -> list[str]:
    return [monitor_of(table.coordinate_to_cell_key(Coordinate(row, 0)).row_key.value or "")
            for row in range(table.row_count)]


def actions(db: Path) -> list[tuple[str, str | None, int | None, str | None, str | None, str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT kind, monitor, incident_id, value, note, source FROM action ORDER BY id"
                            ).fetchall()


def open_incident_id(db: Path, monitor: str) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT i.id FROM incident i JOIN monitor m ON m.id = i.monitor_id "
                            "WHERE m.name = ? AND i.state != 'resolved'", (monitor,)).fetchone()[0]


def set_status(db: Path, incident_id: int, status: IncidentStatus) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE incident SET status = ? WHERE id = ?", (status.value, incident_id))


# ---- the strip ---------------------------------------------------------------------------------

async def test_each_service_shows_its_derived_status_in_words_symbol_and_colour(
        services_setup: tuple[Path, Path]) -> None:
    app = services_app(*services_setup)
    async with app.run_test(size=WIDE) as pilot:
        dashboard = await settled(pilot)
        strip = dashboard.query_one(ServicesStrip)
        assert strip.display
        assert [(v.name, v.status, v.members) for v in strip.services] == [
            ("Checkout", ServiceStatus.OUTAGE, 2),  # api's open incident is high
            ("Search", ServiceStatus.DEGRADED, 1),  # search's is medium
            ("Website", ServiceStatus.OUTAGE, 2),  # api and web, by their tag
            ("Database", ServiceStatus.OPERATIONAL, 1),
        ]
        text = strip.render()
        plain = text.plain
        for chip in ("✖ Checkout outage", "◐ Search degraded", "✖ Website outage", "● Database operational"):
            assert chip in plain
        colours = {word: text.get_style_at_offset(app.console, plain.index(word)).color
                   for word in ("Checkout", "Search", "Database")}
        assert len(set(colours.values())) == 3  # outage, degraded and operational each have their colour


def test_a_narrow_strip_names_the_services_in_trouble_and_counts_the_others() -> None:
    statuses = [ServiceStatus.OPERATIONAL] * 12
    statuses[3], statuses[7] = ServiceStatus.OUTAGE, ServiceStatus.MAINTENANCE
    views = tuple(ServiceView(f"svc{i}", status, 1) for i, status in enumerate(statuses))
    assert "● svc11 operational" in strip_text(views, None, 400, {})[0].plain  # room for all: all
    text, hits = strip_text(views, None, 80, {})
    assert text.cell_len <= 80
    assert "✖ svc3 outage" in text.plain and "⚒ svc7 maintenance" in text.plain
    assert "10 more operational" in text.plain
    assert [(text.plain[start:end], name) for start, end, name in hits] == [
        ("✖ svc3 outage", "svc3"), ("⚒ svc7 maintenance", "svc7")]  # where a click picks each
    narrow, _ = strip_text(views, "svc5", 60, {})  # narrower: symbols and names, the count in words
    assert narrow.plain == " Services  ✖ svc3  ● svc5  ⚒ svc7  ● 9 more operational"


async def test_no_services_no_strip_and_f_says_how_to_add_one(tmp_path: Path) -> None:
    db = tmp_path / "shiptrack.db"
    seed(db, WITH_INCIDENT)
    app = ShipTrackApp(db, clock=lambda: NOW)
    async with app.run_test(size=WIDE) as pilot:
        dashboard = await settled(pilot)
        assert not dashboard.query_one(ServicesStrip).display
        await pilot.press("f")
        await pilot.pause()
        assert dashboard.service is None
        assert any("[[service]]" in str(n.message) for n in app._notifications)
        assert len(shown_monitors(dashboard.query_one(MonitorTable))) == len(WITH_INCIDENT)


# ---- the filter --------------------------------------------------------------------------------

async def test_f_filters_the_monitors_and_incidents_to_a_service_and_esc_shows_all(
        services_setup: tuple[Path, Path]) -> None:
    app = services_app(*services_setup)
    async with app.run_test(size=WIDE) as pilot:
        dashboard = await settled(pilot)
        table, timeline = dashboard.query_one(MonitorTable), dashboard.query_one(TimelinePane)
        pane, strip = dashboard.query_one("#monitors-pane"), dashboard.query_one(ServicesStrip)
        everything = shown_monitors(table)
        await pilot.press("f")
        assert sorted(shown_monitors(table)) == ["api", "billing"]
        assert {i.monitor for i in timeline.incidents} == {"api"}
        assert strip.selected == "Checkout" and "Checkout" in str(pane.border_title)
        assert "esc: all monitors" in str(pane.border_subtitle)
        await pilot.press("f")
        assert shown_monitors(table) == ["search"] and {i.monitor for i in timeline.incidents} == {"search"}
        await pilot.press("F")
        assert strip.selected == "Checkout"
        await pilot.press("escape")  # clears the service filter, visibly
        assert shown_monitors(table) == everything and strip.selected is None
        assert str(pane.border_title) == "Monitors" and not pane.border_subtitle
        assert {i.monitor for i in timeline.incidents} == {"api", "search", "web"}
        for _ in range(5):  # past the last service: every monitor again
            await pilot.press("f")
        assert shown_monitors(table) == everything and dashboard.service is None


async def test_the_text_filter_narrows_within_the_service(services_setup: tuple[Path, Path]) -> None:
    app = services_app(*services_setup)
    async with app.run_test(size=WIDE) as pilot:
        dashboard = await settled(pilot)
        table = dashboard.query_one(MonitorTable)
        await pilot.press("f", "f", "f")  # Website: api and web (by the prod tag)
        assert sorted(shown_monitors(table)) == ["api", "web"]
        await pilot.press("slash", *"down")
        assert shown_monitors(table) == ["api"]
        await pilot.press("escape")  # the text filter first
        assert sorted(shown_monitors(table)) == ["api", "web"]
        await pilot.press("escape")  # then the service
        assert len(shown_monitors(table)) == len(WITH_INCIDENT)


async def test_a_click_on_a_service_filters_and_a_second_click_clears(
        services_setup: tuple[Path, Path]) -> None:
    app = services_app(*services_setup)
    async with app.run_test(size=WIDE) as pilot:
        dashboard = await settled(pilot)
        table, strip = dashboard.query_one(MonitorTable), dashboard.query_one(ServicesStrip)
        x = strip.render().plain.index("Search")
        await pilot.click(ServicesStrip, offset=(x, 0))
        await wait_until(pilot, lambda: strip.selected == "Search")
        assert shown_monitors(table) == ["search"]
        await pilot.click(ServicesStrip, offset=(x, 0))
        await wait_until(pilot, lambda: strip.selected is None)
        assert len(shown_monitors(table)) == len(WITH_INCIDENT)


async def test_the_palette_goes_to_a_service(services_setup: tuple[Path, Path]) -> None:
    app = services_app(*services_setup)
    async with app.run_test(size=WIDE) as pilot:
        dashboard = await settled(pilot)
        await pilot.press("ctrl+p")
        await wait_until(pilot, lambda: isinstance(app.screen, CommandPalette))
        palette = app.screen
        palette.query_one(Input).value = "service Search"

        def offered() -> bool:
            options = palette.query_one("CommandList").options  # type: ignore[attr-defined]
            return bool(options) and "service Search" in str(options[0].prompt)

        await wait_until(pilot, offered)
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: dashboard.service == "Search")
        assert shown_monitors(dashboard.query_one(MonitorTable)) == ["search"]


async def test_help_and_footer_name_the_new_keys(services_setup: tuple[Path, Path]) -> None:
    app = services_app(*services_setup)
    async with app.run_test(size=WIDE) as pilot:
        dashboard = await settled(pilot)
        rows = {keys: text for _title, group in help_groups(dashboard) for keys, text in group}
        assert "status update" in rows["u"] and "severity" in rows["v"]
        assert "service" in rows["f"] and "service" in rows["F"]
        titles = {command.title for command in app.get_system_commands(dashboard)}
        assert {"Post status update", "Change severity", "Next service"} <= titles
        footer_keys = {b.binding.key for b in dashboard.active_bindings.values() if b.binding.show}
        assert "u" in footer_keys


# ---- status updates and severity ---------------------------------------------------------------

async def test_u_posts_a_forward_status_update_as_an_action_row(services_setup: tuple[Path, Path]) -> None:
    db, config = services_setup
    incident_id = open_incident_id(db, "api")
    app = services_app(db, config)
    async with app.run_test(size=WIDE) as pilot:
        dashboard = await settled(pilot)
        assert dashboard.query_one(MonitorTable).selected_monitor == "api"
        await pilot.press("u")
        assert isinstance(app.screen, PickModal)
        modal = app.screen
        options = modal.query_one(OptionList)
        prompts = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert prompts[0].startswith("investigating (again") and prompts[1:3] == ["identified", "monitoring"]
        assert prompts[3] == f"resolved — refused: {BY_RECOVERY}"  # recovery writes it
        assert [options.get_option_at_index(i).disabled for i in range(4)] == [False, False, False, True]
        assert modal.choice is not None and modal.choice.value == "identified"  # the next step forward
        await pilot.press("enter")  # no message yet: nothing is written
        assert isinstance(app.screen, PickModal)
        await pilot.press(*"bad deploy, rolling back", "enter")
        await wait_until(pilot, lambda: len(actions(db)) == 1)
        assert isinstance(app.screen, Dashboard)
        await wait_until(pilot, lambda: any("Posted identified" in str(n.message)
                                            for n in app._notifications))
    assert actions(db) == [("update", "api", incident_id, "identified", "bad deploy, rolling back",
                            operator("dashboard"))]


async def test_a_backwards_move_is_refused_in_the_modal_with_its_reason(
        services_setup: tuple[Path, Path]) -> None:
    db, config = services_setup
    incident_id = open_incident_id(db, "api")
    set_status(db, incident_id, IncidentStatus.MONITORING)
    app = services_app(db, config)
    async with app.run_test(size=WIDE) as pilot:
        await settled(pilot)
        await pilot.press("u")
        assert isinstance(app.screen, PickModal)
        modal = app.screen
        options = modal.query_one(OptionList)
        with pytest.raises(IllegalTransition) as refused:
            advance(IncidentStatus.MONITORING, IncidentStatus.INVESTIGATING)
        first = options.get_option_at_index(0)
        assert first.disabled and str(first.prompt) == f"investigating — refused: {refused.value}"
        assert options.get_option_at_index(1).disabled and "cannot go back to identified" in str(
            options.get_option_at_index(1).prompt)
        assert modal.choice is not None and modal.choice.value == "monitoring"
        await pilot.press("up", "up")  # the refused ones cannot be chosen
        assert modal.choice.value == "monitoring"
        await pilot.press(*"still watching", "enter")
        await wait_until(pilot, lambda: len(actions(db)) == 1)
    assert actions(db)[0][3:5] == ("monitoring", "still watching")


async def test_a_resolved_incident_takes_no_update(services_setup: tuple[Path, Path]) -> None:
    db, config = services_setup
    app = services_app(db, config)
    async with app.run_test(size=WIDE) as pilot:
        dashboard = await settled(pilot)
        pane = dashboard.query_one(TimelinePane)
        while dashboard.active_pane != "timeline":
            await pilot.press("tab")
        resolved = next(i for i in pane.incidents if i.state is IncidentState.RESOLVED)
        while pane.selected != resolved.id:
            await pilot.press("j")
        await pilot.press("u")
        await pilot.pause()
        assert isinstance(app.screen, Dashboard)
        assert any(f"#{resolved.id}" in str(n.message) and "resolved" in str(n.message)
                   for n in app._notifications)
        await pilot.press("v")
        await pilot.pause()
        assert isinstance(app.screen, Dashboard)
    assert actions(db) == []


async def test_v_changes_the_severity_as_an_action_row(services_setup: tuple[Path, Path]) -> None:
    db, config = services_setup
    incident_id = open_incident_id(db, "api")
    app = services_app(db, config)
    async with app.run_test(size=SMALL) as pilot:
        await settled(pilot)
        await pilot.press("v")
        assert isinstance(app.screen, PickModal)
        modal = app.screen
        options = modal.query_one(OptionList)
        current = options.get_option_at_index(1)
        assert current.disabled and str(current.prompt) == "high — its severity now"
        assert modal.choice is not None and modal.choice.value == "critical"
        await pilot.press("down")  # over high (its severity now) to medium
        assert modal.choice.value == "medium"
        await pilot.press(*"one region only", "enter")
        await wait_until(pilot, lambda: len(actions(db)) == 1)
        await wait_until(pilot, lambda: any("high → medium" in str(n.message) for n in app._notifications))
    assert actions(db) == [("severity", "api", incident_id, "medium", "one region only",
                            operator("dashboard"))]


# ---- the timeline ------------------------------------------------------------------------------

def test_the_timeline_shows_severity_status_and_updates_in_words() -> None:
    by = "alice (dashboard)"
    incident = Incident(
        id=7, monitor="api", state=IncidentState.OPEN, cause="HTTP 503", started_at=NOW - 600,
        opened_at=NOW - 540, severity=Severity.CRITICAL, status=IncidentStatus.IDENTIFIED,
        events=(TimelineEntry(NOW - 540, TimelineKind.OPENED, "HTTP 503"),
                TimelineEntry(NOW - 300, TimelineKind.UPDATE, "bad deploy", by, "identified"),
                TimelineEntry(NOW - 200, TimelineKind.SEVERITY, "high → critical", by)))
    resolved = replace(incident, id=6, state=IncidentState.RESOLVED, resolved_at=NOW - 900,
                       status=IncidentStatus.RESOLVED, severity=Severity.LOW, events=())
    console = Console(width=100, record=True, color_system=None)
    console.print(render_timeline((incident, resolved), NOW, {}))
    text = console.export_text()
    assert "#7 api  OPEN · critical  for 10m" in text
    assert "» status: identified" in text
    assert "» identified by alice (dashboard): bad deploy" in text
    assert "◆ severity changed by alice (dashboard): high → critical" in text
    assert "#6 api  RESOLVED · low" in text and text.count("status:") == 1  # resolved says it in its heading


# ---- following overviews -----------------------------------------------------------------------

def _summary(name: str, status: MonitorStatus) -> MonitorSummary:
    return MonitorSummary(name=name, target="", tags=(), state=MonitorState(status=status))


def test_following_overviews_rederives_only_what_changed_and_agrees_with_deriving_all() -> None:
    """Random changes of states and open incidents: the board, re-deriving only the services
    holding a changed monitor, always equals every service derived from scratch."""
    rng = random.Random(12)
    names = [f"m{i}" for i in range(40)]
    tags = {name: (f"t{i % 4}",) for i, name in enumerate(names)}
    specs = [ServiceSpec(f"s{j}", monitors=tuple(rng.sample(names, 5)), tags=(f"t{j}",) if j < 3 else ())
             for j in range(8)]
    index = ServiceIndex(specs, tags)
    board = ServiceBoard(index)
    states = {name: MonitorStatus.UP for name in names}
    open_: dict[str, Severity] = {}
    incidents: tuple[Incident, ...] = ()
    for step in range(300):
        changed = set(rng.sample(names, rng.randint(0, 3)))
        for name in changed:
            states[name] = rng.choice(list(MonitorStatus))
            if rng.random() < 0.5:
                open_[name] = rng.choice(list(Severity))
            else:
                open_.pop(name, None)
        if changed:
            incidents = tuple(Incident(id=i, monitor=name, state=IncidentState.OPEN, cause="", started_at=0,
                                       opened_at=0, severity=severity)
                              for i, (name, severity) in enumerate(sorted(open_.items())))
        summaries = tuple(_summary(name, states[name]) for name in names)
        overview = Overview(now=float(step), summaries=summaries, incidents=incidents,
                            changed=None if step == 0 else frozenset(changed))
        views = board.follow(overview, {s.name: s for s in summaries})
        assert {v.name: v.status for v in views} == index.derive_all(states, open_), step



async def test_w_writes_the_selected_incidents_postmortem_and_says_where(
        services_setup: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """A resolved incident selected in the incidents pane: `w` writes its draft (0600) into the
    current directory with the services from the config, and the notification names the file."""
    db, config = services_setup
    out = db.parent / "drafts"
    out.mkdir()
    monkeypatch.chdir(out)
    app = ShipTrackApp(db, clock=lambda: NOW, config_path=config, services=index_of(load_config(config)),
                       config=load_config(config))
    async with app.run_test(size=WIDE) as pilot:
        dashboard = await settled(pilot)
        pane = dashboard.query_one(TimelinePane)
        while dashboard.active_pane != "timeline":
            await pilot.press("tab")
        resolved = next(i for i in pane.incidents if i.state is IncidentState.RESOLVED)
        while pane.selected != resolved.id:
            await pilot.press("j")
        await pilot.press("w")
        await wait_until(pilot, lambda: any("Wrote the postmortem" in str(n.message)
                                            for n in app._notifications))
        [written] = list(out.iterdir())
        note = next(str(n.message) for n in app._notifications if "Wrote the postmortem" in str(n.message))
        assert str(written.resolve()) in note and f"#{resolved.id}" in note
        # No incident selected: the selected monitor's latest one (api's open incident).
        while dashboard.active_pane != "monitors":
            await pilot.press("tab")
        selected = dashboard.query_one(MonitorTable).selected_monitor
        await pilot.press("w")
        await wait_until(pilot, lambda: len(list(out.iterdir())) == 2)
    assert written.stat().st_mode & 0o777 == 0o600
    text = written.read_text()
    assert text.startswith("# Postmortem: ") and f"incident #{resolved.id}" in text.splitlines()[0]
    assert resolved.monitor in text and "## Follow-ups" in text
    latest = next(p for p in out.iterdir() if p != written).read_text()
    services = index_of(load_config(config)).services_of(selected or "")
    assert services and latest.splitlines()[0].startswith(f"# Postmortem: {', '.join(services)} — incident #")
