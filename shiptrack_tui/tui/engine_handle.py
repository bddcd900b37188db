"""The dashboard's view of an in-process engine: an interface, so the TUI never imports the engine."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from shiptrack_tui.config import Config


class EngineHandle(Protocol):
    """What the dashboard needs from an engine that runs on its own thread (DESIGN §4)."""

    def start(self) -> None:
        """Start the engine thread; returns at once."""

    def stop(self, timeout: float | None = None) -> None:
        """Finish in-flight work, flush every write and join the thread (blocking; by default
        for as long as that takes, so that the store is never closed under a flush)."""

    def wake(self) -> None:
        """Apply pending operator actions now instead of at the next tick."""

    def add_listener(self, callback: Callable[[set[str]], None]) -> None:
        """Call `callback` from the engine thread with the names of monitors whose data changed."""

    def reload(self, config: Config) -> None:
        """Run with this config from now on (the dashboard saved the file); returns at once."""
