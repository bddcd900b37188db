"""The dashboard: services, monitors, the selected monitor's detail, and the incident timeline.

The screen owns the reads (through the store gateway, never on the loop) and turns operator keys
into action rows; the panes only render what they are given (attributes down, messages up).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import ClassVar, Final

from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.command import Provider
from textual.containers import Horizontal, Vertical
from textual.screen import UPDATE_PERIOD
from textual.timer import Timer
from textual.widgets import Footer, Input, Tab, Tabs
from textual.worker import Worker, WorkerState

from shiptrack_tui.core.model import Incident, MonitorSummary
from shiptrack_tui.core.services import ServiceIndex
from shiptrack_tui.core.silences import expiry_text, is_active, target_of
from shiptrack_tui.heartbeat import engine_health
from shiptrack_tui.notify.services import service_names
from shiptrack_tui.storage.outage import describe, is_unreachable
from shiptrack_tui.tui.bindings import DASHBOARD_KEYS, bindings
from shiptrack_tui.tui.commands import JumpProvider
from shiptrack_tui.tui.daemon_watch import DaemonWatch
from shiptrack_tui.tui.data import CHART_WINDOWS, Overview, read_changes, read_detail, read_overview
from shiptrack_tui.tui.formatting import maintenance_note, silence_note
from shiptrack_tui.tui.frame_timer import FrameTimer
from shiptrack_tui.tui.messages import DataChanged, DetailLoaded, OverviewLoaded, ViewChanged
from shiptrack_tui.tui.modals.help_screen import HelpScreen, help_groups
from shiptrack_tui.tui.screens.database_watch import DatabaseWatch
from shiptrack_tui.tui.screens.pane_navigation import PANE_TITLES, PANES
from shiptrack_tui.tui.services_live import index_of
from shiptrack_tui.tui.store_access import StoreGateway
from shiptrack_tui.tui.timeline_lines import notification_schemes
from shiptrack_tui.tui.view_state import ViewState
from shiptrack_tui.tui.widgets.detail_pane import DetailPane
from shiptrack_tui.tui.widgets.monitor_table import MonitorTable
from shiptrack_tui.tui.widgets.services_strip import ServicesStrip
from shiptrack_tui.tui.widgets.status_bar import StatusBar, count_states
from shiptrack_tui.tui.widgets.timeline_pane import TimelinePane

DETAIL_DELAY: Final = 0.12
WORKER_TASKS: Final = {
    "_load_overview": "Reading the monitors",
    "_poll_data_version": "Watching the database",
    "_listen_for_changes": "Watching the database",
    "_read_cluster": "Reading the cluster's nodes",
    "_read_detail": "Reading the monitor's detail",
    "_write_action": "Writing the action",
    "_load_snapshot": "Reading the config file",
    "_save_edit": "Saving the config file",
    "_read_engine_health": "Reading the engine's heartbeat",
    "_name_services": "Naming the notification services",
}

class Dashboard(DatabaseWatch):
    """Reads through the gateway; writes operator actions as rows; never blocks the loop."""

    BINDINGS: ClassVar[list[BindingType]] = bindings(DASHBOARD_KEYS)
    BINDING_GROUP_TITLE = "Dashboard"
    COMMANDS: ClassVar[set[type[Provider] | Callable[[], type[Provider]]]] = {JumpProvider}

    _frame_timer: FrameTimer | None = None

    def __init__(self, gateway: StoreGateway, clock: Callable[[], float], mode: str,
                 config_path: Path | None = None, view: ViewState | None = None,
                 daemon: DaemonWatch | None = None, services: ServiceIndex | None = None,
                 push_base: str = "") -> None:
        super().__init__(gateway, config_path, services)
        self._push_base = push_base
        self._told_unreachable = False  # an unreachable database was told in a toast (once per outage)
        self._view = view or ViewState()
        self._clock = clock
        self._mode = mode
        self._daemon = daemon
        """Attached to a daemon: follows it stopping and a new one starting (daemon_watch.py)."""
        self._engine_live = True
        self.overview: Overview | None = None
        self._shown_overview: Overview | None = None
        self._dirty = False
        self._loading = False
        self._detail_worker: Worker[None] | None = None
        self._detail_timer: Timer | None = None
        self._selected: str | None = None
        self._detail_of: MonitorSummary | None = None
        self._incidents_of: tuple[tuple[Incident, ...], tuple[str, frozenset[str] | None]] | None = None
        """The incidents and the filters (text, service members) the incidents pane last showed."""
        self._schemes: set[str] = set()
        """Notification URL schemes whose service names were looked up."""

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        yield ServicesStrip(id="services")
        yield Tabs(*(Tab(PANE_TITLES[pane], id=f"tab-{pane}") for pane in PANES), id="pane-tabs")
        with Horizontal(id="body"):
            with Vertical(id="monitors-pane", classes="pane"):
                yield Input(placeholder="filter: name, tag or state (esc clears)", id="filter")
                yield MonitorTable(id="monitors")
            with Vertical(id="side"):
                yield DetailPane(push_base=self._push_base, id="detail-pane", classes="pane")
                yield TimelinePane(id="timeline-pane", classes="pane")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(StatusBar).mode = self._mode
        self.query_one("#pane-tabs", Tabs).can_focus = False
        self.query_one("#filter", Input).display = False
        self.query_one(DetailPane).window = self._view.window  # as the operator left them
        self.query_one(MonitorTable).grouped = self._view.grouped
        for pane in PANES:
            self.query_one(f"#{pane}-pane").border_title = PANE_TITLES[pane]
        self.watch_active_pane(self.active_pane)
        self.request_reload()
        self.load_config_snapshot()
        self.watch_database()
        self.set_interval(1.0, self._tick)

    def input_arrived(self) -> None:
        """A key or a click: the frames showing it are drawn without waiting for the cap."""
        if self._frame_timer is not None:
            self._frame_timer.prompt()

    @property
    def _update_timer(self) -> Timer:
        """Screen's frame timer, replaced: a key press is drawn at once (see `frame_timer`)."""
        if self._frame_timer is None:
            self._frame_timer = FrameTimer(self, UPDATE_PERIOD, name="screen_update",
                                           callback=self._on_timer_update, pause=True)
            self._frame_timer._start()
            self._timers.add(self._frame_timer)
        return self._frame_timer

    # ---- reading -------------------------------------------------------------------------------

    @property
    def settled(self) -> bool:
        """True once the last read is on screen and no read is in flight (tests wait for this).

        The read sets `overview` before its message reaches the table, and the table fits its
        columns to new rows only when next idle: both must have happened, or a frame could show
        no rows, or names cut to the width of the column's title.
        """
        detail_done = self._detail_timer is None and (
            self._detail_worker is None or self._detail_worker.is_finished
        )
        shown = self.overview is not None and self.overview is self._shown_overview
        return shown and not self._loading and detail_done and self.query_one(MonitorTable).laid_out

    def request_reload(self) -> None:
        """Re-read the overview; requests arriving during a read coalesce into one more read."""
        self._dirty = True
        if not self._loading:
            self._loading = True
            self._load_overview()

    @work(group="overview", exit_on_error=False)
    async def _load_overview(self) -> None:
        try:
            while self._dirty:
                self._dirty = False
                previous = self.overview
                now = self._clock()
                # The first read takes everything; later ones only what changed (see read_changes).
                read = (partial(read_overview, now=now) if previous is None
                        else partial(read_changes, now=now, previous=previous))
                self.overview = await self._gateway.call(read)
                self.post_message(OverviewLoaded(self.overview))
        finally:
            self._loading = False

    def _load_detail(self, summary: MonitorSummary) -> None:
        self._detail_of = summary
        # Exclusive: a newer selection cancels an older read (which may never have started).
        self._detail_worker = self._read_detail(summary, self.query_one(DetailPane).window)

    @work(group="detail", exclusive=True, exit_on_error=False)
    async def _read_detail(self, summary: MonitorSummary, window: str) -> None:
        now = self._clock()
        clustered = self.query_one(StatusBar).cluster is not None
        detail = await self._gateway.call(lambda store: read_detail(store, summary, window, now, clustered))
        self.post_message(DetailLoaded(detail))

    def _tick(self) -> None:
        """Keep "checked … ago" honest between data changes (cells that did not change stay put)."""
        self._read_engine_health()
        self.read_cluster()
        if self.overview is not None:
            now = self._clock()
            if now - self.overview.now >= 1.0:
                self.request_reload()  # a quiet database still rolls the 24 h figures forward
            self._show_silences(now)
            self.query_one(MonitorTable).refresh_ages(now)
            self.query_one(TimelinePane).now = now

    @work(group="health", exclusive=True, exit_on_error=False)
    async def _read_engine_health(self) -> None:
        """The engine's heartbeat file: a storage stall shows in the header (heartbeat.py)."""
        # The real wall clock, like the heartbeat's own stamps (the screen's clock may be fixed).
        now = time.time()
        health = await asyncio.to_thread(engine_health, self._gateway.local, now)
        bar = self.query_one(StatusBar)
        if self._daemon is None:  # the engine runs in this process
            problem = health.problem() if health is not None else None
            bar.engine_problem = problem or ""
            return
        view = self._daemon.observe(health, now)
        self._engine_live = view.live
        bar.mode, bar.engine_problem = view.mode, view.problem
        if view.followed:  # a new daemon: its writes are news (the data_version poll goes on)
            self.request_reload()

    def engine_live(self) -> bool:
        return self._engine_live

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        """Every read and write runs in a worker: a failure is a notification, never a crash."""
        if event.state is WorkerState.ERROR:
            error = event.worker.error
            if error is not None and is_unreachable(error):
                # Every read fails until the database is back: say it once, not once a second.
                if not self._told_unreachable:
                    self._told_unreachable = True
                    self.notify(f"the database is unreachable ({describe(error)}); the screen catches up "
                                "when it is back", title="Database", severity="warning", timeout=8)
                return
            what = WORKER_TASKS.get(event.worker.name, "a background task")
            self.notify(f"{what} failed: {error}", title="Error", severity="error", timeout=8)

    @on(DataChanged)
    def _data_changed(self) -> None:
        self.request_reload()

    @on(OverviewLoaded)
    def _show_overview(self, message: OverviewLoaded) -> None:
        self._told_unreachable = False  # a read got through
        overview = self._shown_overview = message.overview
        self._by_name = {summary.name: summary for summary in overview.summaries}
        self.follow_services(overview, self._by_name)
        status = self.query_one(StatusBar)
        status.counts = count_states(overview.summaries)
        status.incidents = sum(1 for summary in overview.summaries if summary.open_incident_id is not None)
        self.silences = overview.silences
        self._show_silences(overview.now)
        table = self.query_one(MonitorTable)
        table.show(overview.summaries, overview.sparks, overview.now, overview.changed)
        self.show_incidents()
        self._selected = table.selected_monitor
        summary = self._summary(self._selected)
        if summary is None:
            self.query_one(DetailPane).detail = None
        elif summary != self._detail_of:
            self._load_detail(summary)

    @on(DetailLoaded)
    def _show_detail(self, message: DetailLoaded) -> None:
        if message.detail.summary.name == self._selected:
            self.query_one(DetailPane).detail = message.detail
            self._show_notes()

    def show_incidents(self) -> None:
        """The incidents of the monitors the filter shows; re-rendered only when they were re-read
        or the filter changed."""
        overview = self._shown_overview
        table = self.query_one(MonitorTable)
        shown = (table.filter_text, table.members)
        if overview is None or (self._incidents_of is not None and self._incidents_of[0] is overview.incidents
                                and self._incidents_of[1] == shown):
            return
        self._incidents_of = (overview.incidents, shown)
        timeline = self.query_one(TimelinePane)
        timeline.now = overview.now
        timeline.incidents = tuple(i for i in overview.incidents if self.shows_monitor(i.monitor, shown[0]))
        schemes = set().union(*(notification_schemes(i.events) for i in overview.incidents)) - self._schemes
        if schemes:
            self._schemes |= schemes
            self._name_services(schemes)

    def known_monitor(self, name: str) -> bool:
        return name in self._by_name

    def incident(self, incident_id: int) -> Incident | None:
        overview = self._shown_overview
        return next((i for i in overview.incidents if i.id == incident_id), None) if overview else None

    @work(group="services", exit_on_error=False)
    async def _name_services(self, schemes: set[str]) -> None:
        """Apprise's names for the services notifications go to (its first lookup takes a while)."""
        names = await asyncio.to_thread(service_names, schemes)
        timeline = self.query_one(TimelinePane)
        timeline.services = tuple(sorted({**dict(timeline.services), **names}.items()))

    def _show_silences(self, now: float) -> None:
        """The header lists active silences with their expiry; muted monitors carry a marker."""
        active = [s for s in self.silences if is_active(s, now)]
        labels = tuple(f"{target_of(s).label} {expiry_text(s, now)}" for s in active)
        self.query_one(StatusBar).silenced = labels
        muted = frozenset(
            summary.name for summary in self._by_name.values()
            if any(target_of(s).covers(summary.name, summary.tags) for s in active)
        ) if active else frozenset()
        table = self.query_one(MonitorTable)
        if muted != table.muted:
            table.muted = muted
            if self.overview is not None:  # every row may carry or lose the marker
                table.show(self.overview.summaries, self.overview.sparks, now)
        self._show_notes()

    def _show_notes(self) -> None:
        """Maintenance window and silences of the monitor in the detail pane."""
        pane = self.query_one(DetailPane)
        summary = self._summary(pane.detail.summary.name) if pane.detail is not None else None
        if summary is None:
            pane.notes = ()
            return
        now = self._clock()
        windows = self.snapshot.config.maintenance if self.snapshot is not None else ()
        notes = (maintenance_note(windows, summary.name, summary.tags, now),
                 silence_note(self.covering_silences(summary, now), now))
        pane.notes = tuple(note for note in notes if note)

    def snapshot_loaded(self) -> None:
        if self.is_mounted:
            self._show_notes()
            if self.snapshot is not None:  # a saved edit may change the services or their members
                self.use_services(index_of(self.snapshot.config))

    @on(MonitorTable.Selected)
    def _monitor_selected(self, message: MonitorTable.Selected) -> None:
        self._selected = message.monitor
        summary = self._summary(message.monitor)
        if summary is None:
            self.query_one(DetailPane).detail = None
        elif summary != self._detail_of or self.query_one(DetailPane).detail is None:
            # Wait for the cursor to rest: holding j must not queue a database read per row.
            if self._detail_timer is not None:
                self._detail_timer.stop()
            self._detail_timer = self.set_timer(DETAIL_DELAY, self._selection_rested)

    def _selection_rested(self) -> None:
        self._detail_timer = None
        summary = self._summary(self._selected)
        if summary is not None:
            self._load_detail(summary)

    @on(MonitorTable.Opened)
    def _monitor_opened(self) -> None:
        self.active_pane = "detail"

    @on(TimelinePane.Selected)
    def _incident_selected(self, message: TimelinePane.Selected) -> None:
        self.query_one(MonitorTable).select_monitor(message.monitor)  # the detail follows

    @on(DetailPane.WindowChosen)
    def _window_chosen(self) -> None:
        self._reload_detail()
        self._view_changed()

    def _view_changed(self) -> None:
        """Tell the app, which keeps the view for the next start."""
        window, grouped = self.query_one(DetailPane).window, self.query_one(MonitorTable).grouped
        self.post_message(ViewChanged(window, grouped))

    def reload_detail(self) -> None:
        self._reload_detail()

    def _reload_detail(self) -> None:
        summary = self._summary(self._selected)
        if summary is not None:
            self._load_detail(summary)

    # ---- operator actions ----------------------------------------------------------------------

    def selected_name(self) -> str | None:
        return self.query_one(MonitorTable).selected_monitor

    def app_clock(self) -> float:
        return self._clock()

    def action_group(self) -> None:
        grouped = self.query_one(MonitorTable).toggle_grouping()
        self._view_changed()
        self.notify("Grouped by tag." if grouped else "Trouble first, ungrouped.", timeout=2)

    def action_window(self, window: str) -> None:
        pane = self.query_one(DetailPane)
        if window in CHART_WINDOWS and pane.window != window:
            pane.window = window
            self._reload_detail()
            self._view_changed()

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen(help_groups(self)))

    # ---- the palette's "go to" (tui/commands.py) -----------------------------------------------

    def jump_targets(self) -> tuple[tuple[MonitorSummary, ...], tuple[Incident, ...]]:
        overview = self._shown_overview
        return (overview.summaries, overview.incidents) if overview is not None else ((), ())
