"""The engine: schedule checks, run the pipeline, apply operator actions, keep the outbox fed.

One asyncio loop drives it. Blocking work (SQLite, Apprise) happens on other threads: the batching
writer, the notification sender and `asyncio.to_thread` for reads. A slow target holds only its
own check; a slow notifier holds nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from shiptrack_tui.config import Config
from shiptrack_tui.core.incidents import (
    Event,
    IncidentResolved,
    reminder_due,
    step,
)
from shiptrack_tui.core.maintenance import in_maintenance
from shiptrack_tui.core.model import (
    MonitorSpec,
    MonitorState,
    TimelineKind,
)
from shiptrack_tui.core.vitals import EngineVitals, StorageVitals
from shiptrack_tui.engine.actions import OperatorActions, log_task_failure, storage_trouble
from shiptrack_tui.engine.cluster import ClusterRole
from shiptrack_tui.engine.config_reload import ConfigReloads
from shiptrack_tui.engine.counters import EngineCounters
from shiptrack_tui.engine.launch_window import LaunchWindow
from shiptrack_tui.engine.liveness import Liveness, Notifier
from shiptrack_tui.engine.location_role import LocationRole
from shiptrack_tui.engine.push import PushMonitors
from shiptrack_tui.engine.retention import RetentionRun
from shiptrack_tui.engine.scheduler import DueCheck, Schedule
from shiptrack_tui.engine.silencing import Silencer
from shiptrack_tui.engine.transitions import log_event
from shiptrack_tui.engine.updates import IncidentTalk
from shiptrack_tui.heartbeat import heartbeat_path
from shiptrack_tui.notify import NotificationSender, outbox_items_for
from shiptrack_tui.probes import ClientPool
from shiptrack_tui.storage import PipelineWrite, Store, Writer

if TYPE_CHECKING:
    from shiptrack_tui.engine.membership import ClusterLink

log = logging.getLogger("shiptrack.engine")

Listener = Callable[[set[str]], None]
CONFIG_POLL_SECONDS = 2.0
HOUSEKEEPING_SECONDS = 60.0
WRITES_HELD = 100_000
"""Writes held in memory while storage is stalled (~400 bytes each) before check results are shed."""
SHUTDOWN_STALL_SECONDS = 15.0
"""At shutdown, storage stalled this long is given up on (loudly): systemd's stop timeout is 30 s."""




class Engine(OperatorActions, PushMonitors, ClusterRole, LocationRole):
    """Runs every configured monitor against one database until `request_stop()`; with a
    `cluster` link, only those whose lease this node holds (engine/cluster.py)."""

    def __init__(
        self,
        config: Config,
        store: Store,
        *,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        pool: ClientPool | None = None,
        max_in_flight: int = 256,
        send_notifications: bool = True,
        config_loader: Callable[[], Config] | None = None,
        notifier: Notifier | None = None,
        max_pending: int = WRITES_HELD,
        cluster: ClusterLink | None = None,
        heartbeat: Path | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock  # the wall clock: what results, incidents and notifications are stamped with
        self.monotonic = monotonic  # what the schedule runs on: a wall-clock step must not move it
        self.counters = EngineCounters()
        self._pool = pool
        self._owns_pool = pool is None
        self._max_in_flight = max_in_flight
        self._send_notifications = send_notifications
        self._config_loader = config_loader
        self._specs: dict[str, MonitorSpec] = {}
        self._states: dict[str, MonitorState] = {}
        self._last_reminded: dict[str, float] = {}
        self._in_flight: dict[str, asyncio.Task[None]] = {}
        self._listeners: list[Listener] = []
        self._schedule = Schedule()
        self._window = LaunchWindow()
        self._submitted_actions: set[int] = set()
        self._silencer = Silencer(store)
        self._talk = IncidentTalk()  # status/severity this engine wrote; each monitor's services
        self._actions_due = asyncio.Event()  # an operator action was written: apply it now
        self._reschedule = asyncio.Event()  # the schedule changed: look at the heap again
        self._reload_asked = asyncio.Event()  # SIGHUP: read the config file now
        self._stop = asyncio.Event()
        self._last_prune: float | None = None  # on the monotonic clock
        self._retention = RetentionRun(store)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._writer: Writer | None = None
        self._sender: NotificationSender | None = None
        self._slots: asyncio.Semaphore | None = None
        self._max_pending = max_pending
        self._started_at = monotonic()
        self._config_applied = False
        # The heartbeat file goes next to a SQLite file; a PostgreSQL store's caller names one.
        if heartbeat is None and store.path is not None:
            heartbeat = heartbeat_path(store.path)
        self.liveness = Liveness(heartbeat, notifier, self._states.values)
        self._init_push()
        self._init_cluster(cluster)

    # -- control, callable from any thread -------------------------------------------------
    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def request_stop(self) -> None:
        if self._loop is None:  # not running yet (a daemon's SIGTERM while it starts): run() stops at once
            self._stop.set()
            return

        def stop() -> None:
            self._stop.set()
            self._reschedule.set()  # the scheduler waits on this one event only

        self._call_soon(stop)

    def wake(self) -> None:
        """Look at pending operator actions and pings now rather than at the next poll."""
        self._call_soon(self._actions_due.set)
        self._call_soon(self._pings_due.set)

    def reload(self, config: Config) -> None:
        self._call_soon(lambda: self._apply_config(config))

    def call_soon(self, callback: Callable[[], object]) -> bool:
        """Run `callback` on the engine's loop once it gets to it; False when the engine is not
        running. The HTTP server times such a no-op to learn how busy the loop is (web/governor.py)."""
        loop = self._loop
        if loop is None or loop.is_closed() or self._stop.is_set():
            return False
        try:
            loop.call_soon_threadsafe(callback)
        except RuntimeError:  # closed between the check and the call
            return False
        return True

    def reload_config_file(self) -> None:
        """SIGHUP: re-read the config file now, through the same path as a change on disk."""
        self._call_soon(self._reload_asked.set)

    def _call_soon(self, callback: Callable[[], object]) -> None:
        if self._loop is None or self._loop.is_closed():
            return
        self._loop.call_soon_threadsafe(callback)

    @property
    def states(self) -> dict[str, MonitorState]:
        return dict(self._states)

    def vitals(self, detail: bool = False) -> EngineVitals:
        """The figures behind /health and /metrics (`detail`: with the per-monitor outcome counts);
        safe from any thread: it copies, and never waits on the engine's loop."""
        writer = self._writer
        outcomes = ({name: (c[0], c[1], c[2]) for name, c in self.counters.outcomes.copy().items()}
                    if detail else {})
        return EngineVitals(
            at=self.monotonic(), started_at=self._started_at, last_tick=self.liveness.last_tick,
            config_loaded=self._config_applied, monitors=len(self._specs), checks=self.counters.checks,
            outcomes=outcomes, lateness=self.counters.lateness.histogram(),
            storage=writer.vitals() if writer is not None else StorageVitals())

    # -- lifecycle ----------------------------------------------------------------------------
    async def run(self) -> None:
        """Check until asked to stop; then finish in-flight checks, flush and return."""
        self._loop = asyncio.get_running_loop()
        self._started_at = self.monotonic()
        self._slots = asyncio.Semaphore(self._max_in_flight)
        if self._pool is None:
            cluster = self.config.cluster  # [cluster] source_address: where this node's checks leave from
            self._pool = ClientPool(self._max_in_flight,
                                    local_address=cluster.source_address if cluster is not None else None)
        # The loop must never block on storage: a stalled database sheds old check results (loudly)
        # rather than stop the checks; see storage/writer.py.
        self._writer = self._new_writer(max_pending=self._max_pending, when_full="shed")
        self.liveness.attach(self._writer)
        if self._send_notifications:
            self._sender = NotificationSender(self._sender_outbox(), self.config.notify, clock=self.clock)
            self._sender.start()
        await self._apply_config_async(self.config)
        open_incidents = await asyncio.to_thread(self.store.incidents, True)
        self._seed_reminders(open_incidents)
        self._silencer.seed(await asyncio.to_thread(self.store.active_silences), open_incidents)
        helpers = [
            asyncio.create_task(self._action_loop(), name="actions"),
            asyncio.create_task(self._housekeeping_loop(), name="housekeeping"),
            asyncio.create_task(self._ping_loop(), name="pings"),
        ]
        if self._config_loader is not None:
            helpers.append(asyncio.create_task(self._config_watch_loop(), name="config-watch"))
        if self._link is not None:
            helpers.append(asyncio.create_task(self._membership_loop(), name="membership"))
        self._start_locations(helpers)
        try:
            await self._schedule_loop()
        finally:
            self.liveness.stopping()
            for task in helpers:
                task.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
            await self._finish_in_flight()
            await self._close_writer()
            if self._sender is not None:
                self._sender.stop()
            await self._leave_cluster()  # engine/cluster.py: leases handed back for a quick takeover
            if self._owns_pool:
                await self._pool.aclose()
            await asyncio.to_thread(self.liveness.close)

    async def _finish_in_flight(self) -> None:
        if not self._in_flight:
            return
        longest = max((s.timeout for s in self._specs.values()), default=10.0)
        _done, pending = await asyncio.wait(list(self._in_flight.values()), timeout=longest + 1.0)
        for task in pending:
            task.cancel()

    async def _close_writer(self) -> None:
        """Commit every write before returning; give up only on storage that stays stalled."""
        assert self._writer is not None
        while True:
            try:
                await asyncio.to_thread(self._writer.close, 1.0)
                return
            except TimeoutError:
                stall = self._writer.stall()
                if stall is not None and stall.seconds >= SHUTDOWN_STALL_SECONDS:
                    log.error("stopping with %d writes not stored: storage stalled for %.0fs (%s)",
                              stall.waiting, stall.seconds, stall.error or "a commit has not finished")
                    return

    # -- configuration ------------------------------------------------------------------------
    def _apply_config(self, config: Config) -> None:
        task = asyncio.ensure_future(self._apply_config_async(config))
        task.add_done_callback(log_task_failure)

    async def _apply_config_async(self, config: Config) -> None:
        wanted = {spec.name: spec for spec in config.monitors}
        gone = set(self._specs) - set(wanted)
        for name in gone:
            self._schedule.remove(name)
            self._specs.pop(name)
            self._states.pop(name, None)
        if gone and self._writer is not None:
            # A gone name may be renamed below: what was written under it must land under it first.
            # Nothing new is submitted for it once it is out of _specs.
            await asyncio.to_thread(self._writer.flush)
        now = self.clock()

        def sync() -> tuple[list[tuple[str, str]], dict[str, MonitorState]]:
            # Renames first: the new name then finds its row, history and all. In a cluster this
            # config is one node's: the chores holder retires monitors instead (engine/cluster.py).
            renamed = self.store.apply_renames(wanted, now)
            return renamed, self.store.sync_monitors(config.monitors, now, retire=not self.clustered)

        renamed, stored = await asyncio.to_thread(sync)
        self.config = config
        self._talk.forget_services()
        if self._sender is not None:
            self._sender.settings = config.notify
        for old, new in renamed:
            gone.discard(old)
            if old in self._last_reminded:
                self._last_reminded[new] = self._last_reminded.pop(old)
            self._silencer.rename(old, new)
            log.info("monitor %s renamed to %s; its history goes with it", old, new)
        for name in gone:
            log.info("monitor %s removed", name)
        for name, spec in wanted.items():
            previous = self._specs.get(name)
            self._specs[name] = spec
            self._states.setdefault(name, stored.get(name, MonitorState()))
            if spec.push or not self._owns(name):  # checked by its pings (engine/push.py), never probed
                self._schedule.remove(name)
            elif previous is None or previous.interval != spec.interval or previous.push:
                self._schedule.add(name, spec.interval, self.monotonic(), wall=self.clock())
        self._watch_push_monitors()
        self._config_applied = True
        self._reschedule.set()

    def _seed_reminders(self, open_incidents: list) -> None:
        for incident in open_incidents:
            reminded = [e.at for e in incident.events if e.kind is TimelineKind.REMINDER]
            if reminded:
                self._last_reminded[incident.monitor] = max(reminded)

    # -- scheduling ---------------------------------------------------------------------------
    async def _schedule_loop(self) -> None:
        """Launch due checks on the monotonic clock; wake at least once a second for liveness."""
        while not self._stop.is_set():
            now = self.monotonic()
            self.liveness.tick(now, self.clock())
            # Slots due within the window start together (engine/launch_window.py: a check
            # started alone can cost nearly twice the CPU of one started in a group).
            started = sum(self._launch(due, now) for due in self._schedule.pop_due(now + self._window.ahead))
            self._window.launched(started, now)
            wake_at = self._schedule.next_wake()
            delay = 1.0 if wake_at is None else max(0.0, min(wake_at - self.monotonic(), 1.0))
            self._reschedule.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._reschedule.wait()

    def _launch(self, due: DueCheck, now: float) -> bool:
        spec = self._specs.get(due.name)
        if spec is None or self._states.get(due.name, MonitorState()).paused or not self._owns(due.name):
            return False
        if due.name in self._in_flight:
            # Never two checks of one monitor at once: this slot is given up, not queued.
            self.counters.overlapping += 1
            return False
        task = asyncio.create_task(self._check(spec, due.due if due.recurring else now))
        self._in_flight[due.name] = task
        task.add_done_callback(lambda _t, name=due.name: self._in_flight.pop(name, None))
        task.add_done_callback(log_task_failure)
        return True

    # -- the check pipeline -------------------------------------------------------------------
    async def _check(self, spec: MonitorSpec, due: float) -> None:
        assert self._slots is not None and self._pool is not None
        async with self._slots:
            self.counters.lateness.record(self.monotonic() - due)
            result, rules = await self._check_result(spec)  # probed, or folded (engine/location_role.py)
        if result is None or spec.name not in self._specs or not self._owns(spec.name):
            return  # no result, removed, or taken over by another node meanwhile
        state, events = step(self._states[spec.name], result, rules)
        self._states[spec.name] = state
        self.counters.checks += 1
        self.counters.count(spec.name, result.outcome)
        self._submit(spec, state, events, result=result)

    def _maintenance_for(self, spec: MonitorSpec, at: float) -> bool:
        return in_maintenance(self.config.maintenance, spec.name, spec.tags, at) is not None

    def _submit(self, spec: MonitorSpec, state: MonitorState, events: list[Event], **extra: object) -> None:
        assert self._writer is not None
        now = self.clock()
        # Only a resolve can end an "until resolved" silence: skip the O(monitors) scan otherwise.
        resolves = bool(self._silencer.active) and any(isinstance(e, IncidentResolved) for e in events)
        still_open = [n for n, st in self._states.items() if st.incident is not None] if resolves else []
        tags_of = {n: known.tags for n, known in self._specs.items()} if resolves else {}
        # Whether a transition is told depends on its incident's OPEN (see engine/silencing.py):
        # a window or silence mutes the OPEN and what follows it, never the RESOLVED of a told one.
        window = in_maintenance(self.config.maintenance, spec.name, spec.tags, now) if events else None
        label = None if window is None else (window.name or "maintenance window")
        hush = self._silencer.consider(spec, state, events, now, tags_of, still_open, label)
        cause = state.incident.cause if state.incident is not None else None
        services = self._talk.services_of(spec, self.config.services) if events else ()
        outbox = () if hush.muted else outbox_items_for(events, spec, self.config.notify, cause=cause,
                                                        services=services)
        self._writer.submit(PipelineWrite(spec.name, state, events=tuple(events), outbox=outbox,
                                          timeline=hush.timeline, **extra))
        if hush.ended:
            ending = asyncio.to_thread(self._silencer.store_end, hush.ended, now, "incident resolved")
            asyncio.ensure_future(ending).add_done_callback(log_task_failure)
        for event in events:
            log_event(event, spec, cause)
        if outbox and self._sender is not None:
            self._sender.wake()
        for listener in self._listeners:
            listener({spec.name})

    # -- the config file ------------------------------------------------------------------------
    async def _config_watch_loop(self) -> None:
        """Pick up edits made on disk without a SIGHUP, or at once on one; an invalid edit keeps the
        running config (config_reload.py logs each outcome once)."""
        assert self._config_loader is not None
        reloads = ConfigReloads(self.config.path, self.config.digest, self._config_loader,
                                running=lambda: self.config.digest)
        waiting: Config | None = None  # read, but not applied: the database was away
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(CONFIG_POLL_SECONDS):
                    await self._reload_asked.wait()
            asked = self._reload_asked.is_set()
            self._reload_asked.clear()
            fresh = await asyncio.to_thread(reloads.attempt, asked) or waiting
            if fresh is not None:
                try:
                    await self._apply_config_async(fresh)
                    waiting = None
                except Exception as error:  # the database is away: tried again on the next pass
                    waiting = fresh
                    storage_trouble(self.store, error, "could not apply the changed config")

    # -- periodic work ------------------------------------------------------------------------
    async def _housekeeping_loop(self) -> None:
        # Retention runs beside the reminders, not in their way: catching up after a retention
        # change can take hours of small steps.
        pruning: asyncio.Task[None] | None = None
        try:
            while True:
                await asyncio.sleep(min(5.0, HOUSEKEEPING_SECONDS))
                now, ticking = self.clock(), self.monotonic()
                self._send_reminders(now)
                idle = pruning is None or pruning.done()
                last = self._last_prune
                if idle and self._owns_chores() and (last is None or ticking - last >= HOUSEKEEPING_SECONDS):
                    self._last_prune = ticking
                    run = self._retention.run(self.config.storage, now)
                    pruning = asyncio.create_task(run, name="retention")
        finally:
            if pruning is not None:
                pruning.cancel()
                await asyncio.gather(pruning, return_exceptions=True)

    def _send_reminders(self, now: float) -> None:
        every = self.config.notify.remind_every
        for name, state in self._states.items():
            if not self._owns(name):
                continue
            due = reminder_due(state, name, self._last_reminded.get(name), every, now)
            if due is not None:
                self._last_reminded[name] = now
                self._submit(self._specs[name], state, [due])

