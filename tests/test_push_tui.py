"""The dashboard's detail pane shows a push monitor's URL where a probed one shows its certificate."""

from __future__ import annotations

from pathlib import Path

from test_tui_seed import NOW, open_store, settled, wait_until

from shiptrack_tui.core.model import MonitorSpec
from shiptrack_tui.tui import ShipTrackApp
from shiptrack_tui.tui.widgets.detail_pane import DetailPane


async def test_the_detail_pane_shows_the_push_url(tmp_path: Path) -> None:
    db = tmp_path / "push.db"
    with open_store(db) as store:
        backup = MonitorSpec(name="backup", url="push", push=True, interval=86400.0, grace=3600.0)
        store.sync_monitors([backup], NOW)
        token = store.push_token("backup")
    assert token is not None
    async with ShipTrackApp(db, clock=lambda: NOW).run_test(size=(80, 24)) as pilot:
        dashboard = await settled(pilot)
        pane = dashboard.query_one(DetailPane)
        await wait_until(pilot, lambda: pane.detail is not None and pane.detail.push_token == token)
        body = str(pane.query_one("#detail-body").render())
        assert f"push URL    /push/{token}" in body and "certificate" not in body


async def test_check_now_on_a_push_monitor_says_why_and_queues_nothing(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "push.db"
    with open_store(db) as store:
        store.sync_monitors([MonitorSpec(name="backup", url="push", push=True, interval=86400.0)], NOW)
    async with ShipTrackApp(db, clock=lambda: NOW).run_test(size=(80, 24)) as pilot:
        await settled(pilot)
        await pilot.press("c")
        await wait_until(pilot, lambda: any("push monitor" in str(n.message)
                                            for n in pilot.app._notifications))
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM action").fetchone() == (0,)
