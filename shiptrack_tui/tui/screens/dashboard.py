"""The dashboard: monitors, the selected monitor's detail, and the incident timeline.

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
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.events import DescendantFocus, Resize
from textual.reactive import reactive
from textual.screen import UPDATE_PERIOD
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Footer, Input, Tab, Tabs
from textual.worker import Worker, WorkerState

from shiptrack_tui.core.model import MonitorSummary
from shiptrack_tui.core.silences import expiry_text, is_active, target_of
from shiptrack_tui.heartbeat import engine_health
from shiptrack_tui.tui.daemon_watch import DaemonWatch
from shiptrack_tui.tui.data import CHART_WINDOWS, Overview, read_changes, read_detail, read_overview
from shiptrack_tui.tui.formatting import maintenance_note, silence_note
from shiptrack_tui.tui.frame_timer import FrameTimer
from shiptrack_tui.tui.messages import DataChanged, DetailLoaded, OverviewLoaded
from shiptrack_tui.tui.modals.help_screen import HelpScreen
from shiptrack_tui.tui.screens.monitor_actions import MonitorActions
from shiptrack_tui.tui.store_access import StoreGateway
from shiptrack_tui.tui.widgets.detail_pane import DetailPane
from shiptrack_tui.tui.widgets.monitor_table import MonitorTable
from shiptrack_tui.tui.widgets.status_bar import StatusBar, count_states
from shiptrack_tui.tui.widgets.timeline_pane import TimelinePane

PANES: Final = ("monitors", "detail", "timeline")
PANE_TITLES: Final = {"monitors": "Monitors", "detail": "Detail", "timeline": "Incidents"}
NARROW_WIDTH: Final = 120
POLL_SECONDS: Final = 0.5
DETAIL_DELAY: Final = 0.12
WORKER_TASKS: Final = {
    "_load_overview": "Reading the monitors",
    "_poll_data_version": "Watching the database",
    "_read_detail": "Reading the monitor's detail",
    "_write_action": "Writing the action",
    "_load_snapshot": "Reading the config file",
    "_save_edit": "Saving the config file",
    "_read_engine_health": "Reading the engine's heartbeat",
}

HELP_KEYS: Final = (
    ("↑ ↓  j k", "move between monitors"),
    ("tab / shift+tab", "next / previous pane (monitors, detail, incidents)"),
    ("enter", "open the selected monitor's detail"),
    ("a", "acknowledge the selected monitor's open incident (optional note)"),
    ("n", "add a note to the selected monitor's open incident"),
    ("c", "check the selected monitor now"),
    ("p", "pause or resume the selected monitor"),
    ("s / S", "silence notifications (monitor or tag; 15 min, 1 h, 4 h, until resolved) / lift it"),
    ("e", "edit the selected monitor in the config file (validated as you type)"),
    ("+ / ctrl+n", "add a monitor to the config file"),
    ("d", "duplicate the selected monitor"),
    ("delete / x", "delete the selected monitor from the config file (asks first)"),
    ("/", "filter by name, tag or state; esc clears"),
    ("g", "group monitors by tag"),
    ("1 2 3", "chart window: 1 h, 24 h, 7 d"),
    ("?", "this help"),
    ("ctrl+p", "command palette (every action, themes)"),
    ("q", "quit (the engine finishes its work and flushes first)"),
)


class Dashboard(MonitorActions):
    """Reads through the gateway; writes operator actions as rows; never blocks the loop."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("tab", "cycle_pane(1)", "Next pane", id="dashboard.next-pane", show=False),
        Binding("shift+tab", "cycle_pane(-1)", "Previous pane", id="dashboard.previous-pane", show=False),
        Binding("a", "ack", "Ack", id="dashboard.ack"),
        Binding("n", "note", "Note", id="dashboard.note"),
        Binding("c", "check_now", "Check", id="dashboard.check-now"),
        Binding("p", "pause", "Pause", id="dashboard.pause"),
        Binding("slash", "filter", "Filter", id="dashboard.filter"),
        Binding("escape", "clear_filter", "Clear filter", id="dashboard.clear-filter", show=False),
        Binding("g", "group", "Group", id="dashboard.group", show=False),
        Binding("1", "window('1h')", "1h", id="dashboard.window-1h", show=False),
        Binding("2", "window('24h')", "24h", id="dashboard.window-24h", show=False),
        Binding("3", "window('7d')", "7d", id="dashboard.window-7d", show=False),
        Binding("question_mark", "help", "Help", id="dashboard.help"),
    ]

    active_pane: reactive[str] = reactive("monitors")
    """Which pane has the keyboard; on a narrow terminal, the only one shown."""
    _frame_timer: FrameTimer | None = None

    def __init__(self, gateway: StoreGateway, clock: Callable[[], float], mode: str,
                 config_path: Path | None = None, daemon: DaemonWatch | None = None) -> None:
        super().__init__(gateway, config_path)
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

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        yield Tabs(*(Tab(PANE_TITLES[pane], id=f"tab-{pane}") for pane in PANES), id="pane-tabs")
        with Horizontal(id="body"):
            with Vertical(id="monitors-pane", classes="pane"):
                yield Input(placeholder="filter: name, tag or state (esc clears)", id="filter")
                yield MonitorTable(id="monitors")
            with Vertical(id="side"):
                yield DetailPane(id="detail-pane", classes="pane")
                yield TimelinePane(id="timeline-pane", classes="pane")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(StatusBar).mode = self._mode
        self.query_one("#pane-tabs", Tabs).can_focus = False
        self.query_one("#filter", Input).display = False
        for pane in PANES:
            self.query_one(f"#{pane}-pane").border_title = PANE_TITLES[pane]
        self.watch_active_pane(self.active_pane)
        self.request_reload()
        self.load_config_snapshot()
        self._poll_data_version()
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

    @work(group="poll", exit_on_error=False)
    async def _poll_data_version(self) -> None:
        """The attached dashboard's only news of the daemon's writes; harmless with an engine too."""
        last: int | None = None
        while True:
            version = await self._gateway.call(lambda store: store.data_version())
            if last is not None and version != last:
                self.post_message(DataChanged())
            last = version
            await asyncio.sleep(POLL_SECONDS)

    def _load_detail(self, summary: MonitorSummary) -> None:
        self._detail_of = summary
        # Exclusive: a newer selection cancels an older read (which may never have started).
        self._detail_worker = self._read_detail(summary, self.query_one(DetailPane).window)

    @work(group="detail", exclusive=True, exit_on_error=False)
    async def _read_detail(self, summary: MonitorSummary, window: str) -> None:
        now = self._clock()
        detail = await self._gateway.call(lambda store: read_detail(store, summary, window, now))
        self.post_message(DetailLoaded(detail))

    def _tick(self) -> None:
        """Keep "checked … ago" honest between data changes (cells that did not change stay put)."""
        self._read_engine_health()
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
        health = await asyncio.to_thread(engine_health, self._gateway.path, now)
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
            what = WORKER_TASKS.get(event.worker.name, "a background task")
            self.notify(f"{what} failed: {event.worker.error}", title="Error", severity="error", timeout=8)

    @on(DataChanged)
    def _data_changed(self) -> None:
        self.request_reload()

    @on(OverviewLoaded)
    def _show_overview(self, message: OverviewLoaded) -> None:
        overview = self._shown_overview = message.overview
        self._by_name = {summary.name: summary for summary in overview.summaries}
        status = self.query_one(StatusBar)
        status.counts = count_states(overview.summaries)
        status.incidents = sum(1 for summary in overview.summaries if summary.open_incident_id is not None)
        self.silences = overview.silences
        self._show_silences(overview.now)
        table = self.query_one(MonitorTable)
        table.show(overview.summaries, overview.sparks, overview.now, overview.changed)
        timeline = self.query_one(TimelinePane)
        if overview.incidents is not timeline.incidents:  # re-rendered only when they were re-read
            timeline.now = overview.now
            timeline.incidents = overview.incidents
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

    @on(DetailPane.WindowChosen)
    def _window_chosen(self) -> None:
        self._reload_detail()

    def _reload_detail(self) -> None:
        summary = self._summary(self._selected)
        if summary is not None:
            self._load_detail(summary)

    # ---- layout --------------------------------------------------------------------------------

    def on_resize(self, event: Resize) -> None:
        self.set_class(event.size.width < NARROW_WIDTH, "-narrow")

    def watch_active_pane(self, pane: str) -> None:
        for name in PANES:
            self.set_class(name == pane, f"-pane-{name}")
        self.query_one("#pane-tabs", Tabs).active = f"tab-{pane}"
        target = self._focus_target(pane)
        focused = self.focused
        if focused is None or not (focused is target or target in focused.ancestors):
            target.focus()

    def _focus_target(self, pane: str) -> Widget:
        if pane == "monitors":
            return self.query_one(MonitorTable)
        return self.query_one(f"#{pane}-pane")

    def action_cycle_pane(self, step: int) -> None:
        index = PANES.index(self.active_pane)
        self.active_pane = PANES[(index + step) % len(PANES)]

    @on(Tabs.TabActivated, "#pane-tabs")
    def _pane_tab(self, event: Tabs.TabActivated) -> None:
        pane = (event.tab.id or "").removeprefix("tab-")
        if pane in PANES:
            self.active_pane = pane

    @on(DescendantFocus)
    def _focus_moved(self, event: DescendantFocus) -> None:
        for pane in PANES:
            target = self._focus_target(pane)
            holder = target if pane != "monitors" else self.query_one("#monitors-pane")
            if event.widget is holder or holder in event.widget.ancestors:
                self.active_pane = pane
                return

    # ---- operator actions ----------------------------------------------------------------------

    def selected_name(self) -> str | None:
        return self.query_one(MonitorTable).selected_monitor

    def app_clock(self) -> float:
        return self._clock()

    def action_filter(self) -> None:
        field = self.query_one("#filter", Input)
        field.display = True
        self.active_pane = "monitors"
        field.focus()

    def action_clear_filter(self) -> None:
        field = self.query_one("#filter", Input)
        if not field.display and not field.value:
            return
        field.value = ""
        field.display = False
        self.query_one(MonitorTable).refilter("")
        self.query_one(MonitorTable).focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.query_one(MonitorTable).refilter(event.value)

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self.query_one(MonitorTable).focus()

    def action_group(self) -> None:
        grouped = self.query_one(MonitorTable).toggle_grouping()
        self.notify("Grouped by tag." if grouped else "Trouble first, ungrouped.", timeout=2)

    def action_window(self, window: str) -> None:
        pane = self.query_one(DetailPane)
        if window in CHART_WINDOWS and pane.window != window:
            pane.window = window
            self._reload_detail()

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen(HELP_KEYS))
