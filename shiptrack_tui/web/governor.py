"""The HTTP server's share of the process, capped so that HTTP load never starves the engine.

The server shares the engine's process and its GIL (DESIGN §11): every millisecond of Python the
server runs is a millisecond the engine's loop may wait to start a check. Caching (renders.py)
makes each answer cheap, but a client asking as fast as it can (wrk, a runaway script) would still
keep the server's threads busy all the time. So requests are admitted against a CPU budget: the
server's own threads (its loop and its worker threads, read from their per-thread CPU clocks) may
use at most `share` of one core; past it, a request waits on the server's loop — using no CPU —
until the budget has refilled. Requests are delayed, never refused.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Final

from starlette.types import ASGIApp, Receive, Scope, Send

SHARE: Final = 0.5
"""Of one core: what the HTTP server may use at most, averaged over about a second."""
BURST: Final = 0.05
"""Seconds of CPU the server may spend ahead of its budget (a short burst after idling)."""
WORKER_PREFIX: Final = "AnyIO worker"
"""anyio names the worker threads that run FastAPI's blocking routes so."""


def server_threads_cpu(loop_thread: int) -> float:
    """CPU seconds used so far by the server's loop thread and its worker threads."""
    total = 0.0
    for thread in threading.enumerate():
        ident = thread.ident
        if ident is None or not (ident == loop_thread or thread.name.startswith(WORKER_PREFIX)):
            continue
        try:
            total += time.clock_gettime(time.pthread_getcpuclockid(ident))
        except OSError:  # the thread ended between the listing and the read
            continue
    return total


class CpuBudget:
    """A token bucket of CPU seconds that refills at `share` per wall-clock second."""

    def __init__(self, share: float = SHARE, burst: float = BURST, *,
                 cpu: Callable[[], float] | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.share = share
        self.burst = burst
        self._cpu = cpu
        self._clock = clock
        self._credit = burst
        self._at: float | None = None
        self._used = 0.0
        self.held = 0  # requests that had to wait
        self.held_seconds = 0.0
        self._queue = asyncio.Lock()  # created unbound: it binds to the server's loop on first use

    def _refresh(self) -> float:
        if self._cpu is None:  # measured on the server's loop thread, where admit() runs
            loop_thread = threading.get_ident()
            self._cpu = lambda: server_threads_cpu(loop_thread)
        now, used = self._clock(), self._cpu()
        if self._at is not None:
            self._credit = min(self.burst, self._credit + (now - self._at) * self.share - (used - self._used))
        self._at, self._used = now, used
        return self._credit

    async def admit(self) -> None:
        """Return when the server is within its budget (at once, nearly always); requests held
        meanwhile are admitted in the order they came."""
        if not self._queue.locked() and self._refresh() >= 0:
            return
        self.held += 1
        started = self._clock()
        async with self._queue:
            credit = self._refresh()
            while credit < 0:
                await asyncio.sleep(-credit / self.share)
                credit = self._refresh()
        self.held_seconds += self._clock() - started


class Governed:
    """ASGI middleware: every HTTP request is admitted by the budget before it runs."""

    def __init__(self, app: ASGIApp, budget: CpuBudget | None = None) -> None:
        self.app = app
        self.budget = budget or CpuBudget()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self.budget.admit()
        await self.app(scope, receive, send)
