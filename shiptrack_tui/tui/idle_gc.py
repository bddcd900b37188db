"""Full garbage collections while the operator is idle, not on top of a key press.

CPython's automatic full (generation 2) collection walks every tracked object. With 1,000
monitors on screen that is ~135,000 objects and 70–130 ms on a small machine, and while checks
land it struck every few seconds: each one a key press that waited for it (the `keys` bench
traced half its slow presses to it). Young generations still collect automatically (a few ms at
most); the full collection runs from a timer once no key or mouse event has arrived for
`IDLE_SECONDS`, or after `LONGEST_WAIT_SECONDS` in any case, so unreachable cycles that reached
the old generation are still freed.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Final

IDLE_SECONDS: Final = 2.0
"""Quiet input for this long makes a good moment for a full collection."""
EVERY_SECONDS: Final = 30.0
"""At most one full collection this often."""
LONGEST_WAIT_SECONDS: Final = 300.0
"""A full collection runs after this long even if the operator never stops typing."""
NEVER: Final = 2**31 - 1
"""A generation-2 threshold no count reaches: automatic full collections stop."""


class IdleCollector:
    """Owns the interpreter's full collections between `start` and `stop` (restoring thresholds)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._saved: tuple[int, int, int] | None = None
        self._last_input = clock()
        self._last_full = clock()
        self.full_collections = 0

    def start(self) -> None:
        if self._saved is None:
            young, middle, _full = self._saved = gc.get_threshold()
            gc.set_threshold(young, middle, NEVER)
        self._last_input = self._last_full = self._clock()

    def stop(self) -> None:
        if self._saved is not None:
            gc.set_threshold(*self._saved)
            self._saved = None

    @property
    def last_input(self) -> float:
        return self._last_input

    def input_seen(self) -> None:
        """A key or mouse event arrived: the operator is at the keyboard."""
        self._last_input = self._clock()

    def due(self) -> bool:
        now = self._clock()
        since_full = now - self._last_full
        if since_full >= LONGEST_WAIT_SECONDS:
            return True
        return since_full >= EVERY_SECONDS and now - self._last_input >= IDLE_SECONDS

    def tick(self) -> bool:
        """Run a full collection if one is due; True if it ran."""
        if self._saved is None or not self.due():
            return False
        gc.collect()
        self._last_full = self._clock()
        self.full_collections += 1
        return True
