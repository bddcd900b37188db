"""How the dashboard looks, pinned with pytest-textual-snapshot (plain `def` tests, fixed clock).

Update after an intended change with `pytest tests/test_tui_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from daemon_lock import held_by
from test_tui_seed import ALL_UP, NOW, WITH_ACK, WITH_INCIDENT, Plan, seed, settled
from test_tui_services import open_incident_id, seed_services, services_app, set_status
from textual.pilot import Pilot

from shiptrack_tui.core.model import IncidentStatus
from shiptrack_tui.tui import ShipTrackApp

WIDE = (150, 40)


def _app(tmp_path: Path, plans: Sequence[Plan], **kwargs: Any) -> ShipTrackApp:
    db = tmp_path / "shiptrack.db"
    seed(db, plans)
    return ShipTrackApp(db, clock=lambda: NOW, **kwargs)


async def _settle(pilot: Pilot[None]) -> None:
    await settled(pilot)
    await pilot.pause()


def test_all_up(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(_app(tmp_path, ALL_UP), terminal_size=WIDE, run_before=_settle)


def test_open_incident(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(_app(tmp_path, WITH_INCIDENT), terminal_size=WIDE, run_before=_settle)


def test_acknowledged_incident(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(_app(tmp_path, WITH_ACK), terminal_size=WIDE, run_before=_settle)


def test_attached_to_daemon(snap_compare: Any, tmp_path: Path) -> None:
    app = _app(tmp_path, WITH_INCIDENT, attached_pid=4242)
    with held_by(tmp_path / "shiptrack.db", 4242):  # the dashboard follows whoever holds the lock
        assert snap_compare(app, terminal_size=WIDE, run_before=_settle)


def test_small_terminal_monitors(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(_app(tmp_path, WITH_INCIDENT), terminal_size=(80, 24), run_before=_settle)


def test_small_terminal_detail(snap_compare: Any, tmp_path: Path) -> None:
    async def open_detail(pilot: Pilot[None]) -> None:
        await _settle(pilot)
        await pilot.press("enter")
        await _settle(pilot)

    assert snap_compare(_app(tmp_path, WITH_INCIDENT), terminal_size=(80, 24), run_before=open_detail)


def test_ack_dialog(snap_compare: Any, tmp_path: Path) -> None:
    async def ask(pilot: Pilot[None]) -> None:
        await _settle(pilot)
        await pilot.press("a", *"on it")

    assert snap_compare(_app(tmp_path, WITH_INCIDENT), terminal_size=(80, 24), run_before=ask)


def test_light_theme(snap_compare: Any, tmp_path: Path) -> None:
    app = _app(tmp_path, WITH_INCIDENT)

    async def light(pilot: Pilot[None]) -> None:
        pilot.app.theme = "textual-light"
        await _settle(pilot)

    assert snap_compare(app, terminal_size=WIDE, run_before=light)


def test_small_terminal_help(snap_compare: Any, tmp_path: Path) -> None:
    """The help fits 80×24 (title and hint showing) and scrolls; its keys come from the bindings."""
    async def help_(pilot: Pilot[None]) -> None:
        await _settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(_app(tmp_path, WITH_INCIDENT), terminal_size=(80, 24), run_before=help_)


def test_small_terminal_incidents_with_one_selected(snap_compare: Any, tmp_path: Path) -> None:
    """The incidents pane has the keys (its tab and border say so) and the second incident is selected."""
    async def select(pilot: Pilot[None]) -> None:
        await _settle(pilot)
        await pilot.press("tab", "tab", "j")
        await _settle(pilot)

    assert snap_compare(_app(tmp_path, WITH_INCIDENT), terminal_size=(80, 24), run_before=select)


def test_small_terminal_detail_after_window_switch_and_help(snap_compare: Any, tmp_path: Path) -> None:
    """Issue 11, item 3: no chart-like glyph beside the chart after a window switch and a modal
    (the scrollbar's thumb is drawn in whole cells)."""
    async def switch_and_help(pilot: Pilot[None]) -> None:
        await _settle(pilot)
        await pilot.press("enter")
        await _settle(pilot)
        await pilot.press("2")
        await _settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        await pilot.press("escape")
        await _settle(pilot)

    assert snap_compare(_app(tmp_path, WITH_INCIDENT), terminal_size=(80, 24), run_before=switch_and_help)


def test_services_shown(snap_compare: Any, tmp_path: Path) -> None:
    """Issue 12: the services strip (Checkout picked, so the monitors are its members and the
    pane's title says so), and incidents with their severity and status."""
    async def pick(pilot: Pilot[None]) -> None:
        await _settle(pilot)
        await pilot.press("f")
        await _settle(pilot)

    assert snap_compare(services_app(*seed_services(tmp_path)), terminal_size=WIDE, run_before=pick)


def test_small_terminal_update_dialog(snap_compare: Any, tmp_path: Path) -> None:
    """Issue 12: the status update at 80×24; the incident is identified, so investigating is
    greyed out with the lifecycle's reason."""
    db, config = seed_services(tmp_path)
    set_status(db, open_incident_id(db, "api"), IncidentStatus.IDENTIFIED)

    async def ask(pilot: Pilot[None]) -> None:
        await _settle(pilot)
        await pilot.press("u", *"rolling back")
        await pilot.pause()

    assert snap_compare(services_app(db, config), terminal_size=(80, 24), run_before=ask)
