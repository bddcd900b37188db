"""The dashboard running the engine with `[http]` (as `shiptrack --demo` does): its header shows
where the server listens, and the server answers while the dashboard runs."""

from __future__ import annotations

from pathlib import Path

import httpx
from test_tui_seed import settled, wait_until

from shiptrack_tui.config import Config
from shiptrack_tui.core.model import MonitorSpec
from shiptrack_tui.demo import DemoTargetsThread, demo_http
from shiptrack_tui.engine import Engine, EngineThread
from shiptrack_tui.storage import Store
from shiptrack_tui.tui.app import ShipTrackApp
from shiptrack_tui.tui.widgets.status_bar import StatusBar
from shiptrack_tui.web import open_listener, start_http


async def test_the_header_shows_the_url_the_engine_serves(tmp_path: Path) -> None:
    db = tmp_path / "st.db"
    targets = DemoTargetsThread()
    targets.start()
    store = Store.open(db)
    http = demo_http()
    spec = MonitorSpec(name="api", url=f"{targets.base_url}/t/api", interval=1.0, timeout=0.5)
    engine = Engine(Config(path=tmp_path / "none.toml", monitors=(spec,), http=http), store)
    web = start_http(open_listener(http), http, db, config=lambda: engine.config, vitals=engine.vitals,
                     wake=engine.wake)
    handle = EngineThread(engine)
    app = ShipTrackApp(db, engine=handle, web_url=web.url)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await settled(pilot)
            bar = app.screen.query_one(StatusBar)
            await wait_until(pilot, lambda: web.url in str(bar.render()))
            assert f"engine running · {web.url}" in str(bar.render())
            async with httpx.AsyncClient(base_url=web.url) as client:
                ready = 0
                for _ in range(200):
                    ready = (await client.get("/health/ready")).status_code
                    if ready == 200:
                        break
                    await pilot.pause(0.05)
                assert ready == 200
                rows = (await client.get("/api/v1/monitors")).json()  # the demo's reads are public
            assert [row["name"] for row in rows] == ["api"]
            await pilot.press("q")
    finally:
        handle.stop()
        web.stop()
        store.close()
        targets.stop()
