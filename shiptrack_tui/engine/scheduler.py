"""When each monitor runs next: a heap of due times on every monitor's stable grid.

Due times are on the monotonic clock, so a step of the wall clock (NTP, a resumed VM) neither
stops checks nor fires them all at once; only the grid's phase is taken from the wall clock.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field

from shiptrack_tui.core.schedule import first_due, next_due


@dataclass(order=True, slots=True)
class _Slot:
    due: float
    seq: int
    name: str = field(compare=False)
    generation: int = field(compare=False)
    recurring: bool = field(compare=False, default=True)


@dataclass(slots=True)
class DueCheck:
    """A check whose time has come; `due` is the slot it belongs to, for lateness figures."""

    name: str
    due: float
    recurring: bool


class Schedule:
    """Due times that advance by the interval (no drift), invalidated cheaply on reload."""

    def __init__(self) -> None:
        self._heap: list[_Slot] = []
        self._intervals: dict[str, float] = {}
        self._generation: dict[str, int] = {}
        self._seq = 0
        self.skipped = 0

    def __len__(self) -> int:
        return len(self._intervals)

    def _push(self, due: float, name: str, recurring: bool) -> None:
        self._seq += 1
        heapq.heappush(self._heap, _Slot(due, self._seq, name, self._generation[name], recurring))

    def add(self, name: str, interval: float, now: float, wall: float | None = None) -> None:
        """(Re)start a monitor on its grid; any slot queued for it before is forgotten.

        `now` is the monotonic time; `wall` (the wall-clock time at the same instant) keeps the
        monitor's phase stable across restarts, as `first_due` places it on the wall clock.
        """
        self._generation[name] = self._generation.get(name, 0) + 1
        self._intervals[name] = interval
        phase_now = now if wall is None else wall
        self._push(first_due(name, interval, phase_now) - phase_now + now, name, recurring=True)

    def remove(self, name: str) -> None:
        self._intervals.pop(name, None)
        self._generation[name] = self._generation.get(name, 0) + 1

    def run_now(self, name: str, now: float | None = None) -> None:
        """An extra, one-off check (the operator's "check now") at the next look; the grid is
        untouched. `now` is not needed: the slot sorts before every other, whichever clock."""
        del now
        if name in self._intervals:
            self._push(-math.inf, name, recurring=False)

    def next_wake(self) -> float | None:
        """When the earliest slot is due, after dropping stale ones."""
        while self._heap and self._is_stale(self._heap[0]):
            heapq.heappop(self._heap)
        return self._heap[0].due if self._heap else None

    def _is_stale(self, slot: _Slot) -> bool:
        return self._generation.get(slot.name) != slot.generation or slot.name not in self._intervals

    def pop_due(self, now: float) -> list[DueCheck]:
        """Every check due at `now`; recurring monitors are re-queued on their grid."""
        ready: list[DueCheck] = []
        while self._heap and self._heap[0].due <= now:
            slot = heapq.heappop(self._heap)
            if self._is_stale(slot):
                continue
            ready.append(DueCheck(slot.name, slot.due, slot.recurring))
            if slot.recurring:
                following, skipped = next_due(slot.due, self._intervals[slot.name], now)
                self.skipped += skipped
                self._push(following, slot.name, recurring=True)
        return ready
