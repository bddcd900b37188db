"""The incident timeline: open and acknowledged incidents first, then recently resolved ones."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.containers import VerticalScroll
from textual.reactive import reactive
from textual.widgets import Static

from shiptrack_tui.core.durations import format_duration
from shiptrack_tui.core.model import Incident, IncidentState, TimelineKind
from shiptrack_tui.tui.formatting import fmt_time

EVENT_SYMBOLS: dict[TimelineKind, str] = {
    TimelineKind.OPENED: "✖",
    TimelineKind.ACKNOWLEDGED: "✔",
    TimelineKind.NOTE: "✎",
    TimelineKind.NOTIFIED: "✉",
    TimelineKind.NOTIFY_FAILED: "⚠",
    TimelineKind.REMINDER: "⏰",
    TimelineKind.RESOLVED: "●",
}


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
    now: float = 0.0

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static("No incidents.", id="timeline-body")

    def watch_incidents(self, incidents: tuple[Incident, ...]) -> None:
        styles = {state: self.get_component_rich_style(f"timeline--{state.value}", partial=True)
                  for state in IncidentState}
        self.query_one("#timeline-body", Static).update(
            render_timeline(incidents, self.now, styles, self.get_component_rich_style("timeline--time",
                                                                                        partial=True))
        )


def render_timeline(
    incidents: Sequence[Incident],
    now: float,
    styles: dict[IncidentState, Style],
    time_style: Style | str = "",
) -> Text:
    if not incidents:
        return Text("No incidents.")
    text = Text()
    for incident in incidents:
        end = incident.resolved_at if incident.resolved_at is not None else now
        length = format_duration(end - incident.started_at)
        text.append(f"#{incident.id} {incident.monitor}  {incident.state.value.upper()}",
                    style=styles.get(incident.state, ""))
        lasted = "lasted" if incident.state is IncidentState.RESOLVED else "for"
        text.append(f"  {lasted} {length}  cause: {incident.cause}\n")
        for event in incident.events:
            text.append(f"  {fmt_time(event.at)} ", style=time_style)
            text.append(f"{EVENT_SYMBOLS.get(event.kind, '·')} {event.kind.value}")
            if event.detail:
                text.append(f": {event.detail}")
            text.append("\n")
        text.append("\n")
    text.rstrip()
    return text
