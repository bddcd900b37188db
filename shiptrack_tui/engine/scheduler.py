"""When each monitor runs next: a heap of due times on every monitor's stable grid."""

from __future__ import annotations

import heapq
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

    def add(self, name: str, interval: float, now: float) -> None:
        """(Re)start a monitor on its grid; any slot queued for it before is forgotten."""
        self._generation[name] = self._generation.get(name, 0) + 1
        self._intervals[name] = interval
        self._push(first_due(name, interval, now), name, recurring=True)

    def remove(self, name: str) -> None:
        self._intervals.pop(name, None)
        self._generation[name] = self._generation.get(name, 0) + 1

    def run_now(self, name: str, now: float) -> None:
        """An extra, one-off check (the operator's "check now"); the grid is untouched."""
        if name in self._intervals:
            self._push(now, name, recurring=False)

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
