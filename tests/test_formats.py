"""One style for numbers and times in the dashboard and the CLI (issue 11, items 4 and 5)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC
from pathlib import Path

import pytest
from test_tui_panes import plain
from test_tui_seed import NOW, WITH_INCIDENT, seed, settled, wait_until

from shiptrack_tui.cli import main
from shiptrack_tui.core.formats import (
    UnknownZone,
    fmt_clock,
    fmt_datetime,
    fmt_ms,
    fmt_time,
    fmt_uptime,
    last_latency,
    set_display_zone,
    zone_named,
)
from shiptrack_tui.core.model import MonitorState
from shiptrack_tui.tui import ShipTrackApp
from shiptrack_tui.tui.widgets.detail_pane import DetailPane
from shiptrack_tui.tui.widgets.monitor_table import MonitorTable
from shiptrack_tui.tui.widgets.timeline_pane import TimelinePane, render_timeline

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(("value", "text"), [
    (None, "—"), (0.4, "0.4 ms"), (0.04, "0.0 ms"), (9.94, "9.9 ms"), (9.96, "10 ms"), (12.4, "12 ms"),
    (312.0, "312 ms"), (999.6, "1.0 s"), (1056.0, "1.1 s"), (9960.0, "10 s"), (12_400.0, "12 s"),
])
def test_latency_reads_in_one_style(value: float | None, text: str) -> None:
    assert fmt_ms(value) == text


@pytest.mark.parametrize(("value", "text"), [
    (None, "—"), (100.0, "100%"), (99.95, "99.95%"), (99.9, "99.9%"), (87.0, "87%"),
    (99.999, "99.99%"), (66.666, "66.66%"), (0.0, "0%"),
])
def test_uptime_trims_zeros_and_never_rounds_up_to_100(value: float | None, text: str) -> None:
    assert fmt_uptime(value) == text


def test_a_failed_last_check_shows_no_latency() -> None:
    assert last_latency(MonitorState(last_latency_ms=3.2, last_error="HTTP 503")) == "—"
    assert last_latency(MonitorState(last_latency_ms=3.2)) == "3.2 ms"


def test_times_follow_the_zone_they_are_given() -> None:
    at = NOW  # 2026-11-18 11:06:40 UTC
    berlin = zone_named("Europe/Berlin")
    assert fmt_time(at, UTC) == "11-18 11:06:40" and fmt_time(at, berlin) == "11-18 12:06:40"
    assert fmt_datetime(at, berlin) == "2026-11-18 12:06:40 CET"
    assert fmt_clock(at, at + 3600, berlin) == "12:06:40"
    assert fmt_clock(at - 86400, at, berlin) == "11-17 12:06"
    with pytest.raises(UnknownZone):
        zone_named("Europe/Berlln")


def _incidents(tmp_path: Path, env: dict[str, str], *extra: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "shiptrack_tui", "incidents", "--db", str(tmp_path / "st.db"), *extra],
        env={**os.environ, "PYTHONPATH": str(ROOT), **env}, capture_output=True, text=True, timeout=60,
        check=True)
    return result.stdout


def test_cli_tables_show_local_time_and_the_configured_zone(tmp_path: Path) -> None:
    seed(tmp_path / "st.db", WITH_INCIDENT)
    tokyo = _incidents(tmp_path, {"TZ": "Asia/Tokyo"})
    assert " JST" in tokyo and " UTC" not in tokyo and "Z " not in tokyo
    config = tmp_path / "cfg.toml"
    config.write_text('[display]\ntimezone = "Europe/Berlin"\n')
    berlin = _incidents(tmp_path, {"TZ": "Asia/Tokyo"}, "--config", str(config))
    assert " CET" in berlin and " JST" not in berlin
    json_out = _incidents(tmp_path, {"TZ": "Asia/Tokyo"}, "--json")
    assert '"opened_at": "2026-11-18T' in json_out and 'Z"' in json_out  # JSON stays UTC


async def test_cli_and_dashboard_print_the_same_numbers(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    end = time.time()
    db = tmp_path / "st.db"
    seed(db, WITH_INCIDENT, end=end)
    assert main(["status", "--db", str(db)]) == 0
    cli_rows = {line.split()[2]: line.split()[3:] for line in capsys.readouterr().out.splitlines()[1:]}
    async with ShipTrackApp(db, clock=lambda: end).run_test(size=(150, 40)) as pilot:
        dashboard = await settled(pilot)
        table = dashboard.query_one(MonitorTable)
        for name in ("web", "api", "search"):
            uptime, p50, last, age = (str(cell) for cell in table.get_row(name)[2:6])
            assert " ".join(cli_rows[name]).startswith(f"{uptime} {p50} {last} {age} ago"), cli_rows[name]
    assert cli_rows["api"][0] == "75%" and "—" in cli_rows["api"][3]  # api is down: LAST is —


async def test_dashboard_shows_times_in_the_display_zone(tmp_path: Path) -> None:
    db = tmp_path / "st.db"
    seed(db, WITH_INCIDENT)
    set_display_zone(zone_named("Europe/Berlin"))  # what `[display] timezone` does at start-up
    async with ShipTrackApp(db, clock=lambda: NOW).run_test(size=(150, 40)) as pilot:
        dashboard = await settled(pilot)
        pane = dashboard.query_one(DetailPane)
        await wait_until(pilot, lambda: pane.detail is not None)
        assert "recent checks (CET)" in str(pane.query_one("#detail-recent").render())
        timeline = plain(render_timeline(dashboard.query_one(TimelinePane).incidents, NOW, {}), width=80)
        assert "12:05:40 ✖ opened" in timeline  # 11:05:40 UTC
