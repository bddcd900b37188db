"""The services strip and incident communication with a real in-process engine on loopback targets."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from test_tui_panes_keys import pane_lines
from test_tui_seed import settled, wait_until

from shiptrack_tui.config import load_config, operator
from shiptrack_tui.core.model import IncidentStatus, Severity
from shiptrack_tui.core.services import ServiceStatus
from shiptrack_tui.demo import DemoTargetsThread
from shiptrack_tui.engine import Engine, EngineThread
from shiptrack_tui.storage import Store
from shiptrack_tui.tui import ShipTrackApp
from shiptrack_tui.tui.modals.pick_modal import PickModal
from shiptrack_tui.tui.services_live import index_of
from shiptrack_tui.tui.widgets.services_strip import ServicesStrip
from shiptrack_tui.tui.widgets.timeline_pane import TimelinePane

WIDE = (160, 40)


def write_config(path: Path, base_url: str) -> Path:
    path.write_text(f"""
[defaults]
interval = "1s"
timeout = "500ms"
failure_threshold = 2
recovery_threshold = 2

[[monitor]]
name = "api"
url = "{base_url}/t/api"
severity = "critical"

[[monitor]]
name = "web"
url = "{base_url}/t/web"

[[service]]
name = "Checkout"
monitors = ["api", "web"]
""", encoding="utf-8")
    return path


def statuses(app: ShipTrackApp) -> list[ServiceStatus]:
    return [view.status for view in app.screen.query_one(ServicesStrip).services]


def flat(pane: TimelinePane) -> str:
    """The pane's text with wrapped lines joined (a long entry wraps under its own column)."""
    return " ".join(" ".join(pane_lines(pane)).split())


def update_actions(db: Path) -> list[tuple[str, str | None, str | None, str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT kind, value, note, source FROM action "
                            "WHERE kind IN ('update', 'severity') ORDER BY id").fetchall()


async def test_the_strip_follows_an_incident_opening_and_resolving_and_u_writes_its_row(
        tmp_path: Path, targets: DemoTargetsThread) -> None:
    db = tmp_path / "live.db"
    config = load_config(write_config(tmp_path / "config.toml", targets.base_url))
    store = Store.open(db)
    handle = EngineThread(Engine(config, store))
    app = ShipTrackApp(db, engine=handle, services=index_of(config))
    try:
        async with app.run_test(size=WIDE) as pilot:
            await settled(pilot)
            await wait_until(pilot, lambda: statuses(app) == [ServiceStatus.OPERATIONAL], seconds=10)
            targets.set_down("t/api")
            await wait_until(pilot, lambda: statuses(app) == [ServiceStatus.OUTAGE], seconds=10)  # critical
            await pilot.press("u")
            assert isinstance(app.screen, PickModal)
            await pilot.press(*"bad deploy", "enter")
            await wait_until(pilot, lambda: len(update_actions(db)) == 1, seconds=5)
            targets.set_up("t/api")
            await wait_until(pilot, lambda: statuses(app) == [ServiceStatus.OPERATIONAL], seconds=10)
            await pilot.press("q")
            await wait_until(pilot, lambda: not handle.running, seconds=10)
        assert update_actions(db) == [("update", "identified", "bad deploy", operator("dashboard"))]
    finally:
        handle.stop()
        store.close()


async def test_the_engine_applies_an_update_and_a_severity_change_from_the_dashboard(
        tmp_path: Path, targets: DemoTargetsThread) -> None:
    """The update shows in the timeline in words; medium makes the service degraded, not an outage."""
    db = tmp_path / "live.db"
    config = load_config(write_config(tmp_path / "config.toml", targets.base_url))
    store = Store.open(db)
    handle = EngineThread(Engine(config, store))
    app = ShipTrackApp(db, engine=handle, services=index_of(config))
    try:
        async with app.run_test(size=WIDE) as pilot:
            await settled(pilot)
            targets.set_down("t/api")
            await wait_until(pilot, lambda: statuses(app) == [ServiceStatus.OUTAGE], seconds=10)
            await pilot.press("u", *"bad deploy", "enter")
            # The engine applies the action between checks: slow only on a loaded machine (CI).
            await wait_until(pilot, lambda: store.incidents()[0].status is IncidentStatus.IDENTIFIED,
                             seconds=15)
            pane = app.screen.query_one(TimelinePane)
            by = operator("dashboard")
            await wait_until(pilot, lambda: f"» identified by {by}: bad deploy" in flat(pane), seconds=5)
            await pilot.press("v", "down", "enter")  # critical (now) → high → medium
            await wait_until(pilot, lambda: store.incidents()[0].severity is Severity.MEDIUM, seconds=15)
            await wait_until(pilot, lambda: statuses(app) == [ServiceStatus.DEGRADED], seconds=5)
            await wait_until(pilot, lambda: f"◆ severity changed by {by}: critical → medium" in flat(pane),
                             seconds=5)
            assert "OPEN · medium" in flat(pane) and "» status: identified" in flat(pane)
            await pilot.press("u")  # identified now: investigating is refused up front
            modal = app.screen
            assert isinstance(modal, PickModal) and modal.choice is not None
            assert modal.choice.value == "monitoring"
            await pilot.press("escape")
            await pilot.press("q")
            await wait_until(pilot, lambda: not handle.running, seconds=10)
    finally:
        handle.stop()
        store.close()
