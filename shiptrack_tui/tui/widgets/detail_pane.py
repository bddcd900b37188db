"""The detail pane: the selected monitor's state, last error, per-window figures, chart and checks.

What an operator needs first comes first (state, last check and error, uptime/p50/p95), so a short
pane (a long incident timeline below it, 80×24) cuts the chart and the recent checks, never those.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Static, Tab, Tabs

from shiptrack_tui.core.durations import format_duration
from shiptrack_tui.core.model import MonitorStatus
from shiptrack_tui.core.stats import WINDOWS
from shiptrack_tui.tui.data import CHART_WINDOWS, MonitorDetail
from shiptrack_tui.tui.formatting import (
    NO_DATA,
    STATE_SYMBOLS,
    fmt_ago,
    fmt_clock,
    fmt_ms,
    fmt_uptime,
    is_acknowledged,
    last_latency,
    state_text,
    status_of,
    zone_abbreviation,
)
from shiptrack_tui.tui.widgets.latency_chart import FAILURE_MARK, LatencyChart

STATE_CLASSES: Final = tuple(f"-{status.value}" for status in MonitorStatus)


class DetailPane(VerticalScroll):
    """Shows one monitor; the screen sets `detail` and `window`, the pane reports window clicks."""

    can_focus = True

    detail: reactive[MonitorDetail | None] = reactive(None, init=False)
    """The loaded detail for the selected monitor (None: nothing selected)."""
    window: reactive[str] = reactive("1h")
    """The chart window: one of CHART_WINDOWS."""
    notes: reactive[tuple[str, ...]] = reactive(tuple)
    """Lines under the heading: a maintenance window, silences."""

    @dataclass
    class WindowChosen(Message):
        """The operator picked a chart window with the mouse."""

        window: str

    def __init__(self, *, push_base: str = "", id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.push_base = push_base
        """Where this dashboard's engine takes pings (`http://127.0.0.1:8080`), "" when unknown."""

    def compose(self) -> ComposeResult:
        yield Static("No monitor selected.", id="detail-head")
        yield Static("", id="detail-notes")
        yield Static("", id="detail-body")
        yield Static("", id="detail-locations")
        yield Static("", id="detail-stats")
        yield Tabs(*(Tab(name, id=f"window-{name}") for name in CHART_WINDOWS), id="detail-windows")
        yield LatencyChart(id="detail-chart")
        yield Static("", id="detail-caption")
        yield Static("", id="detail-recent")

    def watch_notes(self, notes: tuple[str, ...]) -> None:
        field = self.query_one("#detail-notes", Static)
        field.update("\n".join(notes))
        field.display = bool(notes)

    def watch_window(self, window: str) -> None:
        self.query_one("#detail-windows", Tabs).active = f"window-{window}"

    @on(Tabs.TabActivated, "#detail-windows")
    def _window_tab(self, event: Tabs.TabActivated) -> None:
        event.stop()
        window = (event.tab.id or "").removeprefix("window-")
        if window in CHART_WINDOWS and window != self.window:
            self.window = window
            self.post_message(self.WindowChosen(window))

    def watch_detail(self, detail: MonitorDetail | None) -> None:
        # Touch classes only on a change of state: every class change restyles the subtree.
        wanted = f"-{status_of(detail.summary).value}" if detail is not None else None
        for name in STATE_CLASSES:
            if self.has_class(name) != (name == wanted):
                self.set_class(name == wanted, name)
        head = self.query_one("#detail-head", Static)
        stats = self.query_one("#detail-stats", Static)
        chart = self.query_one("#detail-chart", LatencyChart)
        caption = self.query_one("#detail-caption", Static)
        body = self.query_one("#detail-body", Static)
        recent = self.query_one("#detail-recent", Static)
        places = self.query_one("#detail-locations", Static)
        places.display = detail is not None and bool(detail.locations)
        if detail is None:
            head.update("No monitor selected.")
            for field in (stats, caption, body, recent, places):
                field.update("")
            chart.series, chart.failures = (), ()
            return
        # Moving between monitors mostly keeps every field's height: repaint those fields only,
        # instead of a layout pass over the whole screen landing on the next key press.
        update_in_place(head, _head(detail))
        update_in_place(stats, _stats(detail))
        chart.series, chart.failures = detail.series, detail.failures
        update_in_place(caption, Text(chart_caption(detail), no_wrap=True, overflow="ellipsis"))
        update_in_place(body, _body(detail, self.push_base))
        if detail.locations:
            update_in_place(places, locations_text(detail))
        update_in_place(recent, _recent(detail))


def update_in_place(field: Static, text: Text) -> None:
    """`field.update(text)` with a layout pass only when the field's height changes.

    A layout pass measures every widget on the screen, and a key press landing on that frame
    waits for it: moving between monitors mostly keeps each field's height. The height is
    measured the way the layout measures it, at the width the field has now.
    """
    field.update(text, layout=False)
    size = field.content_size
    if size.width <= 0 or field.get_content_height(size, size, size.width) != size.height:
        field.refresh(layout=True)


def chart_caption(detail: MonitorDetail) -> str:
    """`last 4m (all data) · 5.6–9.0 ms` over `✕ 2 failed · gaps: no data`: two short lines that
    are never wrapped (a wrapped caption left a `·` dangling at a line's end)."""
    window_seconds = WINDOWS[detail.window]
    span = (f"last {format_duration(detail.span)} (all data)" if detail.span < window_seconds
            else f"last {detail.window}")
    values = [value for value in detail.series if value is not None]
    failed = sum(detail.failures)
    if not values and not failed:
        return f"{span}: no checks in this window"
    first = [span]
    if values:
        first.append(f"{fmt_ms(min(values))}–{fmt_ms(max(values))}")
    second = []
    if failed:
        second.append(f"{FAILURE_MARK} {failed} failed")
    if any(value is None for value in detail.series):
        second.append("gaps: no data")
    return "\n".join(" · ".join(line) for line in (first, second) if line)


def _head(detail: MonitorDetail) -> Text:
    """State, name and tags over the target: two lines, each cut rather than wrapped."""
    summary = detail.summary
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(state_text(status_of(summary), is_acknowledged(summary)), style="bold")
    text.append(f"  {summary.name}", style="bold")
    if summary.tags:
        text.append("  tags: " + ", ".join(summary.tags))
    text.append(f"\n{summary.target}")
    return text


def _stats(detail: MonitorDetail) -> Text:
    """Uptime, p50, p95 and checks for each window, one line each."""
    text = Text()
    text.append("window   uptime      p50      p95   checks", style="bold")
    for name in CHART_WINDOWS:
        stats = detail.stats.get(name)
        if stats is not None:
            text.append(f"\n{name:<6} {fmt_uptime(stats.uptime):>8} {fmt_ms(stats.p50_ms):>8} "
                        f"{fmt_ms(stats.p95_ms):>8} {stats.checks:>8}")
    return text


def _body(detail: MonitorDetail, push_base: str = "") -> Text:
    """Last check, last error, the open incident and the certificate: the facts read first."""
    summary = detail.summary
    state = summary.state
    text = Text()
    text.append("last check  ", style="bold")
    text.append(f"{fmt_ago(detail.now, state.last_check_at)} ago" if state.last_check_at else "never")
    text.append(f"  {last_latency(state)}")
    if summary.last_status_code is not None:
        text.append(f"  HTTP {summary.last_status_code}")
    text.append("\nlast error  ", style="bold")
    text.append(state.last_error or "none")
    if summary.open_incident_id is not None:
        text.append("\nincident    ", style="bold")
        text.append(f"#{summary.open_incident_id} {'acknowledged' if is_acknowledged(summary) else 'open'}")
    if detail.checked_by is not None:  # a cluster: the node that owns the monitor now
        text.append("\nchecked by  ", style="bold")
        text.append(detail.checked_by or "no node holds its lease now")
    if detail.push_token is not None:  # a push monitor: its URL instead of a certificate
        text.append("\npush URL    ", style="bold")
        if push_base:  # the server on the label's line, the path whole below it (never split)
            text.append(f"{push_base}\n")
        text.append(f"/push/{detail.push_token}")
        return text
    text.append("\ncertificate ", style="bold")
    days = summary.cert_days_left
    text.append(NO_DATA if days is None else f"{days} days left")
    return text


def locations_text(detail: MonitorDetail) -> Text:
    """A multi-location monitor: one line per location, its latest check, how long ago, by which
    node; each line is cut at the pane's edge rather than wrapped (the node goes first)."""
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append("locations", style="bold")
    width = max(len(view.location) for view in detail.locations)
    whats = ["ok" if view.ok else (view.reason or "failing") + (f" ×{view.failures}" * (view.failures > 1))
             for view in detail.locations]
    what_width = max(len(what) for what in whats)
    agos = [fmt_ago(detail.now, view.checked_at) for view in detail.locations]
    ago_width = max(len(ago) for ago in agos)
    for view, what, ago in zip(detail.locations, whats, agos, strict=True):
        symbol = STATE_SYMBOLS[MonitorStatus.UP if view.ok else MonitorStatus.DOWN]
        text.append(f"\n{view.location:<{width}}  ")
        text.append(f"{symbol} {what:<{what_width}}", style="" if view.ok else "bold")
        text.append(f"  {ago:>{ago_width}} ago · {view.node}")
    return text


def _recent(detail: MonitorDetail) -> Text:
    text = Text()
    text.append(f"recent checks ({zone_abbreviation(detail.now)})\n", style="bold")
    if not detail.checks:
        text.append("none yet\n")
    for check in detail.checks:
        symbol = STATE_SYMBOLS[MonitorStatus(check.outcome.value)]
        why = check.reason or (f"HTTP {check.status_code}" if check.status_code is not None else "")
        text.append(f"{fmt_clock(check.at, detail.now):<11} {symbol} {check.outcome.value:<8} "
                    f"{fmt_ms(check.latency_ms):>7}  {why}\n")
    text.rstrip()
    return text
