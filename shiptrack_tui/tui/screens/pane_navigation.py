"""Moving about the dashboard: which pane has the keys, esc back to the list, the filter, j/k
from the detail pane, and the palette's "go to" a monitor or an incident.

On a narrow terminal (80×24) one pane shows at a time, behind tabs; tab/shift+tab or a click
switches. The pane with the keys shows it (its border and title in the focus colour).
"""

from __future__ import annotations

from typing import Final

from textual import on
from textual.events import DescendantFocus, Resize
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Input, Tabs

from shiptrack_tui.core.model import Incident
from shiptrack_tui.tui.screens.incident_actions import IncidentActions
from shiptrack_tui.tui.widgets.monitor_table import MonitorTable
from shiptrack_tui.tui.widgets.timeline_pane import TimelinePane

PANES: Final = ("monitors", "detail", "timeline")
PANE_TITLES: Final = {"monitors": "Monitors", "detail": "Detail", "timeline": "Incidents"}
NARROW_WIDTH: Final = 120


class PaneNavigation(IncidentActions):
    """The dashboard's movement between panes; `Dashboard` adds the panes' content."""

    active_pane: reactive[str] = reactive("monitors")
    """Which pane has the keyboard; on a narrow terminal, the only one shown."""

    def show_incidents(self) -> None:
        """Show the incidents of the monitors the filter shows (the dashboard knows them)."""
        raise NotImplementedError

    def known_monitor(self, name: str) -> bool:
        raise NotImplementedError

    def clear_service(self) -> bool:
        """Show every monitor again when a service filters them; False when none did."""
        return False

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

    # ---- the filter and esc ----------------------------------------------------------------------

    def action_filter(self) -> None:
        field = self.query_one("#filter", Input)
        field.display = True
        self.active_pane = "monitors"
        field.focus()

    def action_back(self) -> None:
        """esc: clear the filter when there is one, else the service filter, else go back to the
        monitors list."""
        field = self.query_one("#filter", Input)
        if field.display or field.value:
            self._clear_filter()
        elif self.clear_service():
            self.query_one(MonitorTable).focus()
        elif self.active_pane != "monitors":
            self.active_pane = "monitors"

    def _clear_filter(self, focus: bool = True) -> None:
        field = self.query_one("#filter", Input)
        field.value = ""
        field.display = False
        self.query_one(MonitorTable).refilter("")
        self.show_incidents()
        if focus:
            self.query_one(MonitorTable).focus()

    def action_step_monitor(self, step: int) -> None:
        """j/k outside the lists (in the detail pane) still move between monitors."""
        table = self.query_one(MonitorTable)
        table.move_cursor(row=max(0, min(table.row_count - 1, table.cursor_row + step)))

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.query_one(MonitorTable).refilter(event.value)
        self.show_incidents()

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self.query_one(MonitorTable).focus()

    def selected_incident(self) -> Incident | None:
        """The incident selected in the incidents pane while that pane has the keys."""
        return self.query_one(TimelinePane).selected_incident if self.active_pane == "timeline" else None

    # ---- the palette's "go to" (tui/commands.py) -------------------------------------------------

    def jump_to(self, monitor: str, incident_id: int | None = None) -> None:
        """Select the monitor's row (clearing a filter that hides it) and, given one, the incident
        in the incidents pane, which then has the keys."""
        table = self.query_one(MonitorTable)
        if self.known_monitor(monitor) and not table.select_monitor(monitor):
            self._clear_filter(focus=False)
            if not table.select_monitor(monitor) and self.clear_service():
                table.select_monitor(monitor)
        timeline = self.query_one(TimelinePane)
        if incident_id is not None and all(i.id != incident_id for i in timeline.incidents):
            self._clear_filter(focus=False)
            self.clear_service()
        if incident_id is not None:
            timeline.selected = incident_id
        self.active_pane = "monitors" if incident_id is None else "timeline"
        self._focus_target(self.active_pane).focus()
