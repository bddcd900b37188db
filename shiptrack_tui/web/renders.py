"""Expensive GET answers computed once and shared, within a stated freshness bound.

`/api/v1/monitors` for 1,000 monitors costs about 250 ms of Python (the same statistics as
`status --json`), and the server shares the engine's process and GIL: ten clients asking at once
must not cost ten computations. So, per key (the route and its query):

- at most one computation runs at a time, on a worker thread; everyone asking meanwhile awaits it
  on the server's loop (no worker thread is held waiting);
- an answer is served to a request that arrived at most `max_age` seconds after its computation
  started (1 s: every answer reflects the database as of at most 1 s before the request, or, when
  one computation takes longer than that, the first one that starts after it arrived);
- a write through this API that the engine applied makes every stored answer stale at once, so a
  client reads its own writes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Final

from fastapi.concurrency import run_in_threadpool

MAX_AGE: Final = 1.0
"""Seconds an answer stays fresh after its computation started (docs/http.md)."""
MAX_KEYS: Final = 256
"""Past this many keys (queries are keys: clients choose them), stale ones are forgotten."""


@dataclass(slots=True)
class _Answer:
    started: float
    generation: int
    body: bytes


@dataclass(slots=True)
class _Slot:
    answer: _Answer | None = None
    running: asyncio.Task[_Answer] | None = None
    computations: int = 0


@dataclass
class RenderCache:
    """Shared answers per key; `get` is called on the server's loop."""

    max_age: float = MAX_AGE
    clock: Callable[[], float] = time.monotonic
    _slots: dict[Hashable, _Slot] = field(default_factory=dict)
    _generation: int = 0

    def invalidate(self) -> None:
        """Every stored answer is stale from now on (a write was applied); safe from any thread."""
        self._generation += 1

    def __len__(self) -> int:
        """Keys held (an answer, or a computation running)."""
        return len(self._slots)

    def computations(self, key: Hashable) -> int:
        """How many times `key` was computed (for tests and the benchmark)."""
        slot = self._slots.get(key)
        return 0 if slot is None else slot.computations

    def _fresh(self, answer: _Answer | None, asked: float) -> bool:
        return (answer is not None and answer.generation == self._generation
                and answer.started >= asked - self.max_age)

    async def get(self, key: Hashable, compute: Callable[[], bytes]) -> bytes:
        """The answer for `key`: a fresh stored one, the running computation's if it is fresh
        enough, or a new computation of `compute()` (on a worker thread) after the running one."""
        asked = self.clock()
        if len(self._slots) >= MAX_KEYS:
            self._forget_stale(asked)
        slot = self._slots.setdefault(key, _Slot())
        while True:
            if slot.answer is not None and self._fresh(slot.answer, asked):
                return slot.answer.body
            running = slot.running
            if running is None:
                running = slot.running = asyncio.ensure_future(self._compute(slot, compute))
                running.add_done_callback(_retrieved)
            # Shielded: a client that goes away must not cancel an answer others wait for.
            answer = await asyncio.shield(running)
            if self._fresh(answer, asked):
                return answer.body

    def _forget_stale(self, now: float) -> None:
        for key, slot in list(self._slots.items()):
            if slot.running is None and not self._fresh(slot.answer, now):
                del self._slots[key]

    async def _compute(self, slot: _Slot, compute: Callable[[], bytes]) -> _Answer:
        started, generation = self.clock(), self._generation
        slot.computations += 1
        try:
            body = await run_in_threadpool(compute)
        finally:
            slot.running = None
        slot.answer = _Answer(started, generation, body)
        return slot.answer


def _retrieved(task: asyncio.Task[_Answer]) -> None:
    """A failed computation whose askers all went away is not "never retrieved": they were told."""
    if not task.cancelled():
        task.exception()
