"""The incidents pane: open incidents first, then the others by start time; one can be selected.

The screen sets `incidents` (already filtered and ordered), `now` and `services`; the pane moves
its cursor with j/k and reports the selected incident (attributes down, messages up).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import ClassVar, Final

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

from shiptrack_tui.core.durations import format_duration
from shiptrack_tui.core.formats import local_time
from shiptrack_tui.core.model import Incident, IncidentState, TimelineKind
from shiptrack_tui.tui.formatting import fmt_clock
from shiptrack_tui.tui.timeline_lines import timeline_lines

Part = tuple[Hashable, Callable[[], RenderableType]]
"""A block of the timeline: its key (all it depends on) and how to make its renderable."""
Names = tuple[tuple[str, str], ...]
"""URL scheme → the notification service's name (`slack` → "Slack"), hashable for render keys."""

FIRST_FAILURE: Final = "✕"
STATUS_MARK: Final = "»"
STATE_MARKS: Final = {IncidentState.OPEN: "✖", IncidentState.ACKNOWLEDGED: "✔", IncidentState.RESOLVED: "●"}


class TimelineBody(Widget):
    """The timeline's lines. Each incident is rendered once per width and key, so a new event
    re-renders one incident, not all of them; and measuring the pane's height for a layout pass
    (which the whole screen pays for) is a list length instead of rendering every incident."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._parts: tuple[Part, ...] = ()
        self._rendered: dict[tuple[Hashable, int, Style], list[Strip]] = {}
        self._lines: tuple[int, Style, list[Strip], tuple[tuple[int, int], ...]] | None = None

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

    def _layout_at(self, width: int) -> tuple[list[Strip], tuple[tuple[int, int], ...]]:
        style = self.rich_style
        if self._lines is not None and self._lines[:2] == (width, style):
            return self._lines[2], self._lines[3]
        lines: list[Strip] = []
        spans: list[tuple[int, int]] = []
        for index, (key, make) in enumerate(self._parts):
            if index:
                lines.append(Strip.blank(width, style))
            cached = (key, width, style)
            part = self._rendered.get(cached)
            if part is None:
                part = self._rendered[cached] = self._render_part(make(), width, style)
            spans.append((len(lines), len(part)))
            lines.extend(part)
        self._lines = (width, style, lines, tuple(spans))
        return lines, tuple(spans)

    def _lines_at(self, width: int) -> list[Strip]:
        return self._layout_at(width)[0]

    def part_span(self, index: int) -> tuple[int, int] | None:
        """Where part `index` is: its first line and how many lines it has (at the current width)."""
        width = self.content_size.width
        spans = self._layout_at(width)[1] if width > 0 else ()
        return spans[index] if 0 <= index < len(spans) else None

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
    """Renders incidents and their events; j/k (or ↑/↓) select an incident for `a` and `n`."""

    can_focus = True
    BINDING_GROUP_TITLE = "Incidents"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j,down", "move(1)", "Next incident", show=False, id="incidents.next"),
        Binding("k,up", "move(-1)", "Previous incident", show=False, id="incidents.previous"),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "timeline--open",
        "timeline--acknowledged",
        "timeline--resolved",
        "timeline--time",
        "timeline--cursor",
    }

    incidents: reactive[tuple[Incident, ...]] = reactive((), init=False, always_update=True)
    """Incidents in display order."""
    now: reactive[float] = reactive(0.0, init=False)
    """The clock: running durations move on with it (re-rendered once a minute), and a
    notification waiting to be retried counts down (re-rendered each second while one does)."""
    services: reactive[Names] = reactive((), init=False)
    """Names of the notification services the timelines mention, by URL scheme."""
    selected: reactive[int | None] = reactive(None, init=False)
    """The incident under the cursor (its id); shown while the pane has the focus."""

    @dataclass
    class Selected(Message):
        """The operator moved the cursor onto an incident."""

        incident_id: int
        monitor: str

    def compose(self):  # type: ignore[no-untyped-def]
        yield TimelineBody(id="timeline-body")

    def on_mount(self) -> None:
        self._render_body()
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._render_body())

    @property
    def selected_incident(self) -> Incident | None:
        return next((i for i in self.incidents if i.id == self.selected), None)

    def watch_incidents(self) -> None:
        if self.incidents and self.selected_incident is None and self.selected is not None:
            self.selected = self.incidents[0].id  # the selected one went away (filtered out)
        self._render_body()

    def watch_services(self) -> None:
        self._render_body()

    def watch_selected(self) -> None:
        self._render_body()
        self.call_after_refresh(self._show_selected)

    def watch_now(self, before: float, now: float) -> None:
        minute = int(before // 60) != int(now // 60) and any(i.resolved_at is None for i in self.incidents)
        if minute or any(_counting_down(i, self.services) for i in self.incidents):
            self._render_body()

    def watch_has_focus(self, has_focus: bool) -> None:
        # Not on_focus: that runs before Widget sets has_focus, and the cursor shows only with it.
        super().watch_has_focus(has_focus)
        if has_focus and self.selected_incident is None and self.incidents:
            self.selected = self.incidents[0].id
        else:
            self._render_body()

    def action_move(self, step: int) -> None:
        if not self.incidents:
            return
        ids = [incident.id for incident in self.incidents]
        index = ids.index(self.selected) + step if self.selected in ids else 0
        incident = self.incidents[max(0, min(len(ids) - 1, index))]
        self.selected = incident.id
        self.post_message(self.Selected(incident.id, incident.monitor))

    def _show_selected(self) -> None:
        """Scroll so the selected incident shows (its heading at least, all of it if it fits)."""
        ids = [incident.id for incident in self.incidents]
        if self.selected not in ids:
            return
        span = self.query_one(TimelineBody).part_span(ids.index(self.selected))
        if span is not None:
            top, height = span
            height = max(1, min(height, self.scrollable_content_region.height))
            self.scroll_to_region(Region(0, top, 1, height), animate=False, immediate=True)

    def _render_body(self) -> None:
        styles = {state: self.get_component_rich_style(f"timeline--{state.value}", partial=True)
                  for state in IncidentState}
        time_style = self.get_component_rich_style("timeline--time", partial=True)
        cursor = self.get_component_rich_style("timeline--cursor", partial=True) if self.has_focus else None
        parts = timeline_parts(self.incidents, self.now, styles, time_style, self.services,
                               self.selected if cursor is not None else None, cursor)
        self.query_one(TimelineBody).show(parts)


def _counting_down(incident: Incident, names: Names) -> bool:
    return incident.resolved_at is None and any(
        line.retry_at is not None for line in timeline_lines(incident.events, names))


def timeline_parts(
    incidents: Sequence[Incident],
    now: float,
    styles: dict[IncidentState, Style],
    time_style: Style | str = "",
    names: Names = (),
    selected: int | None = None,
    cursor: Style | None = None,
) -> list[Part]:
    """One part per incident; its key holds all its renderable depends on."""
    if not incidents:
        return [("empty", partial(Text, "No incidents."))]
    day = local_time(now).date()  # event times show the date once they are from another (local) day
    style_key = (tuple(styles.items()), time_style)
    parts: list[Part] = []
    for incident in incidents:
        lines = timeline_lines(incident.events, names)
        countdown = tuple(line.render(now) for line in lines if line.retry_at is not None)
        marked = cursor if incident.id == selected else None
        key = (incident, _length(incident, now), day, style_key, names, marked, countdown)
        parts.append((key, partial(render_incident, incident, now, styles, time_style, names, marked)))
    return parts


def render_timeline(
    incidents: Sequence[Incident],
    now: float,
    styles: dict[IncidentState, Style],
    time_style: Style | str = "",
    names: Names = (),
) -> RenderableType:
    """Every incident, a blank line between them (what the pane shows, as one renderable)."""
    parts: list[RenderableType] = []
    for _key, make in timeline_parts(incidents, now, styles, time_style, names):
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
    names: Names = (),
    cursor: Style | None = None,
) -> RenderableType:
    """A heading (state, monitor, severity, how long), the status while it is open, the first
    failed check (where that length counts from) and its cause, who acknowledged it and how, then
    one line per event (notification attempts folded), wrapped under its own column."""
    resolved = incident.state is IncidentState.RESOLVED
    heading = Text()
    heading.append(f"{STATE_MARKS[incident.state]} #{incident.id} {incident.monitor}  "
                   f"{incident.state.value.upper()} · {incident.severity.value}",
                   style=styles.get(incident.state, ""))
    heading.append(f"  {'lasted' if resolved else 'for'} {_length(incident, now)}")
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True, style=time_style)
    grid.add_column(no_wrap=True)
    grid.add_column(ratio=1, overflow="fold")
    if not resolved:  # a resolved one's status is "resolved": its heading says so
        grid.add_row("", STATUS_MARK, Text(f"status: {incident.status.value}"))
    started = fmt_clock(incident.started_at, now)
    grid.add_row(started, FIRST_FAILURE, Text(f"first failed check: {incident.cause}"))
    if incident.state is IncidentState.ACKNOWLEDGED:
        acks = [e for e in incident.events if e.kind is TimelineKind.ACKNOWLEDGED]
        last = acks[-1] if acks else None
        summary = last.text() if last is not None and (last.detail or last.by) else "acknowledged: no note"
        grid.add_row("", "", Text(summary, style=styles.get(incident.state, "")))
    for line in timeline_lines(incident.events, names):
        grid.add_row(fmt_clock(line.at, now), line.symbol, line.render(now))
    if cursor is None:
        return Group(heading, grid)
    heading.stylize(cursor)
    # The cursor spans the pane's width, like a table's row cursor.
    return Group(Padding(heading, 0, style=cursor, expand=True), grid)
