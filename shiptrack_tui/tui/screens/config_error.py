"""Shown instead of the dashboard when the configuration cannot be used: the messages, not a traceback."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static


class ConfigErrorScreen(Screen[None]):
    """One line per problem (`PATH:LINE: what is wrong`), how to fix it, and q to quit."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("q", "app.quit", "Quit", id="config-error.quit")]

    def __init__(self, message: str) -> None:
        super().__init__()
        self._message = message

    def compose(self) -> ComposeResult:
        with Vertical(id="config-error"):
            yield Static("ShipTrack cannot start: the configuration has problems", id="config-error-title")
            yield Static(self._message, id="config-error-lines", markup=False)
            yield Static(
                "Fix the lines above in the config file (`shiptrack check-config` shows them too), "
                "then start ShipTrack again. Press q to quit.",
                id="config-error-hint",
            )
        yield Footer()
