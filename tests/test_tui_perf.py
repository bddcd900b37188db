"""1,000 monitors behave: they all load, keys move the cursor, a background write shows up.

No timing is asserted here (machines vary): `shiptrack bench` measures key latency. The figures
are printed with `pytest tests/test_tui_perf.py -s` for a quick look.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from test_tui_seed import NOW, Plan, fold, open_store, seed, settled, wait_until

from shiptrack_tui.tui import ShipTrackApp
from shiptrack_tui.tui.widgets.monitor_table import MonitorTable

MONITORS = 1000


def _plans() -> list[Plan]:
    patterns = ("u" * 12, "u" * 11 + "d", "u" * 8 + "xxxx", "u" * 10 + "x")
    return [Plan(f"svc-{i:04d}", patterns[i % 17 % 4], tags=(f"team-{i % 7}",)) for i in range(MONITORS)]


async def test_1000_monitors_load_move_and_follow_writes(tmp_path: Path) -> None:
    db = tmp_path / "big.db"
    seed(db, _plans())
    app = ShipTrackApp(db, clock=lambda: NOW)
    async with app.run_test(size=(160, 50)) as pilot:
        dashboard = await settled(pilot)
        table = dashboard.query_one(MonitorTable)
        assert table.row_count == MONITORS
        timings = []
        for key, step in [("j", 1)] * 30 + [("k", -1)] * 10:
            before = table.cursor_row
            start = time.perf_counter()
            await pilot.press(key)
            timings.append((time.perf_counter() - start) * 1000)
            assert table.cursor_row == before + step
        # Another writer (here: this test) stores a failing check for an "up" monitor.
        target = next(s.name for s in dashboard.overview.summaries if s.state.status.value == "up")
        with open_store(db) as store:
            store.commit_batch(fold(Plan(target, "u" * 12 + "x"), end=NOW + 60)[-1:])

        def row_of_target_failed() -> bool:
            row = table.get_row(target)
            return "×" in row[-1].plain  # the sparkline's gap for the failed check
        await wait_until(pilot, row_of_target_failed, seconds=10)
        assert table.row_count == MONITORS
    print(f"\n1,000 monitors: press median {statistics.median(timings):.1f} ms, max {max(timings):.1f} ms")
