"""Push monitors in the engine: apply the pings the HTTP server stored, and record missed ones.

Pings are rows (DESIGN §11), like operator actions: whichever process received them wrote them,
and the engine that owns the monitor applies them in order. Each success or failure becomes a
check result that goes through the same pipeline as a probe's (thresholds, incidents,
notifications, statistics), and its ping row is deleted in the transaction that stores it, so
a ping is applied exactly once across restarts. A start only sets the monitor's `run_started_at`
(stored with its state), from which the next success measures the run.

Missed pings are judged here too, after each read of the ping table: a monitor whose deadline
(core/push.py: interval + grace after its last check, its run's start, or when it began being
watched) has passed gets a failure, "no ping for 1d 1h; expected every 1d"; the next deadline is
then one more interval + grace on. The deadlines sit in a heap; a ping only moves a deadline
later, so a popped entry is checked against the state and put back when it is early.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Final

from shiptrack_tui.core.incidents import step
from shiptrack_tui.core.model import CheckResult, MonitorSpec, MonitorState, Policy
from shiptrack_tui.core.push import Ping, PingKind, deadline, missed, ping_result
from shiptrack_tui.storage.outage import trouble

if TYPE_CHECKING:
    from shiptrack_tui.engine.counters import EngineCounters
    from shiptrack_tui.storage import Store

log = logging.getLogger("shiptrack.engine")

PING_POLL_SECONDS: Final = 0.5
"""Pings are read at least this often without a wake-up (one written by another process)."""
PING_BATCH: Final = 5000
MIN_STEP: Final = 0.001
"""A push monitor's checks are at least a millisecond apart: a check's key is (monitor, ms)."""


class PushMonitors:
    """The engine's half that runs push monitors; mixed into `Engine`."""

    store: Store
    clock: Callable[[], float]
    counters: EngineCounters
    _specs: dict[str, MonitorSpec]
    _states: dict[str, MonitorState]
    _submit: Callable[..., None]
    _maintenance_for: Callable[[MonitorSpec, float], bool]
    _owns: Callable[[str], bool]  # engine/cluster.py: this node runs the monitor (always, alone)

    def _init_push(self) -> None:
        self._pings_due = asyncio.Event()  # the HTTP server stored pings: read them now
        self._last_ping_id = 0
        self._pings_read = False  # misses are judged only once the stored pings have been applied
        self._push_floor: dict[str, float] = {}  # when a monitor without checks began being watched
        self._push_due: dict[str, float] = {}  # each watched monitor's deadline, as queued
        self._push_heap: list[tuple[float, str]] = []

    # -- the loop ---------------------------------------------------------------------------------
    async def _ping_loop(self) -> None:
        while True:
            self._pings_due.clear()  # before reading: a wake-up during the read is not lost
            try:
                await self._take_pings()
                self._pings_read = True
                self._record_misses(self.clock())
            except Exception as error:
                trouble(self.store.outage, error, "could not apply pings", log)
            wait = PING_POLL_SECONDS
            if self._push_heap:
                wait = max(0.0, min(wait, self._push_heap[0][0] - self.clock()))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._pings_due.wait()

    async def _take_pings(self) -> None:
        while True:
            pings = await asyncio.to_thread(self.store.pending_pings, self._last_ping_id, PING_BATCH)
            stray = [ping.id for ping in pings if not self._apply_ping(ping)]
            if pings:
                self._last_ping_id = pings[-1].id
            if stray:
                log.debug("%d pings dropped: their monitors are no longer push monitors", len(stray))
                await asyncio.to_thread(self.store.delete_pings, stray)
            if len(pings) < PING_BATCH:
                return

    # -- pings ------------------------------------------------------------------------------------
    def _apply_ping(self, ping: Ping) -> bool:
        """Fold one ping into its monitor; False when it applies to no push monitor."""
        spec = self._specs.get(ping.monitor)
        if spec is None or not spec.push:
            return False
        if not self._owns(spec.name):
            return True  # another node's: left in the table for it
        state = self._states[spec.name]
        if ping.kind is PingKind.START:
            state = replace(state, run_started_at=ping.at)
            self._states[spec.name] = state
            self._submit(spec, state, [], ping_ids=(ping.id,))
            return True
        last = state.last_check_at
        at = ping.at if last is None or ping.at >= last + MIN_STEP else last + MIN_STEP
        result = ping_result(spec, ping.kind, at, state.run_started_at, ping.message,
                             self._maintenance_for(spec, at))
        self._fold(spec, result, ping_ids=(ping.id,), run_started_at=None)
        return True

    def _fold(self, spec: MonitorSpec, result: CheckResult, run_started_at: float | None,
              **extra: object) -> None:
        state, events = step(self._states[spec.name], result, Policy.of(spec))
        state = replace(state, run_started_at=run_started_at)
        self._states[spec.name] = state
        self.counters.checks += 1
        self.counters.count(spec.name, result.outcome)
        self._submit(spec, state, events, result=result, **extra)

    # -- deadlines --------------------------------------------------------------------------------
    def _record_misses(self, now: float) -> None:
        """A failure for every watched monitor whose deadline has passed without a ping."""
        heap = self._push_heap
        while heap and heap[0][0] <= now:
            due, name = heapq.heappop(heap)
            if self._push_due.get(name) != due:
                continue  # superseded by a later entry
            spec = self._specs.get(name)
            state = self._states.get(name)
            if spec is None or not spec.push or state is None or state.paused or not self._owns(name):
                self._push_due.pop(name, None)  # a resume or a config change watches it again
                continue
            real = deadline(spec, state, self._push_floor.get(name))
            if real > now:
                self._queue(name, real)  # a ping came meanwhile
                continue
            result = missed(spec, now, self._maintenance_for(spec, now))
            self._fold(spec, result, run_started_at=state.run_started_at)
            self._queue(name, deadline(spec, self._states[name], self._push_floor.get(name)))

    def _queue(self, name: str, at: float) -> None:
        self._push_due[name] = at
        heapq.heappush(self._push_heap, (at, name))

    def _watch_push_monitors(self) -> None:
        """(Re)compute every push monitor's deadline after a config change; forget the others."""
        now = self.clock()
        for name in [n for n in self._push_due if n not in self._specs or not self._specs[n].push]:
            del self._push_due[name]
            self._push_floor.pop(name, None)
        for name, spec in self._specs.items():
            if not spec.push:
                continue
            state = self._states[name]
            if state.last_check_at is None and state.run_started_at is None:
                self._push_floor.setdefault(name, now)  # "since the monitor started"
            if not state.paused:
                self._push_due[name] = deadline(spec, state, self._push_floor.get(name))
        # Rebuilt rather than pushed onto: reloads must not pile up entries that wait a day to go.
        self._push_heap = [(due, name) for name, due in self._push_due.items()]
        heapq.heapify(self._push_heap)
        self._pings_due.set()  # look at the heap again

    def _push_resumed(self, name: str) -> None:
        """A resumed push monitor gets a whole interval + grace from now before a ping is missed."""
        spec = self._specs.get(name)
        if spec is None or not spec.push:
            return
        self._push_floor[name] = self.clock()
        self._queue(name, deadline(spec, self._states[name], self._push_floor[name]))
        self._pings_due.set()
