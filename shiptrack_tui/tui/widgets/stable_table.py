"""A DataTable whose renders survive cell updates, row moves and cursor moves.

Textual's DataTable keys its cell, row and line caches on one table-wide `_update_count` (bumped
by every `update_cell`, `sort`, `add_row`), keys rendered lines by their screen position and the
cursor's coordinate, and bakes each row's index into its render (style meta, read by mouse
handlers). With 1,000 live monitors that meant: every landed check, every re-sort and every
cursor move re-rendered every visible row, a 10–30 ms frame on a small machine that key presses
waited on. Here each line is kept per row key, with the row's cells, cursor and hover state: a
frame re-renders only rows whose cells changed or that the cursor entered or left. Mouse events
get the row under the pointer from its position instead of the (possibly stale) render. What is
re-rendered costs less too: one-line cells skip rich's wrapper renderables, and the table's own
style lookups (DataTable repeats them for every row) are worked out once per render pass.

This reaches into DataTable's private methods: Textual is pinned to one version in
pyproject.toml, and tests/test_tui_render_paths.py checks moved rows, clicks and updates.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual._two_way_dict import TwoWayDict
from textual._types import SegmentLines
from textual.cache import LRUCache
from textual.color import Color
from textual.css.styles import RenderStyles
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, ColumnKey, RowKey

Cells = tuple[Text, ...]
T = TypeVar("T")


class StableTable(DataTable[Text]):
    """DataTable[Text] with position-independent render caches (see the module docstring)."""

    def __init__(self, *, id: str | None = None, cursor_type: str = "row") -> None:
        super().__init__(id=id, cursor_type=cursor_type, zebra_stripes=False)  # type: ignore[arg-type]
        self._stale_rows: set[RowKey] = set()
        """Rows whose cells changed since the last render: only their cached renders go."""
        self._cells_by_row: LRUCache[tuple[object, ...], tuple[Text, SegmentLines]] = LRUCache(16_000)
        self._lines_by_row: LRUCache[tuple[object, ...], tuple[Cells, Strip]] = LRUCache(4_000)
        self._widths: tuple[int, ...] = ()
        self._pass_styles: dict[str, object] | None = None
        """While a render pass runs: the table's own style lookups, which DataTable repeats for
        every row (each walks the DOM to blend backgrounds; about half a row's cost)."""

    def update_cell(self, row_key: RowKey | str, column_key: ColumnKey | str, value: Text, *,
                    update_width: bool = False) -> None:
        """DataTable.update_cell without invalidating every row's cached render."""
        if update_width:
            super().update_cell(row_key, column_key, value, update_width=True)
            return
        row = row_key if isinstance(row_key, RowKey) else RowKey(row_key)
        column = column_key if isinstance(column_key, ColumnKey) else ColumnKey(column_key)
        if row not in self._row_locations or column not in self._column_locations:
            raise CellDoesNotExist(f"No cell exists for row_key={row_key!r}, column_key={column_key!r}.")
        self._data[row][column] = value
        if not self._stale_rows:  # one refresh until the next render, not one per cell
            self.refresh()
        self._stale_rows.add(row)

    def reorder(self, keys: Sequence[str]) -> None:
        """Put the rows in this order (every row's key once): what `sort` ends with, unsorted."""
        by_value = {key.value: key for key in self.rows}
        if len(keys) != len(by_value) or not all(key in by_value for key in keys):
            raise ValueError("reorder needs every row's key exactly once")
        self._row_locations = TwoWayDict({by_value[key]: index for index, key in enumerate(keys)})
        self._update_count += 1
        self.refresh()

    def render_lines(self, crop: Region) -> list[Strip]:
        if self._stale_rows:
            self._drop_stale_renders()
        self._widths = tuple(column.get_render_width(self) for column in self.ordered_columns)
        self._pass_styles = {}  # styles cannot change during one render pass
        try:
            return super().render_lines(crop)
        finally:
            self._pass_styles = None

    def _once_per_pass(self, key: str, work_out: Callable[[], T]) -> T:
        """`work_out()`, remembered until the render pass ends (outside one: every time)."""
        if self._pass_styles is None:
            return work_out()
        if key not in self._pass_styles:
            self._pass_styles[key] = work_out()
        return self._pass_styles[key]  # type: ignore[return-value]

    @property
    def rich_style(self) -> Style:
        return self._once_per_pass("rich_style", lambda: super(StableTable, self).rich_style)

    @property
    def background_colors(self) -> tuple[Color, Color]:
        return self._once_per_pass("background_colors", lambda: super(StableTable, self).background_colors)

    def get_component_styles(self, *names: str) -> RenderStyles:
        if self._pass_styles is None:
            return super().get_component_styles(*names)
        resolve = super().get_component_styles
        return self._once_per_pass(  # type: ignore[return-value]
            "component:" + ",".join(names), lambda: _ResolvedStyles(resolve(*names)))

    def _render_line(self, y: int, x1: int, x2: int, base_style: Style) -> Strip:
        try:
            row_key, line_no = self._get_offsets(y)
        except LookupError:
            return super()._render_line(y, x1, x2, base_style)
        if row_key is self._header_row_key:
            return super()._render_line(y, x1, x2, base_style)
        row_index = self._row_locations.get(row_key)
        key = (row_key, line_no, x1, x2, self.size.width, base_style, self._widths,
               row_index == self.cursor_coordinate.row, row_index == self.hover_coordinate.row,
               self.cursor_type, self.show_cursor, self._show_hover_cursor, self._pseudo_class_state)
        cells = tuple(self._data[row_key].values())
        cached = self._lines_by_row.get(key)
        if cached is not None and len(cached[0]) == len(cells) and all(
                before is after for before, after in zip(cached[0], cells, strict=True)):
            return cached[1]
        strip = super()._render_line(y, x1, x2, base_style)
        self._lines_by_row[key] = (cells, strip)
        return strip

    def _render_cell(self, row_index: int, column_index: int, base_style: Style, width: int,
                     cursor: bool = False, hover: bool = False) -> SegmentLines:
        """DataTable._render_cell, kept per row key and cell instead of per `_update_count`."""
        if row_index < 0 or column_index < 0:  # the header (and row labels, unused here)
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        row_key = self._row_locations.get_key(row_index)
        column_key = self._column_locations.get_key(column_index)
        cell = self._data[row_key][column_key]
        key = (row_key, column_key, base_style, width, cursor, hover, self._show_hover_cursor,
               self._pseudo_class_state)
        cached = self._cells_by_row.get(key)
        if cached is not None and cached[0] is cell:
            return cached[1]
        if self.rows[row_key].height == 1 and width > 2 * self.cell_padding:
            lines = self._render_one_line_cell(row_index, column_index, base_style, width, cursor, hover)
        else:
            lines = super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        self._cells_by_row[key] = (cell, lines)
        return lines

    def _render_one_line_cell(self, row_index: int, column_index: int, base_style: Style, width: int,
                              cursor: bool, hover: bool) -> SegmentLines:
        """What DataTable._render_cell renders for a one-line body cell, made by the same rich
        calls without the Styled/Padding wrappers and the second line split around them: half
        the cost, for the cells of every row a landed check changes."""
        console = self.app.console
        _label, cells = self._get_row_renderables(row_index)
        component_style, post_style = self._get_styles_to_render_cell(
            False, False, False, hover, cursor, self.show_cursor, self._show_hover_cursor,
            self.cursor_foreground_priority == "css", self.cursor_background_priority == "css")
        pre_style = base_style + Style.from_meta({"row": row_index, "column": column_index}) + component_style
        pad = self.cell_padding
        options = self.app.console_options.update_dimensions(width - 2 * pad, 1).update(no_wrap=True)
        blank = console.get_style("none")
        padding = Segment(" " * pad, blank)
        (line,) = console.render_lines(cells[column_index], options, style=blank, pad=True)
        post = console.get_style(post_style)
        return [list(Segment.apply_style([padding, *line, padding], pre_style, post))]

    def _pointer_row(self, event: events.MouseEvent) -> None:
        """Put the row under the pointer into the event's style meta, where DataTable looks."""
        meta = event.style.meta
        offset = event.get_content_offset(self)
        if offset is None or "row" not in meta or meta["row"] < 0:
            return  # off the content, or on the header (which never moves)
        y = offset.y if offset.y < self.header_height else offset.y + int(self.scroll_y)
        try:
            row_key, _line = self._get_offsets(y)
        except LookupError:
            return
        if row_key is not self._header_row_key:
            event.style = event.style + Style.from_meta({"row": self._row_locations.get(row_key)})

    async def _on_click(self, event: events.Click) -> None:
        self._pointer_row(event)
        await super()._on_click(event)

    def _on_mouse_move(self, event: events.MouseMove) -> None:
        self._pointer_row(event)
        super()._on_mouse_move(event)

    def _clear_caches(self) -> None:
        super()._clear_caches()
        self._cells_by_row.clear()
        self._lines_by_row.clear()

    def notify_style_update(self) -> None:
        self._cells_by_row.clear()
        self._lines_by_row.clear()
        super().notify_style_update()

    def _drop_stale_renders(self) -> None:
        """Drop DataTable's own cached renders of changed rows (ours check the cells themselves)."""
        stale, self._stale_rows = self._stale_rows, set()
        for cache in (self._cell_render_cache, self._row_render_cache):
            keys = cache.keys()  # LRUCache is not iterable itself
            for key in [key for key in keys if key[0] in stale]:
                cache.discard(key)
        indexes = {self._row_locations.get(row) for row in stale}
        index_keys = self._row_renderable_cache.keys()
        for index_key in [key for key in index_keys if key[1] in indexes]:
            self._row_renderable_cache.discard(index_key)
        self._line_cache.clear()  # keyed by screen line: only the header still uses it


class _ResolvedStyles:
    """A component's styles with `rich_style` worked out once (for the length of a render pass)."""

    def __init__(self, styles: RenderStyles) -> None:
        self._styles = styles
        self.rich_style = styles.rich_style

    def __getattr__(self, name: str) -> object:
        return getattr(self._styles, name)
