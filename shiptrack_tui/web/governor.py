"""Admission of HTTP requests: the engine's loop first, and the server held to a CPU budget.

The server shares the engine's process and its GIL (DESIGN §11): every millisecond of Python the
server runs is a millisecond the engine's loop may wait to start a check. Shared answers
(renders.py) make each answer cheap, but a client asking as fast as it can (wrk, a runaway script)
keeps the server's threads busy all the time. So, before it runs, every request is admitted:

1. the engine's loop must be keeping up: a no-op posted to it must have run within `LAG_LIMIT`
   (measured only while requests arrive, at most every `PROBE_EVERY`). While it lags — HTTP load,
   its own burst of checks, or other processes taking the CPU — requests wait, in order, on the
   server's loop, using no CPU, each until a probe sent after it came to the head of the queue
   is answered in time: while the loop lags, its responsiveness paces them. Each waits `MAX_HOLD`
   at most, so the server stays answerable;
2. the server's own threads (its loop and its worker threads, by their per-thread CPU clocks) may
   use at most `share` of one core; past it, requests wait until the budget has refilled.

Requests are delayed, never refused; `/metrics` counts the held ones.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Final

from starlette.types import ASGIApp, Receive, Scope, Send

SHARE: Final = 0.5
"""Of one core: what the HTTP server may use at most, averaged over about a second."""
BURST: Final = 0.05
"""Seconds of CPU the server may spend ahead of its budget (a short burst after idling)."""
LAG_LIMIT: Final = 0.05
"""How late the engine's loop may run a posted no-op before requests wait for it."""
PROBE_EVERY: Final = 0.02
MAX_HOLD: Final = 1.0
"""The longest a request waits for the engine's loop to catch up."""
LAG_POLL: Final = 0.005
WORKER_PREFIX: Final = "AnyIO worker"
"""anyio names the worker threads that run FastAPI's blocking routes so."""

UNBUDGETED_PREFIXES: list[str] = ["/push/"]
"""Paths under these prefixes skip the CPU budget (never the engine's check): a router whose
requests are each tiny and must keep up with a high rate adds its prefix here. Push pings do: a
cron fleet's pings must be stored as they come (README: ≥ 2,000/s), and each costs microseconds."""

Post = Callable[[Callable[[], object]], bool]
"""Run a callback on the engine's loop soon (thread-safe); False when no engine runs."""


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


class EngineLag:
    """How long the engine's loop takes to run a no-op posted to it: how far behind it is."""

    def __init__(self, post: Post, clock: Callable[[], float] = time.monotonic) -> None:
        self._post = post
        self._clock = clock
        self._sent: float | None = None  # the unanswered probe's send time
        self._last_sent = -math.inf
        self._lag = 0.0  # the latest answered probe's
        self._answered_sent = -math.inf  # when the latest answered probe was sent

    def current(self) -> float:
        """The lag now: the latest probe's, or longer while one is still unanswered."""
        now = self._clock()
        sent = self._sent
        if sent is not None:
            return max(self._lag, now - sent)
        if now - self._last_sent >= PROBE_EVERY:
            self._probe(now)
        return self._lag

    def answered_since(self, at: float) -> bool:
        """Whether a probe sent at `at` or later has been answered."""
        return self._answered_sent >= at

    def _probe(self, now: float) -> None:
        def answered() -> None:  # on the engine's loop
            self._lag = self._clock() - now
            self._answered_sent = now
            self._sent = None

        self._sent = self._last_sent = now
        if not self._post(answered):  # no engine running: nothing to give way to
            self._sent = None
            self._lag = 0.0
            self._answered_sent = now


class Governor:
    """Admits requests (see the module's docstring); `admit()` runs on the server's loop."""

    def __init__(self, share: float = SHARE, burst: float = BURST, *, engine: EngineLag | None = None,
                 cpu: Callable[[], float] | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.share = share
        self.burst = burst
        self.engine = engine
        self._cpu = cpu
        self._clock = clock
        self._credit = burst
        self._at: float | None = None
        self._used = 0.0
        self._queue = asyncio.Lock()  # created unbound: it binds to the server's loop on first use
        self.held = 0  # requests that had to wait
        self.held_seconds = 0.0

    def _refresh(self) -> float:
        """The CPU credit left now (negative: over budget)."""
        if self._cpu is None:  # measured from the server's loop thread, where admit() runs
            loop_thread = threading.get_ident()
            self._cpu = lambda: server_threads_cpu(loop_thread)
        now, used = self._clock(), self._cpu()
        if self._at is not None:
            self._credit = min(self.burst, self._credit + (now - self._at) * self.share - (used - self._used))
        self._at, self._used = now, used
        return self._credit

    def _engine_keeps_up(self, since: float | None = None) -> bool:
        """The engine's loop is within LAG_LIMIT (by a probe sent at `since` or later, if given)."""
        engine = self.engine
        if engine is None:
            return True
        return engine.current() <= LAG_LIMIT and (since is None or engine.answered_since(since))

    async def admit(self, budgeted: bool = True) -> None:
        """Return when the request may run (at once, nearly always); held ones go in order.
        `budgeted=False`: only the engine's check applies (and such requests queue behind none)."""
        if not budgeted:
            if not self._engine_keeps_up():
                await self._held(self._wait_for_engine())
            return
        if not self._queue.locked() and self._engine_keeps_up() and self._refresh() >= 0:
            return
        await self._held(self._queued())

    async def _held(self, waiting: Coroutine[object, object, None]) -> None:
        self.held += 1
        started = self._clock()
        await waiting
        self.held_seconds += self._clock() - started

    async def _queued(self) -> None:
        async with self._queue:
            if not self._engine_keeps_up():
                await self._wait_for_engine()
            credit = self._refresh()
            while credit < 0:
                await asyncio.sleep(-credit / self.share)
                credit = self._refresh()

    async def _wait_for_engine(self) -> None:
        """Until a probe sent from now on is answered within the limit, or MAX_HOLD has passed."""
        since = self._clock()
        deadline = since + MAX_HOLD
        while not self._engine_keeps_up(since) and self._clock() < deadline:
            await asyncio.sleep(LAG_POLL)


class Governed:
    """ASGI middleware: every HTTP request is admitted by the governor before it runs."""

    def __init__(self, app: ASGIApp, governor: Governor) -> None:
        self.app = app
        self.governor = governor

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            await self.governor.admit(not any(path.startswith(p) for p in UNBUDGETED_PREFIXES))
        await self.app(scope, receive, send)
