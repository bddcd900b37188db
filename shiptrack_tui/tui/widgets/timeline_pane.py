"""The incident timeline: open and acknowledged incidents first, then recently resolved ones."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Sequence
from functools import partial
from typing import ClassVar, Final

from rich.console import Group, RenderableType
from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.containers import VerticalScroll
from textual.geometry import Size
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

from shiptrack_tui.core.durations import format_duration
from shiptrack_tui.core.model import Incident, IncidentState, TimelineKind
from shiptrack_tui.tui.formatting import fmt_clock

Part = tuple[Hashable, Callable[[], RenderableType]]
"""A block of the timeline: its key (all it depends on) and how to make its renderable."""

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


class TimelineBody(Widget):
    """The timeline's lines. Each incident is rendered once per width and key, so a new event
    re-renders one incident, not all of them; and measuring the pane's height for a layout pass
    (which the whole screen pays for) is a list length instead of rendering every incident."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._parts: tuple[Part, ...] = ()
        self._rendered: dict[tuple[Hashable, int, Style], list[Strip]] = {}
        self._lines: tuple[int, Style, list[Strip]] | None = None

    def show(self, parts: Sequence[Part]) -> None:
        """Show `parts` top to bottom, a blank line between them. A part is made and rendered
        only when its key is new: the key must capture everything its renderable shows."""
        width = self.content_size.width
        before = len(self._lines_at(width)) if width > 0 else None
        self._parts = tuple(parts)
        keys = {key for key, _ in self._parts}
        self._rendered = {cached: lines for cached, lines in self._rendered.items() if cached[0] in keys}
        self._lines = None
        after = len(self._lines_at(width)) if width > 0 else None
        self.refresh(layout=before is None or before != after)

    def _lines_at(self, width: int) -> list[Strip]:
        style = self.rich_style
        if self._lines is not None and self._lines[:2] == (width, style):
            return self._lines[2]
        lines: list[Strip] = []
        for index, (key, make) in enumerate(self._parts):
            if index:
                lines.append(Strip.blank(width, style))
            cached = (key, width, style)
            part = self._rendered.get(cached)
            if part is None:
                part = self._rendered[cached] = self._render_part(make(), width, style)
            lines.extend(part)
        self._lines = (width, style, lines)
        return lines

    def _render_part(self, renderable: RenderableType, width: int, style: Style) -> list[Strip]:
        options = self.app.console_options.update_width(max(1, width))
        lines = self.app.console.render_lines(renderable, options, style=style)
        return [Strip(line, width) for line in lines]

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._lines_at(width))

    def render_line(self, y: int) -> Strip:
        width = self.content_size.width
        lines = self._lines_at(width)
        return lines[y] if y < len(lines) else Strip.blank(width, self.rich_style)


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
        yield TimelineBody(id="timeline-body")

    def on_mount(self) -> None:
        self._render_body()
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._render_body())

    def watch_incidents(self) -> None:
        self._render_body()

    def watch_now(self, before: float, now: float) -> None:
        if int(before // 60) != int(now // 60) and any(i.resolved_at is None for i in self.incidents):
            self._render_body()

    def _render_body(self) -> None:
        styles = {state: self.get_component_rich_style(f"timeline--{state.value}", partial=True)
                  for state in IncidentState}
        time_style = self.get_component_rich_style("timeline--time", partial=True)
        self.query_one(TimelineBody).show(timeline_parts(self.incidents, self.now, styles, time_style))


def timeline_parts(
    incidents: Sequence[Incident],
    now: float,
    styles: dict[IncidentState, Style],
    time_style: Style | str = "",
) -> list[Part]:
    """One part per incident; its key holds all its renderable depends on."""
    if not incidents:
        return [("empty", partial(Text, "No incidents."))]
    day = time.gmtime(now)[:3]  # event times show the date once they are from another day
    style_key = (tuple(styles.items()), time_style)
    return [((incident, _length(incident, now), day, style_key),
             partial(render_incident, incident, now, styles, time_style)) for incident in incidents]


def render_timeline(
    incidents: Sequence[Incident],
    now: float,
    styles: dict[IncidentState, Style],
    time_style: Style | str = "",
) -> RenderableType:
    """Every incident, a blank line between them (what the pane shows, as one renderable)."""
    parts: list[RenderableType] = []
    for _key, make in timeline_parts(incidents, now, styles, time_style):
        parts.extend((make(), Text("")))
    return Group(*parts[:-1])


def _length(incident: Incident, now: float) -> str:
    """How long it lasted; a running one in whole minutes past the first, as the pane re-renders
    it once a minute (and a re-read of incidents then re-renders only those that changed)."""
    if incident.resolved_at is not None:
        return format_duration(max(0.0, incident.resolved_at - incident.started_at))
    running = max(0.0, now - incident.started_at)
    return format_duration(running // 60 * 60 if running >= 60 else running)


def render_incident(
    incident: Incident,
    now: float,
    styles: dict[IncidentState, Style],
    time_style: Style | str = "",
) -> RenderableType:
    """A heading (state, monitor, how long, cause), who acknowledged it and how, then one line per
    event: time, symbol, kind and detail, wrapped under its own column."""
    resolved = incident.state is IncidentState.RESOLVED
    heading = Text()
    heading.append(f"{STATE_MARKS[incident.state]} #{incident.id} {incident.monitor}  "
                   f"{incident.state.value.upper()}", style=styles.get(incident.state, ""))
    heading.append(f"  {'lasted' if resolved else 'for'} {_length(incident, now)}")
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True, style=time_style)
    grid.add_column(no_wrap=True)
    grid.add_column(ratio=1, overflow="fold")
    grid.add_row("", "", Text(f"cause: {incident.cause}"))
    if incident.state is IncidentState.ACKNOWLEDGED:
        acks = [e for e in incident.events if e.kind is TimelineKind.ACKNOWLEDGED]
        last = acks[-1] if acks else None
        summary = last.text() if last is not None and (last.detail or last.by) else "acknowledged: no note"
        grid.add_row("", "", Text(summary, style=styles.get(incident.state, "")))
    for event in incident.events:
        grid.add_row(fmt_clock(event.at, now), EVENT_SYMBOLS.get(event.kind, "·"), event.text())
    return Group(heading, grid)
