"""Silences: the pure rules, and the dashboard's keys (`s` writes the action row, `S` lifts it)."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_tui_app import WIDE, actions
from test_tui_seed import NOW, WITH_INCIDENT, open_store, seed, settled, wait_until

from shiptrack_tui.config import operator
from shiptrack_tui.core.model import Silence, SilenceScope
from shiptrack_tui.core.silences import (
    SilenceError,
    SilenceRequest,
    SilenceTarget,
    ended_by_resolve,
    expired,
    expiry_text,
    muting,
)
from shiptrack_tui.tui import ShipTrackApp
from shiptrack_tui.tui.modals.silence_modal import SilenceModal
from shiptrack_tui.tui.widgets.detail_pane import DetailPane
from shiptrack_tui.tui.widgets.monitor_table import MonitorTable
from shiptrack_tui.tui.widgets.status_bar import StatusBar

TAG = SilenceScope.TAG
MONITOR = SilenceScope.MONITOR


@pytest.mark.parametrize(("note", "target", "seconds"), [
    ("1h monitor:api", SilenceTarget(MONITOR, "api"), 3600.0),
    ("15m tag:prod", SilenceTarget(TAG, "prod"), 900.0),
    ("until-resolved api", SilenceTarget(MONITOR, "api"), None),
    ("90s tag:two words", SilenceTarget(TAG, "two words"), 90.0),
])
def test_requests_travel_as_action_notes(note: str, target: SilenceTarget, seconds: float | None) -> None:
    request = SilenceRequest.from_note(note)
    assert request == SilenceRequest(target, seconds)
    assert SilenceRequest.from_note(request.to_note()) == request


@pytest.mark.parametrize("note", ["", "1h", "soon api", "0s api", "1h tag:", "36501d api"])
def test_unreadable_requests_are_refused(note: str) -> None:
    with pytest.raises(SilenceError):
        SilenceRequest.from_note(note)


def test_muting_expiry_and_until_resolved() -> None:
    prod = Silence(1, TAG, "prod", created_at=0.0, until=900.0, source="tui")
    api = Silence(2, MONITOR, "api", created_at=0.0, until_resolved=True)
    assert muting([prod], "web", ("prod",), 899.0) == prod
    assert muting([prod], "web", ("prod",), 900.0) is None  # expired: no longer mutes
    assert muting([prod], "db", (), 10.0) is None
    assert expired([prod, api], 900.0) == [prod]
    assert expiry_text(prod, 60.0) == "14m left" and expiry_text(api, 60.0) == "until resolved"
    tags = {"api": ("prod",), "web": ("prod",)}
    assert ended_by_resolve([api], "api", tags, still_open=["api"]) == [api]
    # A tag silence "until resolved" lasts while another monitor with the tag still has an incident.
    everyone = Silence(3, TAG, "prod", created_at=0.0, until_resolved=True)
    assert ended_by_resolve([everyone], "api", tags, still_open=["api", "web"]) == []
    assert ended_by_resolve([everyone], "api", tags, still_open=["api"]) == [everyone]


@pytest.fixture
def incident_db(tmp_path: Path) -> Path:
    db = tmp_path / "shiptrack.db"
    seed(db, WITH_INCIDENT)
    return db


async def test_s_writes_a_silence_action_for_the_monitor_or_a_tag(incident_db: Path) -> None:
    app = ShipTrackApp(incident_db, clock=lambda: NOW)
    async with app.run_test(size=WIDE) as pilot:
        await settled(pilot)
        await pilot.press("s")
        assert isinstance(app.screen, SilenceModal)
        await pilot.click("#silence-ok")  # the defaults: this monitor, 1 h
        await wait_until(pilot, lambda: len(actions(incident_db)) == 1)
        await pilot.press("s")
        await pilot.click("#silence-scope-1")  # api's tag "prod"
        await pilot.click("#silence-length-3")  # until resolved
        await pilot.click("#silence-ok")
        await wait_until(pilot, lambda: len(actions(incident_db)) == 2)
        await pilot.press("s", "escape")
        await pilot.pause()
    assert actions(incident_db) == [
        ("silence", "api", None, "1h monitor:api", operator("dashboard")),
        ("silence", "api", None, "until-resolved tag:prod", operator("dashboard")),
    ]


async def test_header_row_and_detail_show_a_silence_and_S_lifts_it(incident_db: Path) -> None:
    with open_store(incident_db) as store:
        store.start_silence(Silence(0, TAG, "prod", created_at=NOW - 60, until=NOW + 840, source="tui"))
    app = ShipTrackApp(incident_db, clock=lambda: NOW)
    async with app.run_test(size=WIDE) as pilot:
        dashboard = await settled(pilot)
        assert dashboard.query_one(StatusBar).silenced == ("tag:prod 14m left",)
        assert "tag:prod 14m left" in str(dashboard.query_one(StatusBar).render())
        table = dashboard.query_one(MonitorTable)
        names = {str(table.get_row(key)[1]) for key in ("api", "web", "search")}
        assert names == {"api ⊘", "web ⊘", "search"}  # search is tagged staging
        pane = dashboard.query_one(DetailPane)
        await wait_until(pilot, lambda: any("silenced" in note for note in pane.notes))
        assert "⊘ silenced: tag:prod (14m left, by tui)" in pane.notes
        await pilot.press("S")
        await wait_until(pilot, lambda: len(actions(incident_db)) == 1)
    assert actions(incident_db) == [("unsilence", "api", None, "tag:prod", operator("dashboard"))]


async def test_S_on_a_monitor_nobody_silenced_only_warns(incident_db: Path) -> None:
    app = ShipTrackApp(incident_db, clock=lambda: NOW)
    async with app.run_test(size=WIDE) as pilot:
        await settled(pilot)
        await pilot.press("S")
        assert any("is not silenced" in n.message for n in app._notifications)
    assert actions(incident_db) == []


def test_cli_silence_and_unsilence_queue_action_rows(incident_db: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from shiptrack_tui.cli import main

    assert main(["silence", "tag:staging", "--for", "4h", "--db", str(incident_db)]) == 0
    assert main(["silence", "api", "--until-resolved", "--db", str(incident_db)]) == 0
    assert main(["unsilence", "api", "--db", str(incident_db)]) == 0
    assert "queued" in capsys.readouterr().out  # no engine runs here: applied when one starts
    assert main(["silence", "tag:nope", "--for", "1h", "--db", str(incident_db)]) == 2
    assert "covers no monitor" in capsys.readouterr().err
    assert [row[:4] for row in actions(incident_db)] == [
        ("silence", "billing", None, "4h tag:staging"),  # a monitor the tag covers (by name)
        ("silence", "api", None, "until-resolved monitor:api"),
        ("unsilence", "api", None, "monitor:api"),
    ]
