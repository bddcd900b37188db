"""The services strip: each `[[service]]` with its derived status in symbol, word and colour.

`Services  ✖ Checkout outage  ◐ Search degraded  ● Docs operational`. The screen sets `services`
and the service the monitors are filtered to (`selected`); a click on a service posts `Picked`
(attributes down, messages up). A strip too narrow for every service names those in trouble and
the selected one, and counts the rest (`● 12 more operational`). No services: no strip.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar, Final

from rich.style import Style
from rich.text import Text
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
CLEAR_HINT: Final = "esc: all monitors"


def chip(view: ServiceView) -> str:
    return f"{SERVICE_SYMBOLS[view.status]} {view.name} {view.status.value}"


def strip_text(views: Sequence[ServiceView], selected: str | None, width: int,
               styles: Mapping[str, Style]) -> Text:
    """The strip at `width` cells: every service if they fit, else those in trouble (and the
    selected one) and a count of the others; a click on a service picks it (`pick(index)`)."""
    shown = list(enumerate(views))
    rest = 0
    if len(LABEL) + sum(len(chip(view)) + 2 for view in views) > width:
        shown = [(i, v) for i, v in shown if v.status is not ServiceStatus.OPERATIONAL or v.name == selected]
        rest = len(views) - len(shown)
    text = Text(no_wrap=True, overflow="ellipsis", end="")
    text.append(LABEL, style=styles.get("label", ""))
    for index, view in shown:
        style = styles.get(view.status.value, Style())
        if view.name == selected:
            style += styles.get("selected", Style())
        text.append(" ")
        text.append(chip(view), style=style + Style(meta={"@click": f"pick({index})"}))
        text.append(" ")
    if rest:
        more = f" {SERVICE_SYMBOLS[ServiceStatus.OPERATIONAL]} {rest} more operational"
        text.append(more, style=styles.get(ServiceStatus.OPERATIONAL.value, ""))
    if selected is not None and text.cell_len + len(CLEAR_HINT) + 3 <= width:
        text.append(f"  {CLEAR_HINT}", style=styles.get("hint", "") + Style(meta={"@click": "pick(-1)"}))
    return text


class ServicesStrip(Widget):
    """One line under the header; hidden when the config declares no service."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "services-strip--label",
        "services-strip--operational",
        "services-strip--degraded",
        "services-strip--outage",
        "services-strip--maintenance",
        "services-strip--selected",
        "services-strip--hint",
    }
    STYLE_NAMES: ClassVar[tuple[str, ...]] = ("label", *(s.value for s in ServiceStatus), "selected", "hint")

    services: reactive[tuple[ServiceView, ...]] = reactive((), init=False)
    """Every service with its status, in config order."""
    selected: reactive[str | None] = reactive(None, init=False)
    """The service the monitors are filtered to (None: every monitor shows)."""

    @dataclass
    class Picked(Message):
        """The operator clicked a service (None: the hint that shows every monitor again)."""

        service: str | None

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
        return strip_text(self.services, self.selected, self.size.width, styles)

    def action_pick(self, index: int) -> None:
        if index < 0:
            self.post_message(self.Picked(None))
        elif index < len(self.services):
            name = self.services[index].name
            self.post_message(self.Picked(None if name == self.selected else name))
