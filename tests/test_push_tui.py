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


async def test_the_push_url_is_whole_where_the_server_is_known(tmp_path: Path) -> None:
    from shiptrack_tui.config import Config
    from shiptrack_tui.config.settings import HttpSettings

    db = tmp_path / "push.db"
    with open_store(db) as store:
        store.sync_monitors([MonitorSpec(name="backup", url="push", push=True, interval=86400.0)], NOW)
        token = store.push_token("backup")
    # This process's server (the demo, [http] with an in-process engine), or a daemon's [http] listen.
    config = Config(path=tmp_path / "c.toml", http=HttpSettings(host="127.0.0.1", port=8080))
    for app, base in ((ShipTrackApp(db, clock=lambda: NOW, web_url="http://127.0.0.1:41591"),
                       "http://127.0.0.1:41591"),
                      (ShipTrackApp(db, clock=lambda: NOW, config=config), "http://127.0.0.1:8080")):
        async with app.run_test(size=(120, 40)) as pilot:
            dashboard = await settled(pilot)
            pane = dashboard.query_one(DetailPane)
            await wait_until(pilot, lambda pane=pane: getattr(pane.detail, "push_token", None) == token)
            assert f"push URL    {base}\n/push/{token}" in str(pane.query_one("#detail-body").render())


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
