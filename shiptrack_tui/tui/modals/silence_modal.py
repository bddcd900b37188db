"""Silence a monitor or one of its tags for a while; returns the request and writes nothing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, RadioButton, RadioSet

from shiptrack_tui.core.model import SilenceScope
from shiptrack_tui.core.silences import SILENCE_CHOICES, SilenceRequest, SilenceTarget


class SilenceModal(ModalScreen[SilenceRequest | None]):
    """Scope: this monitor or one of its tags; length: 15 min, 1 h, 4 h or until resolved."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="silence.cancel"),
    ]

    def __init__(self, monitor: str, tags: Sequence[str]) -> None:
        super().__init__()
        self._targets = [SilenceTarget(SilenceScope.MONITOR, monitor),
                         *(SilenceTarget(SilenceScope.TAG, tag) for tag in tags)]

    def compose(self) -> ComposeResult:
        with Vertical(id="silence-dialog"):
            yield Label("Silence notifications (checks keep running)", id="silence-title")
            with Horizontal(id="silence-choices"):
                with RadioSet(id="silence-scope"):
                    for index, target in enumerate(self._targets):
                        label = f"monitor {target.value}" if index == 0 else target.label
                        yield RadioButton(label, value=index == 0, id=f"silence-scope-{index}")
                with RadioSet(id="silence-length"):
                    for index, (label, _seconds) in enumerate(SILENCE_CHOICES):
                        yield RadioButton(label, value=index == 1, id=f"silence-length-{index}")
            with Horizontal(id="silence-buttons"):
                yield Button("Silence", variant="primary", id="silence-ok")
                yield Button("Cancel", id="silence-cancel")

    def request(self) -> SilenceRequest:
        scope = self.query_one("#silence-scope", RadioSet).pressed_index
        length = self.query_one("#silence-length", RadioSet).pressed_index
        target = self._targets[max(scope, 0)]
        return SilenceRequest(target, SILENCE_CHOICES[max(length, 0)][1])

    @on(Button.Pressed, "#silence-ok")
    def _confirm(self) -> None:
        self.dismiss(self.request())

    @on(Button.Pressed, "#silence-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
