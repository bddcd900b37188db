"""What the dashboard's fast paths must still get right: rows that moved, panes that grew, the
timeline after a change, and full garbage collections kept off the keyboard's path."""

from __future__ import annotations

import gc
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from rich.console import Console
from test_tui_seed import (
    ALL_UP,
    NOW,
    POLICY,
    WITH_INCIDENT,
    Plan,
    fold,
    open_store,
    seed,
    settled,
    wait_until,
)
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import DataTable

from shiptrack_tui.core.incidents import step
from shiptrack_tui.core.model import CheckResult, Incident, IncidentState, Outcome
from shiptrack_tui.storage.pipeline import PipelineWrite
from shiptrack_tui.tui import ShipTrackApp
from shiptrack_tui.tui.data import Overview
from shiptrack_tui.tui.frame_timer import FrameTimer
from shiptrack_tui.tui.idle_gc import EVERY_SECONDS, IDLE_SECONDS, LONGEST_WAIT_SECONDS, NEVER, IdleCollector
from shiptrack_tui.tui.widgets.detail_pane import DetailPane
from shiptrack_tui.tui.widgets.monitor_table import MonitorTable
from shiptrack_tui.tui.widgets.timeline_pane import TimelineBody, TimelinePane, render_timeline

WIDE = (160, 40)


def seeded_app(db: Path, plans: Sequence[Plan], **options: Any) -> tuple[Path, ShipTrackApp]:
    """A database seeded with `plans`, and a dashboard on it."""
    seed(db, plans)
    return db, ShipTrackApp(db, **options)


async def table_and_overview(pilot: Pilot[None]) -> tuple[MonitorTable, Overview]:
    """Once the dashboard has settled: its monitor table and the overview the table shows."""
    dashboard = await settled(pilot)
    overview = dashboard.overview
    assert overview is not None
    return dashboard.query_one(MonitorTable), overview


def screen_rows(table: MonitorTable) -> list[str]:
    """The table's rendered lines below the header, as a person reads them."""
    return [table.render_line(y).text for y in range(table.header_height, table.size.height)]


def names_in_order(table: MonitorTable) -> list[str]:
    return [row.key.value or "" for row in table.ordered_rows]


async def test_rows_that_moved_show_their_own_cells_and_a_click_selects_the_row_under_it(
    tmp_path: Path,
) -> None:
    db, app = seeded_app(tmp_path / "moves.db", WITH_INCIDENT, attached_pid=4242, clock=lambda: NOW + 120)
    async with app.run_test(size=WIDE) as pilot:
        dashboard = await settled(pilot)
        table = dashboard.query_one(MonitorTable)
        screen_rows(table)  # every cell rendered once, at its first position
        assert names_in_order(table)[0] == "api"
        with open_store(db) as store:  # the "daemon" resolves api's incident: api moves down
            store.commit_batch(fold(Plan("api", "u" * 30 + "x" * 10 + "uu", tags=("prod",)), NOW + 120)[-2:])
        await wait_until(pilot, lambda: names_in_order(table)[0] != "api")
        order = names_in_order(table)
        lines = screen_rows(table)
        for index, name in enumerate(order):
            assert f" {name} " in lines[index], (index, name, lines[index])
        # Mouse hits use the row index baked into each rendered cell: it must follow the move.
        for index in (1, order.index("api")):
            await pilot.click(MonitorTable, offset=(20, table.header_height + index))
            assert table.selected_monitor == order[index]


async def test_a_detail_field_that_grows_gets_its_new_height(tmp_path: Path) -> None:
    db, app = seeded_app(tmp_path / "grow.db", ALL_UP, attached_pid=4242, clock=lambda: NOW + 60)
    async with app.run_test(size=WIDE) as pilot:
        dashboard = await settled(pilot)
        pane = dashboard.query_one(DetailPane)
        body = pane.query_one("#detail-body")
        await wait_until(pilot, lambda: pane.detail is not None)
        selected = pane.detail.summary.name if pane.detail else ""
        height_before = body.size.height
        reason = "TLS: certificate verify failed: " + "very long chain detail " * 12
        failed = CheckResult(monitor=selected, at=NOW + 50, outcome=Outcome.DOWN, latency_ms=None,
                             reason=reason)
        with open_store(db) as store:
            state, events = step(store.load_states()[selected], failed, POLICY)
            store.commit_batch([PipelineWrite(selected, state, result=failed, events=tuple(events))])
        await wait_until(pilot, lambda: pane.detail is not None and "very long chain" in str(body.render()))
        await pilot.pause()
        size = body.content_size
        assert body.get_content_height(size, size, size.width) == size.height
        assert size.height >= height_before + 2  # the wrapped error took more lines, none cut off


def _plain(renderable: object, width: int) -> list[str]:
    console = Console(width=width, record=True, color_system=None)
    console.print(renderable)
    return [line.rstrip() for line in console.export_text().splitlines()]


async def test_the_timeline_shows_what_it_renders_after_an_incident_resolves(tmp_path: Path) -> None:
    db, app = seeded_app(tmp_path / "timeline.db", WITH_INCIDENT, attached_pid=4242, clock=lambda: NOW + 120)
    async with app.run_test(size=WIDE) as pilot:
        dashboard = await settled(pilot)
        pane = dashboard.query_one(TimelinePane)
        body = pane.query_one(TimelineBody)
        before = len(pane.incidents)
        with open_store(db) as store:
            store.commit_batch(fold(Plan("api", "u" * 30 + "x" * 10 + "uu", tags=("prod",)), NOW + 120)[-2:])
        await wait_until(pilot, lambda: any(i.monitor == "api" and i.resolved_at for i in pane.incidents))
        await pilot.pause()
        assert len(pane.incidents) == before
        width = body.content_size.width
        shown = [body.render_line(y).text.rstrip() for y in range(body.size.height)]
        assert shown == _plain(render_timeline(pane.incidents, pane.now, {}), width)


def test_idle_collector_collects_only_when_the_operator_rests() -> None:
    now = [1000.0]
    collector = IdleCollector(clock=lambda: now[0])
    saved = gc.get_threshold()
    collector.start()
    try:
        assert gc.get_threshold() == (saved[0], saved[1], NEVER)  # no automatic full collections
        now[0] += EVERY_SECONDS + 1
        collector.input_seen()  # typing: not now
        assert not collector.tick()
        now[0] += IDLE_SECONDS + 0.1  # a pause at the keyboard: now
        assert collector.tick() and collector.full_collections == 1
        assert not collector.tick()  # at most one per EVERY_SECONDS
        for _ in range(int(LONGEST_WAIT_SECONDS)):  # an operator who never stops typing
            now[0] += 1
            collector.input_seen()
            if collector.tick():
                break
        assert collector.full_collections == 2
    finally:
        collector.stop()
    assert gc.get_threshold() == saved
    assert not collector.tick()  # stopped: it no longer owns collections


async def test_the_dashboard_owns_full_collections_only_while_it_runs(tmp_path: Path) -> None:
    saved = gc.get_threshold()
    _db, app = seeded_app(tmp_path / "gc.db", ALL_UP, clock=lambda: NOW)
    async with app.run_test(size=WIDE) as pilot:
        dashboard = await settled(pilot)
        assert gc.get_threshold()[2] == NEVER
        idle_since = app.collector.last_input
        pressed_at = time.monotonic()
        await pilot.press("j")
        assert app.collector.last_input > idle_since  # a key counts as the operator at work
        frames = dashboard._frame_timer
        assert frames is not None and frames._uncapped_until > pressed_at  # and is drawn at once
    assert gc.get_threshold() == saved


async def test_one_line_cells_render_exactly_as_the_data_table_renders_them(tmp_path: Path) -> None:
    _db, app = seeded_app(tmp_path / "cells.db", WITH_INCIDENT, clock=lambda: NOW)
    async with app.run_test(size=WIDE) as pilot:
        table, overview = await table_and_overview(pilot)
        table.muted = frozenset({"web"})  # a name cell with the silence marker
        table.show(overview.summaries, overview.sparks, overview.now)
        base = table.rich_style
        widths = [column.get_render_width(table) for column in table.ordered_columns]
        compared = 0
        for row in range(table.row_count):
            for column, width in enumerate(widths):
                for cursor, hover, wide in ((False, False, width), (True, False, width), (False, True, width),
                                            (False, False, 4)):  # 4: cropped to two cells
                    ours = table._render_one_line_cell(row, column, base, wide, cursor, hover)
                    table._cell_render_cache.clear()  # DataTable's own cache ignores the width
                    textual = DataTable._render_cell(table, row, column, base, wide, cursor, hover)
                    assert ours == textual, (row, column, cursor, hover, wide)
                    compared += 1
        assert compared == table.row_count * len(widths) * 4


def test_a_running_incident_shows_whole_minutes_and_a_resolved_one_its_exact_length() -> None:
    running = Incident(id=7, monitor="api", state=IncidentState.OPEN, cause="HTTP 503",
                       started_at=NOW - 200, opened_at=NOW - 200)
    resolved = replace(running, id=8, state=IncidentState.RESOLVED, resolved_at=NOW - 80)
    young = replace(running, id=9, started_at=NOW - 42, opened_at=NOW - 42)
    text = "\n".join(_plain(render_timeline((running, resolved, young), NOW, {}), 80))
    assert "#7 api  OPEN · high  for 3m" in text and "for 3m 20s" not in text
    assert "#8 api  RESOLVED · high  lasted 2m" in text
    assert "#9 api  OPEN · high  for 42s" in text
    # Within the minute the running one reads the same, so its render is kept.
    later = _plain(render_timeline((running,), NOW + 30, {}), 80)
    assert later == _plain(render_timeline((running,), NOW, {}), 80)


async def test_a_refresh_of_other_monitors_keeps_the_checked_ages_moved_on(tmp_path: Path) -> None:
    _db, app = seeded_app(tmp_path / "ages.db", WITH_INCIDENT, clock=lambda: NOW)
    async with app.run_test(size=WIDE) as pilot:
        table, overview = await table_and_overview(pilot)
        later = NOW + 3 * 3600
        table.refresh_ages(later)  # every "checked" cell moves on to hours
        ages = {name: table.get_row(name)[5].plain for name in names_in_order(table)}
        assert all(age.endswith("h") for age in ages.values()), ages
        # Data for one monitor arrives: the others keep the ages they show.
        table.show(overview.summaries, overview.sparks, later, changed={"web"})
        for name in names_in_order(table):
            if name != "web":
                assert table.get_row(name)[5].plain == ages[name], name


async def test_frames_are_capped_unless_input_just_arrived() -> None:
    ticks: list[float] = []

    class Probe(App[None]):
        def on_mount(self) -> None:
            self.frames = FrameTimer(self, 5.0, name="probe", callback=self.frame, pause=True)
            self.frames._start()

        def frame(self) -> None:
            ticks.append(time.monotonic())
            self.frames.pause()

    app = Probe()
    async with app.run_test() as pilot:
        app.frames.resume()  # the first frame is drawn at once
        await pilot.pause(0.2)
        assert len(ticks) == 1
        app.frames.resume()  # another right after it waits for the 5 s cap
        await pilot.pause(0.5)
        assert len(ticks) == 1
    ticks.clear()
    app = Probe()
    async with app.run_test() as pilot:
        app.frames.resume()
        await pilot.pause(0.2)
        app.frames.prompt()  # a key press: its frame does not wait
        app.frames.resume()
        await pilot.pause(0.5)
        assert len(ticks) == 2


async def test_a_theme_switch_repaints_the_kept_rows_in_the_new_colours(tmp_path: Path) -> None:
    _db, app = seeded_app(tmp_path / "theme.db", WITH_INCIDENT, clock=lambda: NOW)
    async with app.run_test(size=WIDE) as pilot:
        dashboard = await settled(pilot)
        table = dashboard.query_one(MonitorTable)

        def row_colours() -> set[object]:
            strip = table.render_line(table.header_height + 2)
            return {segment.style.bgcolor for segment in strip if segment.style is not None}

        dark = row_colours()
        app.theme = "textual-light"
        await pilot.pause(0.2)
        light = row_colours()
        assert light and dark and light.isdisjoint(dark)
