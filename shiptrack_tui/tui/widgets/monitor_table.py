"""The monitors pane: one row per monitor, trouble first, optionally grouped by tag.

Grouped, a monitor with several tags appears under each of them. The name column takes the room
the fixed columns leave (names are shortened with `…`, their marks kept), so the sparkline keeps
its width whatever the names or group headers.

Rows are updated in place (`update_cell`) and reordered with `sort`: rebuilding a large DataTable
blocks the loop (DESIGN §4), so `show` only touches what changed, and `StableTable` keeps each
row's render across updates of other rows, re-sorts and cursor moves.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar, Final

from rich.style import Style
from rich.text import Text
from textual import events, on
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey

from shiptrack_tui.core.model import MonitorStatus, MonitorSummary
from shiptrack_tui.tui.formatting import (
    TROUBLE_ORDER,
    fit,
    fmt_age,
    fmt_ms,
    fmt_uptime,
    is_acknowledged,
    last_latency,
    matches_filter,
    name_cell,
    sparkline,
    state_text,
    status_of,
)
from shiptrack_tui.tui.widgets.stable_table import Cells, StableTable

SPARK_WIDTH: Final = 10
COLUMNS: Final = (
    ("state", "state", 10),
    ("name", "name", None),
    ("uptime", "up 24h", 6),  # `99.95%`
    ("p50", "p50", 6),  # `312 ms`; over 24 h like the uptime
    ("last", "last", 6),
    ("checked", "age", 5),  # `never`, `42s`, `5m`
    ("recent", "recent", SPARK_WIDTH),
)
GROUP_PREFIX: Final = "\x00group:"
IN_GROUP: Final = "\x00in:"
"""A grouped row's key: `IN_GROUP + group + IN_GROUP + name` (a monitor may be in several groups)."""
UNTAGGED: Final = "untagged"
MIN_NAME: Final = 8


@dataclass(frozen=True, slots=True)
class RowView:
    """One row as it should appear: its key, sort rank and cells."""

    key: str
    rank: tuple[object, ...]
    cells: Cells


class MonitorTable(StableTable):
    """Monitors with state symbol and colour, uptime, latency and an inline sparkline."""

    BINDING_GROUP_TITLE = "Monitors list"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False, id="table.down"),
        Binding("k", "cursor_up", "Up", show=False, id="table.up"),
        Binding("enter", "select_cursor", "Open", tooltip="open the selected monitor's detail", show=False,
                id="table.open"),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "monitor-table--up",
        "monitor-table--degraded",
        "monitor-table--pending",
        "monitor-table--down",
        "monitor-table--paused",
        "monitor-table--maintenance",
        "monitor-table--unknown",
        "monitor-table--group",
        "monitor-table--dim",
    }

    @dataclass
    class Selected(Message):
        """The operator highlighted a monitor (None: a group header or an empty table)."""

        monitor: str | None

    @dataclass
    class Opened(Message):
        """The operator pressed enter on a monitor."""

        monitor: str

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row")
        self._rows: dict[str, Cells] = {}
        self._order: list[str] = []
        self._last: tuple[Sequence[MonitorSummary], Mapping[str, Sequence[float | None]], float] | None = None
        self.filter_text = ""
        self.members: frozenset[str] | None = None
        """Only these monitors show (a service's members); None: no service filter."""
        self.grouped = False
        self.muted: frozenset[str] = frozenset()
        """Monitors whose notifications a silence mutes: their name carries a marker."""
        self._shown: list[RowView] = []
        """The rows as last shown, in order (group headers included)."""
        self._styles: dict[str, Style] = {}
        # What each row was last built from: unchanged inputs reuse the same cells (and skip them).
        self._inputs: dict[str, tuple[MonitorSummary, Sequence[float | None], str, bool]] = {}
        self._name_room: int | None = None
        """How wide names may be: what the fixed columns leave (None until first laid out)."""

    def on_mount(self) -> None:
        for key, label, width in COLUMNS:
            self.add_column(label, key=key, width=width)
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._restyle())

    @property
    def selected_monitor(self) -> str | None:
        key = self._cursor_key()
        return None if key is None or key.startswith(GROUP_PREFIX) else monitor_of(key)

    def _cursor_key(self) -> str | None:
        if not self.row_count:
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value

    def on_resize(self, event: events.Resize) -> None:
        """The name column gets the room the others leave; a new room re-measures every row."""
        fixed = sum(width + 2 * self.cell_padding for _key, _label, width in COLUMNS if width is not None)
        room = max(MIN_NAME, self.scrollable_content_region.width - fixed - 2 * self.cell_padding)
        if room != self._name_room:
            self._name_room = room
            self._restyle()

    def _style(self, name: str) -> Style:
        # Resolving a component style is costly; with 1,000 rows it dominated a refresh.
        style = self._styles.get(name)
        if style is None:
            style = self._styles[name] = self.get_component_rich_style(f"monitor-table--{name}", partial=True)
        return style

    def _cells(self, summary: MonitorSummary, spark: Sequence[float | None], now: float) -> Cells:
        status = status_of(summary)
        style = self._style(status.value)
        day = summary.windows.get("24h")
        quiet = self._style("dim") if status in (MonitorStatus.PAUSED, MonitorStatus.MAINTENANCE) else ""
        return (
            Text(state_text(status, is_acknowledged(summary)), style=style),
            Text(name_cell(summary, summary.name in self.muted, self._name_room), style=quiet),
            Text(fmt_uptime(day.uptime if day else None), justify="right"),
            Text(fmt_ms(day.p50_ms if day else None), justify="right"),
            Text(last_latency(summary.state), justify="right"),
            Text(fmt_age(now, summary.state.last_check_at), justify="right"),
            Text(sparkline(spark, SPARK_WIDTH), style=style),
        )

    def _view(self, summary: MonitorSummary, spark: Sequence[float | None], now: float,
              group: str = "") -> RowView:
        name = summary.name
        key = f"{IN_GROUP}{group}{IN_GROUP}{name}" if group else name
        rank = (group == UNTAGGED, group, 1, TROUBLE_ORDER[status_of(summary)], name)
        inputs = (summary, spark, fmt_age(now, summary.state.last_check_at), name in self.muted)
        old = self._rows.get(key)
        if old is not None and self._inputs.get(key) == inputs:
            cells = old
        else:
            cells = self._cells(summary, spark, now)
            self._inputs[key] = inputs
        return RowView(key, rank, cells)

    def _views(
        self, summaries: Sequence[MonitorSummary], sparks: Mapping[str, Sequence[float | None]], now: float
    ) -> list[RowView]:
        views: list[RowView] = []
        groups: dict[str, int] = {}
        for summary in summaries:
            for group in (summary.tags or (UNTAGGED,)) if self.grouped else ("",):
                views.append(self._view(summary, sparks.get(summary.name, ()), now, group))
                groups[group] = groups.get(group, 0) + 1
        if self.grouped:
            header = self._style("group")
            for group, count in groups.items():
                label = Text(fit(f"▾ {group} ({count})", self._name_room), style=header)
                cells = (Text(""), label, *(Text("") for _ in COLUMNS[2:]))
                views.append(RowView(GROUP_PREFIX + group, (group == UNTAGGED, group, 0), cells))
        views.sort(key=lambda view: view.rank)
        return views

    def _patched_views(self, summaries: Sequence[MonitorSummary],
                       sparks: Mapping[str, Sequence[float | None]], now: float,
                       changed: Collection[str]) -> list[RowView]:
        """The previous rows with only the `changed` monitors rebuilt (added, updated or gone).

        The others keep the cells they show now (ages may have moved on since they were built)."""
        shown = self._rows
        views = [view if shown[view.key] is view.cells else RowView(view.key, view.rank, shown[view.key])
                 for view in self._shown if view.key not in changed]
        for summary in summaries:
            if summary.name in changed and self.shows(summary):
                views.append(self._view(summary, sparks.get(summary.name, ()), now))
        views.sort(key=lambda view: view.rank)
        return views

    def show(
        self,
        summaries: Sequence[MonitorSummary],
        sparks: Mapping[str, Sequence[float | None]],
        now: float,
        changed: Collection[str] | None = None,
    ) -> None:
        """Bring the table in line with the data, touching only rows and cells that changed.

        With `changed`, only those monitors are looked at (the rest are as last shown); ages of
        the others move on in `refresh_ages`.
        """
        self._last = (summaries, sparks, now)
        if changed is not None and not self.grouped and self._shown:
            views = self._patched_views(summaries, sparks, now, changed)
        else:
            wanted = [s for s in summaries if self.shows(s)]
            views = self._views(wanted, sparks, now)
        self._shown = views
        keep = {view.key for view in views}
        selected = self._cursor_key()
        for key in [key for key in self._rows if key not in keep]:
            self.remove_row(key)
            del self._rows[key]
            self._inputs.pop(key, None)
        column_keys = [key for key, _, _ in COLUMNS]
        for view in views:
            old = self._rows.get(view.key)
            if old is view.cells:
                continue
            if old is None:
                self.add_row(*view.cells, key=view.key)
                self._rows[view.key] = view.cells
                continue
            merged: list[Text] = []
            for column, before, after in zip(column_keys, old, view.cells, strict=True):
                if _same(before, after):
                    merged.append(before)
                else:
                    self.update_cell(view.key, column, after, update_width=self._widens(column, after))
                    merged.append(after)
            self._rows[view.key] = tuple(merged)
        order = [view.key for view in views]
        if order != self._order:
            self.reorder(order)
            self._order = order
        self._restore_cursor(selected)

    def _widens(self, column: str, cell: Text) -> bool:
        """A cell wider than its fitted column (a name gaining a mark): the column must grow.

        Only then is DataTable asked to re-measure: that drops every row's cached render."""
        fitted = self.columns[ColumnKey(column)]
        return fitted.auto_width and cell.cell_len > fitted.content_width

    @property
    def laid_out(self) -> bool:
        """Every fitted column is as wide as its widest cell. DataTable measures new and widened
        cells when it is next idle; a frame drawn before that cuts them short."""
        for column in self.columns.values():
            if column.auto_width:
                widest = max((cell.cell_len for cell in self.get_column(column.key)), default=0)
                if widest > column.content_width:
                    return False
        return True

    def refresh_ages(self, now: float) -> None:
        """Move the "checked" column on; only cells whose coarse age text changed are touched."""
        for name, (summary, spark, age, muted) in list(self._inputs.items()):
            fresh = fmt_age(now, summary.state.last_check_at)
            cells = self._rows.get(name)
            if fresh == age or cells is None:
                continue
            cell = Text(fresh, justify="right")
            self.update_cell(name, "checked", cell)
            self._rows[name] = (*cells[:5], cell, *cells[6:])
            self._inputs[name] = (summary, spark, fresh, muted)

    def _restore_cursor(self, selected: str | None) -> None:
        """Back to the row the cursor was on; grouping on or off: to the same monitor's first row."""
        if selected is None:
            return
        if selected not in self._rows:
            name = monitor_of(selected)
            selected = next((view.key for view in self._shown if monitor_of(view.key) == name), None)
            if selected is None:
                return
        index = self.get_row_index(selected)
        if index != self.cursor_row:
            self.move_cursor(row=index, animate=False)

    def select_monitor(self, name: str) -> bool:
        """Put the cursor on the monitor's row; False when no row shows it (filtered out)."""
        if name not in self._rows:
            return False
        index = self.get_row_index(name)
        if index != self.cursor_row:
            self.move_cursor(row=index, animate=False)
        return True

    def shows(self, summary: MonitorSummary) -> bool:
        """Does the monitor pass the text filter and the service filter?"""
        members = self.members
        return (members is None or summary.name in members) and matches_filter(summary, self.filter_text)

    def refilter(self, text: str) -> None:
        self.filter_text = text
        if self._last is not None:
            self.show(*self._last)

    def restrict(self, members: frozenset[str] | None) -> None:
        """Show only `members` (a service's monitors), or every monitor again with None."""
        if members != self.members:
            self.members = members
            if self._last is not None:
                self.show(*self._last)

    def toggle_grouping(self) -> bool:
        self.grouped = not self.grouped
        if self._last is not None:
            self.show(*self._last)
        return self.grouped

    def _restyle(self) -> None:
        """Rebuild every row (a new theme or name room), the cursor staying on its monitor."""
        selected = self._cursor_key()
        self._styles.clear()
        self._inputs.clear()
        self._rows.clear()
        self._order = []
        self._shown = []
        self.clear()
        if self._last is not None:
            self.show(*self._last)
            self._restore_cursor(selected)

    @on(DataTable.RowHighlighted)
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self.post_message(self.Selected(self.selected_monitor))

    @on(DataTable.RowSelected)
    def _opened(self, event: DataTable.RowSelected) -> None:
        event.stop()
        monitor = self.selected_monitor
        if monitor is not None:
            self.post_message(self.Opened(monitor))


def monitor_of(key: str) -> str:
    """The monitor a row key shows (grouped rows carry their group in the key)."""
    return key.rsplit(IN_GROUP, 1)[-1]


def _same(a: Text, b: Text) -> bool:
    """Text equality that also sees the style (rich's __eq__ compares plain text and spans only)."""
    return a.plain == b.plain and a.style == b.style and a.spans == b.spans and a.justify == b.justify
