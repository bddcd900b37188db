"""Item 3 of issue 11: no chart-like glyphs outside the charts (scrollbar thumbs are whole cells)."""

from __future__ import annotations

from pathlib import Path

from test_tui_seed import NOW, Plan, seed, settled
from textual.scrollbar import ScrollBar
from textual.widget import Widget

from shiptrack_tui.tui import ShipTrackApp
from shiptrack_tui.tui.widgets.monitor_table import MonitorTable

EIGHTHS = set("▁▂▃▄▅▆▇▉▊▋▌▍▎▏")
MANY = tuple(Plan(f"svc-{index:02}", "u" * 20) for index in range(30))


def _glyphs(app: ShipTrackApp, bar: ScrollBar, height: int) -> set[str]:
    options = app.console.options.update_dimensions(bar.thickness, height)
    return {char for segment in app.console.render(bar.render(), options) for char in segment.text}


async def test_scrolled_panes_draw_no_chart_glyphs_in_their_scrollbars(tmp_path: Path) -> None:
    db = tmp_path / "many.db"
    seed(db, MANY)
    app = ShipTrackApp(db, clock=lambda: NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        dashboard = await settled(pilot)
        table: Widget = dashboard.query_one(MonitorTable)
        assert table.show_vertical_scrollbar  # 30 monitors do not fit 24 lines
        for _ in range(7):
            await pilot.press("j")
        table.scroll_to(y=3.5, animate=False)
        await pilot.pause()
        bar = table.vertical_scrollbar
        assert bar.window_size < bar.window_virtual_size
        assert not _glyphs(app, bar, table.size.height) & EIGHTHS
