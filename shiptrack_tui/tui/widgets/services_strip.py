"""The services strip: each `[[service]]` with its derived status in symbol, word and colour.

`Services  ✖ Checkout outage  ◐ Search degraded  ● Docs operational`. The screen sets `services`
and the service the monitors are filtered to (`selected`, shown in reverse); a click on a service
posts `Picked` (attributes down, messages up). A strip too narrow for every service names those
in trouble and the selected one, and counts the rest (`● 12 more operational`); narrower still,
it drops their status words (symbol and colour stay). No services: no strip.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar, Final

from rich.style import Style
from rich.text import Text
from textual import events
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from shiptrack_tui.core.services import ServiceStatus
from shiptrack_tui.tui.services_live import ServiceView

SERVICE_SYMBOLS: Final = {
    ServiceStatus.OPERATIONAL: "●",
    ServiceStatus.DEGRADED: "◐",
    ServiceStatus.OUTAGE: "✖",
    ServiceStatus.MAINTENANCE: "⚒",
}
LABEL: Final = " Services "

Hit = tuple[int, int, str]
"""Where a service's chip is on the strip: first cell, cell after the last, its name."""


def chip(view: ServiceView, words: bool = True) -> str:
    head = f"{SERVICE_SYMBOLS[view.status]} {view.name}"
    return f"{head} {view.status.value}" if words else head


def strip_text(views: Sequence[ServiceView], selected: str | None, width: int,
               styles: Mapping[str, Style]) -> tuple[Text, tuple[Hit, ...]]:
    """The strip at `width` cells and where each service shown is: every service if they fit;
    else those in trouble and the selected one, and a count of the others; at the narrowest,
    without the status words."""
    some = [v for v in views if v.status is not ServiceStatus.OPERATIONAL or v.name == selected]
    found = (Text(), ())
    for shown, words in ((views, True), (some, True), (some, False)):
        found = _variant(shown, len(views) - len(shown), words, selected, styles)
        if found[0].cell_len <= width:
            break
    return found


def _variant(shown: Sequence[ServiceView], rest: int, words: bool, selected: str | None,
             styles: Mapping[str, Style]) -> tuple[Text, tuple[Hit, ...]]:
    text = Text(no_wrap=True, overflow="ellipsis", end="")
    text.append(LABEL, style=styles.get("label", ""))
    hits: list[Hit] = []
    for view in shown:
        style = styles.get(view.status.value, Style())
        if view.name == selected:
            style += styles.get("selected", Style())
        text.append(" ")
        start = text.cell_len
        text.append(chip(view, words), style=style)
        hits.append((start, text.cell_len, view.name))
        text.append(" ")
    if rest:
        operational = ServiceStatus.OPERATIONAL
        text.append(f" {SERVICE_SYMBOLS[operational]} {rest} more operational",
                    style=styles.get(operational.value, ""))
    return text, tuple(hits)


class ServicesStrip(Widget):
    """One line under the header; hidden when the config declares no service."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "services-strip--label",
        "services-strip--operational",
        "services-strip--degraded",
        "services-strip--outage",
        "services-strip--maintenance",
        "services-strip--selected",
    }
    STYLE_NAMES: ClassVar[tuple[str, ...]] = ("label", *(s.value for s in ServiceStatus), "selected")

    services: reactive[tuple[ServiceView, ...]] = reactive((), init=False)
    """Every service with its status, in config order."""
    selected: reactive[str | None] = reactive(None, init=False)
    """The service the monitors are filtered to (None: every monitor shows)."""

    @dataclass
    class Picked(Message):
        """The operator clicked a service (None: the selected one again, to show every monitor)."""

        service: str | None

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._hits: tuple[Hit, ...] = ()

    def on_mount(self) -> None:
        self.display = bool(self.services)
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.refresh())

    def watch_services(self, services: tuple[ServiceView, ...]) -> None:
        self.display = bool(services)
        self.refresh()

    def watch_selected(self) -> None:
        self.refresh()

    def render(self) -> Text:
        styles = {name: self.get_component_rich_style(f"services-strip--{name}", partial=True)
                  for name in self.STYLE_NAMES}
        text, self._hits = strip_text(self.services, self.selected, self.size.width, styles)
        return text

    def on_click(self, event: events.Click) -> None:
        name = next((name for start, end, name in self._hits if start <= event.x < end), None)
        if name is not None:
            event.stop()
            self.post_message(self.Picked(None if name == self.selected else name))
