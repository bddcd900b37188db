"""The panes' content: detail fits at 130×36, the chart's gaps and failures, header, timeline."""

from __future__ import annotations

from pathlib import Path

from daemon_lock import held_by
from rich.console import Console
from test_tui_seed import ALL_UP, NOW, WITH_ACK, WITH_INCIDENT, Plan, open_store, seed, settled, wait_until
from textual.widgets.data_table import ColumnKey

from shiptrack_tui.core.model import IncidentState, Silence, SilenceScope
from shiptrack_tui.tui import ShipTrackApp
from shiptrack_tui.tui.data import chart_span, read_detail, read_overview
from shiptrack_tui.tui.widgets.detail_pane import DetailPane, chart_caption
from shiptrack_tui.tui.widgets.latency_chart import bar_rows, resample
from shiptrack_tui.tui.widgets.monitor_table import MonitorTable
from shiptrack_tui.tui.widgets.status_bar import StatusBar
from shiptrack_tui.tui.widgets.timeline_pane import TimelinePane, render_timeline


def plain(renderable: object, width: int = 60) -> str:
    console = Console(width=width, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


async def test_detail_shows_figures_error_and_cert_above_the_fold(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    seed(db, ALL_UP)
    async with ShipTrackApp(db, clock=lambda: NOW).run_test(size=(130, 36)) as pilot:
        dashboard = await settled(pilot)
        pane = dashboard.query_one(DetailPane)
        timeline = dashboard.query_one(TimelinePane)
        assert pane.outer_size.height > 2 * timeline.outer_size.height  # a short timeline gives way
        visible = pane.content_region
        for part in ("#detail-stats", "#detail-chart", "#detail-body"):
            assert pane.query_one(part).region.y < visible.bottom, part
        stats = str(pane.query_one("#detail-stats").render())
        assert all(window in stats for window in ("1h", "24h", "7d")) and "p95" in stats
        body = str(pane.query_one("#detail-body").render())
        assert "certificate 42 days left" in body and "last error" in body


def test_chart_leaves_no_data_blank_and_marks_failures() -> None:
    peaks, failed = resample([None, None, 10.0, None, 40.0], [0, 0, 0, 2, 0], 5)
    assert peaks == [None, None, 10.0, None, 40.0] and failed == [False, False, False, True, False]
    rows = bar_rows(peaks, rows=2)
    assert [row[0] for row in rows] == [" ", " "]  # no data: blank, not the lowest bar
    assert rows[-1][4] == "█" and rows[0][4] == "█"  # the highest value fills both rows
    wide, _ = resample([1.0, None], [0, 0], 6)
    assert wide == [1.0, 1.0, 1.0, None, None, None]  # few slices are widened to fill the chart


def test_young_monitor_chart_zooms_to_its_data(tmp_path: Path) -> None:
    db = tmp_path / "young.db"
    seed(db, (Plan("new", "uuxuu"),))  # five checks a minute apart, one failed
    assert chart_span(3600, NOW, NOW - 300) < 400
    assert chart_span(3600, NOW, NOW - 7200) == 3600
    with open_store(db) as store:
        summary = read_overview(store, NOW).summaries[0]
        detail = read_detail(store, summary, "1h", NOW)
    assert detail.span < 400 and sum(detail.failures) == 1
    present = [value for value in detail.series if value is not None]
    assert len(present) >= 3
    caption = chart_caption(detail)
    assert caption.startswith("last 5m") and "1 failed" in caption


async def test_header_counts_open_incidents_and_fits_80_columns(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    seed(db, WITH_INCIDENT)
    app = ShipTrackApp(db, clock=lambda: NOW, attached_pid=4242)
    with held_by(db, 4242):  # a daemon with this pid holds the lock
        async with app.run_test(size=(80, 24)) as pilot:
            await settled(pilot)
            bar = app.screen.query_one(StatusBar)
            assert bar.incidents == 2 and bar.has_class("-trouble")
            text = bar.render()
            assert text.cell_len <= 80
            assert "⚑ 2 open" in text.plain and "✖ 2" in text.plain and "4242" in text.plain


def test_timeline_puts_active_first_with_ack_note_times_and_durations(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    seed(db, (*WITH_ACK, Plan("web2", "u" * 10 + "xxxx" + "uu")))
    with open_store(db) as store:
        incidents = read_overview(store, NOW).incidents
    assert [i.state for i in incidents] == [IncidentState.ACKNOWLEDGED, IncidentState.RESOLVED]
    text = plain(render_timeline(incidents, NOW, {}), width=80)
    lines = text.splitlines()
    assert lines[0].startswith("✔ #") and "ACKNOWLEDGED · high  for" in lines[0]
    assert "acknowledged: on it — rolling back" in text
    assert any(line.startswith("● #") and "lasted 5m" in line for line in lines)
    event_lines = [line for line in lines if "opened" in line]
    assert event_lines and all(line[2] == ":" for line in event_lines)  # HH:MM:SS: same day as now


async def test_a_name_that_gains_a_mark_widens_its_column(tmp_path: Path) -> None:
    """The name column fits the longest name; a silence mark added later must not be cut off."""
    db = tmp_path / "st.db"
    seed(db, WITH_INCIDENT)
    app = ShipTrackApp(db, clock=lambda: NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        dashboard = await settled(pilot)
        table = dashboard.query_one(MonitorTable)
        name = table.columns[ColumnKey("name")]
        assert name.content_width == len("billing")
        with open_store(db) as store:  # another connection: the dashboard sees it as news
            store.start_silence(Silence(0, SilenceScope.MONITOR, "billing", created_at=NOW - 60,
                                        until=NOW + 840))
        await wait_until(pilot, lambda: str(table.get_row("billing")[1]) == "billing ⊘")
        await wait_until(pilot, lambda: name.content_width >= len("billing ⊘"))
        await settled(pilot)
        screen = app.export_screenshot()
    assert "billing ⊘" in screen.replace("&#160;", " ")


async def test_detail_keeps_its_essentials_in_view_beside_a_long_timeline(tmp_path: Path) -> None:
    """Issue 11, item 15: many incidents shrink the detail pane; state, last error and the
    per-window figures stay in view, and the chart caption never wraps with a dangling `·`."""
    db = tmp_path / "busy.db"
    seed(db, (Plan("api", "uuxxxuu" * 8 + "xxx", tags=("prod",)), Plan("web", "uuuxxxu" * 8, tags=("prod",))))
    async with ShipTrackApp(db, clock=lambda: NOW).run_test(size=(120, 40)) as pilot:
        dashboard = await settled(pilot)
        pane = dashboard.query_one(DetailPane)
        await wait_until(pilot, lambda: pane.detail is not None and pane.detail.summary.name == "api")
        await pilot.pause()
        timeline = dashboard.query_one(TimelinePane)
        assert timeline.outer_size.height >= 14  # the timeline is full
        visible = pane.content_region
        for part in ("#detail-head", "#detail-body", "#detail-stats"):
            assert pane.query_one(part).region.bottom <= visible.bottom, part
        body = str(pane.query_one("#detail-body").render())
        assert "last error  HTTP 503" in body
        caption = pane.query_one("#detail-caption")
        lines = str(caption.render()).splitlines()
        assert lines and all(not line.rstrip().endswith("·") for line in lines)
        assert caption.size.height == len(lines) and all(len(line) <= caption.size.width for line in lines)


def test_timeline_says_who_acknowledged_and_noted() -> None:
    from dataclasses import replace

    from shiptrack_tui.core.model import Incident, TimelineEntry, TimelineKind

    incident = Incident(id=7, monitor="api", state=IncidentState.ACKNOWLEDGED, cause="HTTP 503",
                        started_at=NOW - 600, opened_at=NOW - 540, acknowledged_at=NOW - 300, events=(
                            TimelineEntry(NOW - 540, TimelineKind.OPENED, "HTTP 503"),
                            TimelineEntry(NOW - 300, TimelineKind.ACKNOWLEDGED, "on it", "alice (dashboard)"),
                            TimelineEntry(NOW - 200, TimelineKind.NOTE, "db failover", "bob (cli)")))
    text = plain(render_timeline([incident], NOW, {}), width=100)
    assert "acknowledged by alice (dashboard): on it" in text
    assert "note by bob (cli): db failover" in text
    bare = TimelineEntry(NOW - 300, TimelineKind.ACKNOWLEDGED, None, "alice (cli)")
    quiet = replace(incident, events=(bare,))
    assert "acknowledged by alice (cli)" in plain(render_timeline([quiet], NOW, {}), width=100)
