"""The dashboard's first paint on a seeded database, beside a bare DataTable of as many rows.

`ShipTrackApp` runs headless (`App.run_test`) as a viewer attached to a "daemon" (this process),
so no engine starts; we time from building the app until its monitor table holds every monitor
and one more refresh has been processed. The baseline is Textual alone: an app whose DataTable
gets the same number of ready-made rows on mount.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from textual.app import App, ComposeResult
from textual.widgets import DataTable

from shiptrack_tui.bench.measure import median

SIZE = (200, 60)
TIMEOUT_S = 60.0


class BareTable(App[None]):
    """Textual's own cost of showing `rows` rows of eight short cells."""

    def __init__(self, rows: int) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        yield DataTable()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("name", "state", "last", "latency", "24h", "p50", "p95", "spark")
        table.add_rows([(f"m{i:05d}", "up", "12s ago", "20 ms", "99.9%", "20", "45", "▁▂▃▄▅▆▇█▇▆")
                        for i in range(self.rows)])


async def _time_until_rows(app: App[None], rows: int, table_of: Any) -> float | None:
    started = time.perf_counter()
    async with app.run_test(size=SIZE) as pilot:
        deadline = started + TIMEOUT_S
        while time.perf_counter() < deadline:
            table = table_of(app)
            if table is not None and table.row_count >= rows:
                await pilot.pause()
                return (time.perf_counter() - started) * 1000
            await pilot.pause(0.005)
    return None


def _dashboard_table(app: App[None]) -> Any:
    from shiptrack_tui.tui.widgets.monitor_table import MonitorTable

    found = app.screen.query(MonitorTable)
    return found.first() if found else None


def _bare_table(app: App[None]) -> Any:
    found = app.query(DataTable)
    return found.first() if found else None


async def first_paint(db_path: Path, monitors: int, repeat: int = 3) -> dict[str, Any]:
    """Median milliseconds to a populated table: the dashboard, and a bare DataTable."""
    try:
        from shiptrack_tui.tui.app import ShipTrackApp
    except ImportError as error:  # the dashboard is not there yet
        return {"dashboard_ms": None, "bare_datatable_ms": None, "error": str(error)}
    dashboard: list[float] = []
    bare: list[float] = []
    for _ in range(repeat):
        app = ShipTrackApp(db_path, attached_pid=os.getpid())
        took = await _time_until_rows(app, monitors, _dashboard_table)
        if took is not None:
            dashboard.append(took)
        took = await _time_until_rows(BareTable(monitors), monitors, _bare_table)
        if took is not None:
            bare.append(took)
    return {"dashboard_ms": median(dashboard), "dashboard_runs_ms": dashboard,
            "bare_datatable_ms": median(bare), "bare_runs_ms": bare, "terminal_size": list(SIZE)}
