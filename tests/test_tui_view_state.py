"""The theme, chart window and grouping outlive the dashboard; borders show on a light theme
(issue 11, item 16)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from test_tui_seed import NOW, WITH_INCIDENT, seed, settled, wait_until

from shiptrack_tui.tui import ShipTrackApp
from shiptrack_tui.tui.view_state import ViewState, load_view_state, view_state_path
from shiptrack_tui.tui.widgets.detail_pane import DetailPane
from shiptrack_tui.tui.widgets.monitor_table import GROUP_PREFIX, MonitorTable


def test_view_state_lives_in_the_isolated_state_dir(isolated_home: Path) -> None:
    assert view_state_path().is_relative_to(isolated_home)  # conftest's XDG_STATE_HOME covers it
    assert load_view_state() == ViewState()


async def test_theme_window_and_grouping_are_kept_across_restarts(tmp_path: Path) -> None:
    db = tmp_path / "st.db"
    seed(db, WITH_INCIDENT)
    async with ShipTrackApp(db, clock=lambda: NOW).run_test(size=(150, 40)) as pilot:
        await settled(pilot)
        pilot.app.theme = "textual-light"
        await pilot.press("2", "g")
        await wait_until(pilot, lambda: load_view_state().grouped)
    path = view_state_path()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == {"theme": "textual-light", "window": "24h", "grouped": True}

    app = ShipTrackApp(db, clock=lambda: NOW)
    async with app.run_test(size=(150, 40)) as pilot:
        dashboard = await settled(pilot)
        assert app.theme == "textual-light"
        assert dashboard.query_one(DetailPane).window == "24h"
        table = dashboard.query_one(MonitorTable)
        keys = [row.key.value or "" for row in table.ordered_rows]
        assert table.grouped and any(key.startswith(GROUP_PREFIX) for key in keys)


def test_a_damaged_view_file_gives_the_defaults() -> None:
    path = view_state_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"theme": 3, "window": "9y", "grouped": "yes"}')
    assert load_view_state() == ViewState()
    path.write_text("not json")
    assert load_view_state() == ViewState()


async def test_pane_borders_stand_out_on_the_light_theme(tmp_path: Path) -> None:
    db = tmp_path / "st.db"
    seed(db, WITH_INCIDENT)
    async with ShipTrackApp(db, clock=lambda: NOW).run_test(size=(150, 40)) as pilot:
        dashboard = await settled(pilot)
        for theme in ("textual-light", "textual-dark"):
            pilot.app.theme = theme
            await pilot.pause()
            pane = dashboard.query_one("#timeline-pane")  # not focused: the plain border
            _kind, colour = pane.styles.border_top
            background = pane.background_colors[0]
            border = background + colour
            assert abs(border.brightness - background.brightness) > 0.25, theme
