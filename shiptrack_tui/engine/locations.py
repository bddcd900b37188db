"""Confirmation from several locations (DESIGN §12): the two parts a node plays in a multi-location
monitor (one with `locations`).

- Location checker. Holding the lease (m, L), this node probes m on m's interval (from its own
  source address, `[cluster] source_address`), keeps L's run of failures (core/locations.record)
  and writes L's latest state to `location_state`, fenced by that lease's epoch: a node that lost
  the lease writes nothing, and forgets the key. A node that takes a key over continues the run
  stored by the one before.
- Owner. Holding (m, ""), the node never probes m itself: on each of m's slots the engine asks
  `folded(spec)` for one result made of the locations' latest states (core/locations.fold) and
  runs it through the ordinary pipeline, so uptime, incidents, notifications and the timeline
  work as for any monitor. The result is DOWN when at least `confirm` locations each reached the
  failure threshold; DEGRADED when some location's last check failed but fewer than `confirm`
  confirm it (reachable from some places, not from others: shown, counted as up, no incident);
  else UP. Its reason says where ("HTTP 503 from eu-west, us-east; ok from ap-south"); its latency
  is the median of the latest latencies of the locations that reached it. The thresholds were
  applied per location, so the folded results go through `policy(spec)`: one DOWN opens, one UP
  (or DEGRADED) resolves.

Storage is reached through a `LocationBook` (storage/locations.py on PostgreSQL), always on a worker
thread: the engine's loop never waits on the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import statistics
import time
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from typing import Protocol

from shiptrack_tui.core.evaluation import evaluate
from shiptrack_tui.core.locations import LocationState, LocationStatus, fold, record
from shiptrack_tui.core.model import CheckResult, MonitorSpec, Observation, Outcome, Policy
from shiptrack_tui.engine.actions import log_task_failure
from shiptrack_tui.engine.cluster import CHORES
from shiptrack_tui.engine.scheduler import Schedule
from shiptrack_tui.storage.cluster import LeaseKey, LocationResult
from shiptrack_tui.storage.cluster import LocationState as StoredLocation

log = logging.getLogger("shiptrack.engine")

STALE_INTERVALS = 3
"""A location's latest state counts for this many of the monitor's intervals (plus its timeout);
older, it is "no data": its node is gone and nobody has taken the key over yet."""
WRITE_RETRY_SECONDS = 1.0


class LocationBook(Protocol):
    """Where location states live; called on a worker thread."""

    def write(self, node: str, held: Mapping[LeaseKey, int], results: Sequence[LocationResult]
              ) -> set[LeaseKey]:
        """Store each result fenced by its key's epoch in `held`; return the keys written."""
        ...

    def read(self, monitors: Collection[str]) -> list[StoredLocation]:
        """The latest stored state of every location of these monitors."""
        ...

    def drop(self, keep: Collection[LeaseKey]) -> int:
        """Delete the states of every location key not in `keep`; return how many."""
        ...

    def close(self) -> None:
        """Let go of the connection (a later call may open another)."""
        ...


Prober = Callable[[MonitorSpec], Awaitable[Observation]]
Source = Callable[[], "tuple[object, Mapping[LeaseKey, int]]"]
"""What the engine says now: its config (anything with `.monitors`; a new object when reloaded) and
the leases it holds with their epochs (engine/cluster.py; {} while it cannot trust them)."""
SYNC_SECONDS = 1.0
"""How often the held location keys are compared with the engine's leases (a scan of them: a
node holding 20,000 keys spends a few ms on it). A key lost meanwhile costs at most a probe whose
result is discarded; its write would be fenced anyway."""


def is_multi_location(spec: MonitorSpec) -> bool:
    return bool(spec.locations) and not spec.push


def policy(spec: MonitorSpec) -> Policy:
    """The folded results' thresholds: each location already counted its own run of failures."""
    return Policy(failure_threshold=1, recovery_threshold=1, severity=spec.severity)


def stale_after(spec: MonitorSpec) -> float:
    return STALE_INTERVALS * spec.interval + spec.timeout


def to_core(stored: LocationResult, interval: float) -> LocationState:
    """A stored location state as core/locations reads it. The row keeps no start of the run of
    failures; it is put `failures - 1` intervals before the latest check."""
    first = stored.checked_at - (stored.failures - 1) * interval if stored.failures else None
    return LocationState(consecutive_failures=stored.failures, first_failure_at=first, reason=stored.reason,
                         outcome=Outcome.UP if stored.ok else Outcome.DOWN, last_check_at=stored.checked_at,
                         latency_ms=stored.latency_ms)


def to_stored(monitor: str, location: str, state: LocationState) -> LocationResult:
    assert state.last_check_at is not None
    return LocationResult(monitor=monitor, location=location, ok=state.outcome is not Outcome.DOWN,
                          failures=state.consecutive_failures, reason=state.reason,
                          latency_ms=state.latency_ms, checked_at=state.last_check_at)


def fold_result(spec: MonitorSpec, stored: Sequence[LocationResult], now: float,
                in_maintenance: bool = False) -> CheckResult | None:
    """One result for the pipeline from the locations' latest states; None when no location has a
    recent one (there is nothing to say: the monitor keeps its state)."""
    states = {row.location: to_core(row, spec.interval) for row in stored if row.monitor == spec.name}
    verdict = fold(states, spec.locations, spec.confirm, now, stale_after(spec),
                   failure_threshold=spec.failure_threshold)
    fresh = [report.state for report in verdict.locations
             if report.status is not LocationStatus.NO_DATA and report.state is not None]
    if not fresh:
        return None
    # A refused connection's time is no latency of the site: only locations that reached it count.
    latencies = [state.latency_ms for state in fresh
                 if state.latency_ms is not None and state.outcome is not Outcome.DOWN]
    if verdict.down:
        outcome = Outcome.DOWN
    elif any(state.outcome is Outcome.DOWN for state in fresh):
        outcome = Outcome.DEGRADED
    else:
        outcome = Outcome.UP
    return CheckResult(
        monitor=spec.name, at=now, outcome=outcome,
        latency_ms=statistics.median(latencies) if latencies else None,
        reason=verdict.reason, in_maintenance=in_maintenance,
    )


def _slot_name(key: LeaseKey) -> str:
    """The schedule's name for a location key: its own phase on the monitor's interval."""
    return f"{key[0]}\x00{key[1]}"


class LocationChecks:
    """A node's location checkers: what it probes for the location keys it holds, and the writes."""

    def __init__(self, book: LocationBook, node: str, prober: Prober, *,
                 clock: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic, source: Source | None = None) -> None:
        self.book = book
        self._source = source
        self._config_seen: object = None
        self._cleaned: object = None  # the config whose gone locations were last dropped from storage
        self._synced_at = -SYNC_SECONDS
        self.node = node
        self._prober = prober
        self.clock = clock
        self.monotonic = monotonic
        self._specs: dict[str, MonitorSpec] = {}
        self._held: dict[LeaseKey, int] = {}  # (monitor, location) -> lease epoch
        self._states: dict[LeaseKey, LocationState] = {}
        self._seeded: set[LeaseKey] = set()  # keys whose stored run was read (or found absent)
        self._schedule = Schedule()
        self._keys: dict[str, LeaseKey] = {}  # schedule name -> key
        self._in_flight: dict[LeaseKey, asyncio.Task[None]] = {}
        self._unwritten: dict[LeaseKey, LocationResult] = {}  # the latest per key: bounded by the keys
        self._changed = asyncio.Event()
        self._written = asyncio.Event()
        self.checks = 0
        self.fenced = 0

    # -- what to check ------------------------------------------------------------------------
    def configure(self, specs: Mapping[str, MonitorSpec]) -> None:
        """The monitors as configured now; keys of a monitor gone or changed are re-planned."""
        before = self._specs
        self._specs = {name: spec for name, spec in specs.items() if is_multi_location(spec)}
        for key in list(self._held):
            old, new = before.get(key[0]), self._specs.get(key[0])
            if new is None or key[1] not in new.locations:
                self._drop(key)
            elif old is None or old.interval != new.interval:
                self._plan(key)
        self._changed.set()

    def hold(self, held: Mapping[LeaseKey, int]) -> None:
        """The location keys (slot != "") this node holds now, with their epochs; others are dropped.
        Keys of locations the config does not list (any more) are left alone."""
        wanted = self._checkable(held)
        for key in list(self._held):
            if key not in wanted or wanted[key] != self._held[key]:
                self._drop(key)
        for key, epoch in wanted.items():
            if key not in self._held:
                self._held[key] = epoch
                self._plan(key)
        self._changed.set()

    def _checkable(self, held: Mapping[LeaseKey, int]) -> dict[LeaseKey, int]:
        return {key: epoch for key, epoch in held.items()
                if key[1] and key[0] in self._specs and key[1] in self._specs[key[0]].locations}

    @property
    def held(self) -> dict[LeaseKey, int]:
        return dict(self._held)

    def state(self, key: LeaseKey) -> LocationState | None:
        return self._states.get(key)

    def _plan(self, key: LeaseKey) -> None:
        spec = self._specs.get(key[0])
        if spec is None or key[1] not in spec.locations:
            return
        name = _slot_name(key)
        self._keys[name] = key
        self._schedule.add(name, spec.interval, self.monotonic(), wall=self.clock())

    def _drop(self, key: LeaseKey) -> None:
        self._held.pop(key, None)
        self._states.pop(key, None)
        self._seeded.discard(key)
        self._unwritten.pop(key, None)
        self._schedule.remove(_slot_name(key))
        self._keys.pop(_slot_name(key), None)

    # -- running ------------------------------------------------------------------------------
    async def run(self) -> None:
        """Probe the held keys on their slots and write their states, until cancelled."""
        writer = asyncio.create_task(self._write_loop(), name="location-writes")
        try:
            while True:
                now = self.monotonic()
                self._sync(now)
                for due in self._schedule.pop_due(now):
                    self._launch(self._keys.get(due.name))
                wake_at = self._schedule.next_wake()
                until = SYNC_SECONDS if wake_at is None else wake_at - self.monotonic()
                delay = max(0.0, min(until, SYNC_SECONDS))
                self._changed.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await self._changed.wait()
        finally:
            writer.cancel()
            tasks = [writer, *self._in_flight.values()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if self._unwritten:  # a last try: the next node continues from what is stored
                with contextlib.suppress(Exception):
                    await self._write_once()
            await asyncio.to_thread(self.book.close)

    def _sync(self, now: float) -> None:
        """Follow the engine: its config as soon as it changed, the location keys it holds now at
        least every SYNC_SECONDS."""
        if self._source is None:
            return
        config, held = self._source()
        reloaded = config is not self._config_seen
        if reloaded:
            self._config_seen = config
            self.configure({spec.name: spec for spec in getattr(config, "monitors", ())})
        if not reloaded and now - self._synced_at < SYNC_SECONDS:
            return
        self._synced_at = now
        if self._checkable(held) != self._held:
            self.hold(held)
        if CHORES in held and self._cleaned is not config:
            self._cleaned = config
            keep = [(name, location) for name, spec in self._specs.items() for location in spec.locations]
            task = asyncio.create_task(self._drop_gone(keep), name="location-cleanup")
            task.add_done_callback(log_task_failure)

    async def _drop_gone(self, keep: list[LeaseKey]) -> None:
        """The chores holder: forget the states of locations no monitor lists any more."""
        try:
            dropped = await asyncio.to_thread(self.book.drop, keep)
        except Exception as exc:  # harmless: readers list them after the configured ones; next change
            log.warning("cannot drop the states of removed locations: %s", exc)
            return
        if dropped:
            log.info("dropped the stored state of %d locations no monitor lists any more", dropped)

    def _launch(self, key: LeaseKey | None) -> None:
        if key is None or key not in self._held or key in self._in_flight:
            return
        task = asyncio.create_task(self._check(key, self._held[key]))
        self._in_flight[key] = task
        task.add_done_callback(lambda _t, k=key: self._in_flight.pop(k, None))
        task.add_done_callback(log_task_failure)

    async def _check(self, key: LeaseKey, epoch: int) -> None:
        spec = self._specs.get(key[0])
        if spec is None:
            return
        if key not in self._seeded:
            await self._seed(key, spec)
        observation = await self._prober(spec)
        if self._held.get(key) != epoch or self._specs.get(key[0]) is not spec:
            return  # lost or re-planned meanwhile: this result is nobody's
        result = evaluate(spec, observation)
        state = record(self._states.get(key, LocationState()), result)
        self._states[key] = state
        self._unwritten[key] = to_stored(key[0], key[1], state)
        self.checks += 1
        self._written.set()

    async def _seed(self, key: LeaseKey, spec: MonitorSpec) -> None:
        """Continue the run of failures the key's previous holder stored (if recent)."""
        try:
            rows = await asyncio.to_thread(self.book.read, [key[0]])
        except Exception as exc:  # the database is away: start a fresh run rather than not check
            log.warning("cannot read the stored state of %s from %s: %s", key[0], key[1], exc)
            rows = []
        stored = next((row.result for row in rows if row.result.location == key[1]), None)
        if stored is not None and self.clock() - stored.checked_at <= stale_after(spec):
            self._states.setdefault(key, to_core(stored, spec.interval))
        self._seeded.add(key)

    async def _write_loop(self) -> None:
        while True:
            await self._written.wait()
            self._written.clear()
            try:
                await self._write_once()
            except Exception as exc:  # the database is away: keep the latest per key, try again
                log.warning("location states not stored yet (%d waiting): %s", len(self._unwritten), exc)
                await asyncio.sleep(WRITE_RETRY_SECONDS)
                self._written.set()

    async def _write_once(self) -> None:
        batch = dict(self._unwritten)
        if not batch:
            return
        held = {key: self._held[key] for key in batch if key in self._held}
        written = await asyncio.to_thread(self.book.write, self.node, held, list(batch.values()))
        for key, row in batch.items():
            if self._unwritten.get(key) is row:
                del self._unwritten[key]
            if key not in written and key in self._held and self._held[key] == held.get(key):
                # Fenced: another node holds this key now. Write nothing more for it.
                self.fenced += 1
                log.warning("lost the lease of %s from %s; its checks stop here", key[0], key[1])
                self._drop(key)


async def owner_result(book: LocationBook, spec: MonitorSpec, now: float, in_maintenance: bool = False
                       ) -> CheckResult | None:
    """The owner's part: the folded result of `spec`'s locations (read on a worker thread)."""
    rows = await asyncio.to_thread(book.read, [spec.name])
    return fold_result(spec, [row.result for row in rows], now, in_maintenance)


def launch(checks: LocationChecks) -> asyncio.Task[None]:
    task = asyncio.create_task(checks.run(), name="locations")
    task.add_done_callback(log_task_failure)
    return task
