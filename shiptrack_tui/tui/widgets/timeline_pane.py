"""The incident timeline: open and acknowledged incidents first, then recently resolved ones."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Final

from rich.console import Group, RenderableType
from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.containers import VerticalScroll
from textual.reactive import reactive
from textual.widgets import Static

from shiptrack_tui.core.durations import format_duration
from shiptrack_tui.core.model import Incident, IncidentState, TimelineKind
from shiptrack_tui.tui.formatting import fmt_clock

EVENT_SYMBOLS: dict[TimelineKind, str] = {
    TimelineKind.OPENED: "✖",
    TimelineKind.ACKNOWLEDGED: "✔",
    TimelineKind.NOTE: "✎",
    TimelineKind.NOTIFIED: "✉",
    TimelineKind.NOTIFY_RETRY: "↻",
    TimelineKind.NOTIFY_FAILED: "⚠",
    TimelineKind.REMINDER: "⏰",
    TimelineKind.RESOLVED: "●",
}
STATE_MARKS: Final = {IncidentState.OPEN: "✖", IncidentState.ACKNOWLEDGED: "✔", IncidentState.RESOLVED: "●"}


class TimelinePane(VerticalScroll):
    """Renders incidents and their events; the screen sets `incidents` and `now`."""

    can_focus = True
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "timeline--open",
        "timeline--acknowledged",
        "timeline--resolved",
        "timeline--time",
    }

    incidents: reactive[tuple[Incident, ...]] = reactive((), init=False, always_update=True)
    """Incidents in display order."""
    now: reactive[float] = reactive(0.0, init=False)
    """The clock: running durations of open incidents move on with it (re-rendered once a minute)."""

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static("No incidents.", id="timeline-body")

    def watch_incidents(self) -> None:
        self._render_body()

    def watch_now(self, before: float, now: float) -> None:
        if int(before // 60) != int(now // 60) and any(i.resolved_at is None for i in self.incidents):
            self._render_body()

    def _render_body(self) -> None:
        styles = {state: self.get_component_rich_style(f"timeline--{state.value}", partial=True)
                  for state in IncidentState}
        time_style = self.get_component_rich_style("timeline--time", partial=True)
        self.query_one("#timeline-body", Static).update(
            render_timeline(self.incidents, self.now, styles, time_style))


def render_timeline(
    incidents: Sequence[Incident],
    now: float,
    styles: dict[IncidentState, Style],
    time_style: Style | str = "",
) -> RenderableType:
    """Each incident: a heading (state, monitor, how long, cause), who acknowledged it and how, then
    one line per event: time, symbol, kind and detail, wrapped under its own column."""
    if not incidents:
        return Text("No incidents.")
    parts: list[RenderableType] = []
    for incident in incidents:
        resolved = incident.state is IncidentState.RESOLVED
        end = incident.resolved_at if incident.resolved_at is not None else now
        length = format_duration(max(0.0, end - incident.started_at))
        heading = Text()
        heading.append(f"{STATE_MARKS[incident.state]} #{incident.id} {incident.monitor}  "
                       f"{incident.state.value.upper()}", style=styles.get(incident.state, ""))
        heading.append(f"  {'lasted' if resolved else 'for'} {length}")
        parts.append(heading)
        grid = Table.grid(padding=(0, 1))
        grid.add_column(no_wrap=True, style=time_style)
        grid.add_column(no_wrap=True)
        grid.add_column(ratio=1, overflow="fold")
        grid.add_row("", "", Text(f"cause: {incident.cause}"))
        if incident.state is IncidentState.ACKNOWLEDGED:
            acks = [e for e in incident.events if e.kind is TimelineKind.ACKNOWLEDGED]
            note = acks[-1].detail if acks and acks[-1].detail else "no note"
            grid.add_row("", "", Text(f"acknowledged: {note}", style=styles.get(incident.state, "")))
        for event in incident.events:
            detail = f"{event.kind.value}: {event.detail}" if event.detail else event.kind.value
            grid.add_row(fmt_clock(event.at, now), EVENT_SYMBOLS.get(event.kind, "·"), detail)
        parts.append(grid)
        parts.append(Text(""))
    return Group(*parts[:-1])
