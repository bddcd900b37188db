"""The monitors pane keeps its sparkline and marks whatever the names and grouping (issue 11, item 14)."""

from __future__ import annotations

from pathlib import Path

from test_tui_seed import NOW, Plan, open_store, seed, settled, wait_until
from textual.widgets.data_table import ColumnKey

from shiptrack_tui.core.model import Silence, SilenceScope
from shiptrack_tui.tui import ShipTrackApp
from shiptrack_tui.tui.formatting import sparkline
from shiptrack_tui.tui.widgets.monitor_table import SPARK_WIDTH, MonitorTable, monitor_of

PLANS = (
    Plan("payments-eu", "u" * 20, tags=("prod", "eu")),
    Plan("payments-reconciliation-batch", "u" * 20, tags=("prod",)),
    Plan("search", "u" * 18 + "xx", tags=("staging",)),
    Plan("tcp-db", "u" * 20),
    Plan("fresh", "", tags=("eu",)),  # added a moment ago: no history yet
)


def _fits(table: MonitorTable) -> bool:
    """No column is pushed out of view: the rows are no wider than the table."""
    return table.virtual_size.width <= table.scrollable_content_region.width


async def test_sparkline_keeps_its_width_with_long_names_and_grouping(tmp_path: Path) -> None:
    db = tmp_path / "st.db"
    seed(db, PLANS)
    app = ShipTrackApp(db, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        dashboard = await settled(pilot)
        table = dashboard.query_one(MonitorTable)
        recent = table.columns[ColumnKey("recent")]
        assert _fits(table) and recent.get_render_width(table) == SPARK_WIDTH + 2
        assert str(table.get_row("fresh")[6]) == "·" * SPARK_WIDTH  # placeholder, not nothing
        long_name = str(table.get_row("payments-reconciliation-batch")[1])
        assert long_name.endswith("…") and long_name.startswith("payments-r")
        assert str(table.get_row("payments-eu")[1]) == "payments-eu"  # 11 characters fit at 120×40

        with open_store(db) as store:  # a silence: the mark shows, the name gives way
            store.start_silence(Silence(0, SilenceScope.TAG, "prod", created_at=NOW - 60, until=NOW + 600))
        longest = "payments-reconciliation-batch"
        await wait_until(pilot, lambda: str(table.get_row(longest)[1]).endswith("… ⊘"))
        await settled(pilot)
        assert _fits(table) and str(table.get_row("payments-eu")[1]).endswith(" ⊘")

        await pilot.press("g")
        await settled(pilot)
        keys = [row.key.value or "" for row in table.ordered_rows]
        groups = {key: [monitor_of(k) for k in keys if f"\x00in:{key}\x00in:" in k]
                  for key in ("prod", "eu", "staging", "untagged")}
        assert sorted(groups["prod"]) == ["payments-eu", "payments-reconciliation-batch"]
        assert sorted(groups["eu"]) == ["fresh", "payments-eu"]  # under each of its tags
        assert groups["untagged"] == ["tcp-db"]
        assert _fits(table) and recent.get_render_width(table) == SPARK_WIDTH + 2
        table.move_cursor(row=keys.index(next(k for k in keys if k.endswith("payments-eu"))))
        await pilot.pause()
        assert table.selected_monitor == "payments-eu"
        await pilot.press("g")  # ungrouped again: the same monitor stays selected
        await settled(pilot)
        assert table.selected_monitor == "payments-eu"


def test_sparkline_pads_a_short_history_with_dots() -> None:
    assert sparkline([], 5) == "·····"
    assert sparkline([1.0, None, 3.0], 5) == "··▁×█"


async def test_a_resize_keeps_the_selected_monitor(tmp_path: Path) -> None:
    db = tmp_path / "st.db"
    seed(db, PLANS)
    app = ShipTrackApp(db, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        dashboard = await settled(pilot)
        table = dashboard.query_one(MonitorTable)
        await pilot.press("j", "j")
        chosen = table.selected_monitor
        assert chosen is not None and table.cursor_row == 2
        await pilot.resize_terminal(150, 40)  # more room for names: every row is re-measured
        await settled(pilot)
        assert table.selected_monitor == chosen
