"""The engine as one node of a cluster (DESIGN §12): it runs only the monitors it holds a lease on.

A membership round every quarter lease: heartbeat, read the live nodes, compute the plan every
node computes alike (core/cluster.py), then follow it: release what moved away (after stopping
those checks and flushing their writes, so the next owner reads the last transition), acquire
what moved here (until its holder lets it go or is dead: tried again next round). A gained
monitor's state is read from the store before its first check: an open incident goes on.

Leases are not renewed: liveness is the node's heartbeat row, one UPDATE a round conditioned on
the generation the node joined under. Another node takes a dead node's keys over and, in the same
transaction, gives it a new generation (storage/cluster.py); the dead node's commits, fenced by
its own row's generation, then write nothing, and when it beats again it finds the generation
changed: it drops every lease at once (checks stopped, results in flight discarded) and rejoins
under a new generation, taking keys again through the plan. A node that lets a key go itself stops
its checks and flushes its writes first, so no per-key fence is needed for that.

The arithmetic, with lease L (default 20 s), D = `liveness_timeout(L)` = 0.6 L, rounds every
P = L/4 (core/cluster.py):
- A node trusts its leases until D after the START of its last successful heartbeat, by its
  monotonic clock, taken before the statement is sent. The others take over only when the
  heartbeat's database timestamp, which is later, is more than D old. So a node stops trusting
  its leases before anyone may take them (clock rates agree to far better than D), and its
  commits are fenced besides: a paused node checks nothing on waking until a round has told it
  whether it is still alive.
- A node killed at t beat last at h <= t. From h + D it is dead to the others; each runs a round
  at most P later, and that round's plan gives them its keys and acquires them. Takeover by
  t + D + P + a round = t + 0.85 L + a round: within the lease (17 s and a round at 20 s).
- A node beats every P and trusts for D = 2.4 P: one late or failed round costs nothing.

The rounds' SQL runs on a thread of its own (engine/membership.py): a slow database never blocks
a check. While the database cannot be reached at all, nobody can take a lease over, so checks go
on; their writes wait. When it is back every heartbeat is old: for one lease the node takes only
free or its own keys (`polite`), so the first node back declares nobody dead too early.

Cluster-wide chores (retention, silences, actions naming no monitor anyone runs) are done by the
holder of one more lease, `CHORES`, so each runs once per cluster.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final, TypeVar

from shiptrack_tui.config import Config
from shiptrack_tui.config.cluster import cluster_config_hash
from shiptrack_tui.core.cluster import (
    OWNER,
    ROUNDS_PER_LEASE,
    LeaseKey,
    NodeView,
    assign,
    lease_changes,
    liveness_timeout,
    skew,
    wanted_keys,
)
from shiptrack_tui.core.model import Action, ActionKind, MonitorSpec, MonitorState, TimelineKind
from shiptrack_tui.notify.delivery import DEFAULT_TIMEOUT
from shiptrack_tui.storage import PipelineWrite, Writer

if TYPE_CHECKING:
    from shiptrack_tui.engine.cluster_outbox import ClusterOutbox
    from shiptrack_tui.engine.counters import EngineCounters
    from shiptrack_tui.engine.membership import ClusterLink, Membership
    from shiptrack_tui.engine.scheduler import Schedule
    from shiptrack_tui.engine.silencing import Silencer
    from shiptrack_tui.notify.sender import OutboxStore
    from shiptrack_tui.storage import Store

log = logging.getLogger("shiptrack.cluster")

CHORES: Final[LeaseKey] = ("*cluster", OWNER)
"""The lease whose holder runs the cluster-wide chores. Every node adds it to every node's view;
a monitor someone named "*cluster" would share the key (and be checked only if the holder has it)."""
RETIRE_EVERY: Final = 300.0
CONTENDED_RETRY_SECONDS: Final = 0.2
T = TypeVar("T")


class FencedWriter(Writer):
    """The engine's writer in a cluster: each write carries (in `epoch`) the node generation it was
    made under, which the store checks in the commit's transaction (ClusterLink.fence); a write
    for a monitor not held is dropped here."""

    def __init__(self, store: Store, generation_of: Callable[[str], int | None], **options: Any) -> None:
        super().__init__(store, **options)
        self._generation_of = generation_of
        self.unheld = 0  # writes dropped before queueing: the monitor's lease was not held

    def submit(self, write: PipelineWrite) -> None:
        generation = self._generation_of(write.monitor)
        if generation is None:
            self.unheld += 1
            return
        super().submit(replace(write, epoch=generation))


class ClusterRole:
    """The engine's half that takes part in a cluster; mixed into `Engine`. Without a link the
    engine owns every monitor and nothing here runs."""

    store: Store
    config: Config
    clock: Callable[[], float]
    monotonic: Callable[[], float]
    counters: EngineCounters
    _specs: dict[str, MonitorSpec]
    _states: dict[str, MonitorState]
    _schedule: Schedule
    _in_flight: dict[str, asyncio.Task[None]]
    _writer: Writer | None
    _silencer: Silencer
    _last_reminded: dict[str, float]
    _reschedule: asyncio.Event
    _stop: asyncio.Event
    _last_ping_id: int
    _watch_push_monitors: Callable[[], None]

    def _init_cluster(self, link: ClusterLink | None) -> None:
        self._link = link
        self._held: dict[LeaseKey, int] = {}  # lease -> its epoch
        self._generation: int | None = None  # the node generation the held leases belong to
        self._valid_until = -math.inf  # monotonic: the leases are trusted until then
        self._db_down = False
        self._back_at = -math.inf  # monotonic: when the database came back after an outage
        self._nodes: dict[str, NodeView] = {}  # the live nodes at the last round
        self._told_skew = ""
        self._cluster_pool: ThreadPoolExecutor | None = None
        self._outbox: ClusterOutbox | None = None
        self._hashed: tuple[Config, str] | None = None
        self._retired_for: frozenset[tuple[str, str]] | None = None  # the configs last retired for
        self._retired_at = -math.inf
        self._planned: tuple[tuple[str, tuple[tuple[str, str, str], ...]], dict[LeaseKey, str]] | None = None

    # -- what this node may do ------------------------------------------------------------------
    @property
    def clustered(self) -> bool:
        return self._link is not None

    def _leases_trusted(self) -> bool:
        return self._db_down or self.monotonic() < self._valid_until

    def _owns(self, name: str) -> bool:
        """Whether this node checks `name` and writes its transitions now."""
        if self._link is None:
            return True
        return (name, OWNER) in self._held and self._leases_trusted()

    def _owns_chores(self) -> bool:
        return self._link is None or (CHORES in self._held and self._leases_trusted())

    def _generation_of(self, name: str) -> int | None:
        """What a write for `name` made now is fenced by: this node's generation, if it owns `name`."""
        return self._generation if self._owns(name) else None

    def _known_in_cluster(self, name: str) -> bool:
        """Whether any live node runs `name` (an action for it waits for that node)."""
        return name in self._specs or any(name in node.monitors for node in self._nodes.values())

    def _takes_action(self, action: Action) -> bool:
        """Whether this node applies an operator action: the owner of its monitor does; the chores
        holder takes silences and refuses actions for monitors no live node runs."""
        if self._link is None:
            return True
        if action.kind in (ActionKind.SILENCE, ActionKind.UNSILENCE) or not action.monitor:
            return self._owns_chores()
        if self._owns(action.monitor):
            return True
        return self._owns_chores() and not self._known_in_cluster(action.monitor)

    def held_keys(self) -> dict[LeaseKey, int]:
        """The leases held now, with their epochs (for the header and tests)."""
        return dict(self._held) if self._leases_trusted() else {}

    def _new_writer(self, **options: Any) -> Writer:
        if self._link is None:
            return Writer(self.store, **options)
        self.store.fence = self._link.fence  # each commit checks the generation in its transaction
        return FencedWriter(self.store, self._generation_of, **options)

    def _sender_outbox(self) -> OutboxStore:
        """What the notification sender drains: the store, or in a cluster the claimed rows."""
        if self._link is None:
            return self.store
        self._outbox = self._link.outbox(self.store, self._leases_trusted, DEFAULT_TIMEOUT)
        return self._outbox

    # -- the membership loop --------------------------------------------------------------------
    async def _in_cluster_thread(self, call: Callable[..., T], *args: object) -> T:
        if self._cluster_pool is None:
            self._cluster_pool = ThreadPoolExecutor(1, thread_name_prefix="shiptrack-cluster")
        return await asyncio.get_running_loop().run_in_executor(self._cluster_pool, call, *args)

    async def _membership_loop(self) -> None:
        assert self._link is not None
        period = self._link.lease / ROUNDS_PER_LEASE
        while True:
            started = self.monotonic()
            try:
                await self._round(started)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if self._link.contended(error):  # nodes joining at once may deadlock: go again soon
                    log.info("cluster round lost a lock race (%s); again", self._link.describe(error))
                    await asyncio.sleep(CONTENDED_RETRY_SECONDS)
                    continue
                if self._link.unreachable(error):
                    if not self._db_down:
                        log.warning("the database cannot be reached (%s): checking on with the "
                                    "monitors held; their writes wait", self._link.describe(error))
                    self._db_down = True
                else:
                    log.exception("cluster round failed; retrying")
            await asyncio.sleep(max(0.0, period - (self.monotonic() - started)))

    async def _round(self, started: float) -> None:
        link = self._link
        assert link is not None
        locations = {name: tuple(getattr(spec, "locations", ())) for name, spec in self._specs.items()}
        owned = sum(1 for monitor, slot in self._held if slot == OWNER and (monitor, slot) != CHORES)
        digest, held = self._config_hash(), list(self._held)

        def beat_and_plan(held: list[LeaseKey]) -> tuple[Membership, list[LeaseKey], list[LeaseKey]]:
            # Off the loop: the exact p99 sorts up to a million samples, and the plan hashes every
            # lease key against every node.
            lateness = self.counters.lateness.percentile(0.99)
            seen = link.beat(list(locations), owned, lateness, digest)
            if seen.generation != mine:
                held = []  # declared dead: every lease is dropped below, then taken again by plan
            return seen, *lease_changes(self._plan(seen.nodes, locations, digest), link.node, held)

        mine = self._generation
        seen, acquire, release = await self._in_cluster_thread(beat_and_plan, held)
        if seen.generation != mine:
            if self._held:  # declared dead: whatever it held may be someone else's now
                lost = len(self._held)
                await self._let_go(list(self._held), flush=False)
                log.warning("this node was declared dead (no heartbeat for %gs) and lost its %d leases: "
                            "their checks stop here; rejoined", liveness_timeout(link.lease), lost)
            self._generation = seen.generation
        # Trusted until D after the start of this heartbeat (see the module's docstring).
        self._valid_until = started + liveness_timeout(link.lease)
        if self._db_down:
            log.info("the database is back")
            self._db_down = False
            self._back_at = self.monotonic()
        self._see(seen.nodes)
        if release:
            await self._let_go(release, flush=True)
            await self._in_cluster_thread(link.release, release)
            log.info("released %d leases to other nodes", len(release))
        # Just after an outage every heartbeat is old: for one lease, declare no one dead.
        polite = self.monotonic() - self._back_at < link.lease
        gained = await self._in_cluster_thread(link.acquire, acquire, not polite) if acquire else {}
        if gained:
            await self._take(gained)
            log.info("gained %d leases; %d held", len(gained), len(self._held))
        await self._refresh_silences()
        await self._retire(seen.nodes)

    def _plan(self, nodes: list[NodeView], locations: dict[str, tuple[str, ...]], digest: str
              ) -> dict[LeaseKey, str]:
        """The lease plan for this view; the last one again while nothing it depends on changed
        (nodes with the same config hash have the same monitors)."""
        live = tuple(sorted((n.name, n.location, n.config_hash) for n in nodes if n.alive))
        if self._planned is not None and self._planned[0] == (digest, live):
            return self._planned[1]
        keys = [*wanted_keys(locations), CHORES]
        views = [replace(node, monitors=node.monitors | {CHORES[0]}) for node in nodes if node.alive]
        plan = assign(keys, views)
        self._planned = ((digest, live), plan)
        return plan

    def _config_hash(self) -> str:
        """What this node publishes for config skew; recomputed only when the config changed."""
        config = self.config
        if self._hashed is None or self._hashed[0] is not config:
            self._hashed = (config, cluster_config_hash(config))
        return self._hashed[1]

    def _see(self, nodes: Iterable[NodeView]) -> None:
        """Log nodes joining and leaving, and a config that differs from the others'."""
        assert self._link is not None
        live = {node.name: node for node in nodes if node.alive}
        for name in sorted(set(live) - set(self._nodes)):
            if name != self._link.node:
                log.info("node %s joined (location %s)", name, live[name].location)
        for name in sorted(set(self._nodes) - set(live)):
            log.info("node %s left", name)
        self._nodes = live
        odd = skew(live.values())
        text = odd.text()
        if text != self._told_skew:
            self._told_skew = text
            if text:
                mine = self._link.config_hash
                for name, digest in odd.odd:
                    other = odd.majority if name == self._link.node else mine
                    if other and digest != other:
                        log.warning("node %s runs a different config (hash %s vs %s): it owns only "
                                    "monitors its config has", name, digest[:12], other[:12])
                if odd.majority is None:
                    log.warning("%s: each owns only monitors its config has", text)
            else:
                log.info("all nodes run the same config again")

    # -- gaining and losing monitors ------------------------------------------------------------
    async def _let_go(self, keys: Iterable[LeaseKey], flush: bool) -> None:
        """Stop what these leases allowed: their checks, at once; with `flush`, the writes already
        made under them land before the lease is released."""
        names = []
        for key in keys:
            self._held.pop(key, None)
            if key[1] == OWNER and key != CHORES:
                names.append(key[0])
        for name in names:
            self._schedule.remove(name)
            task = self._in_flight.get(name)
            if task is not None:
                task.cancel()  # its result is not ours to write any more
        if flush and self._writer is not None:
            await asyncio.to_thread(self._writer.flush)

    async def _take(self, gained: dict[LeaseKey, int]) -> None:
        """Start the monitors of newly acquired leases from their stored state."""

        self._held.update(gained)
        names = [monitor for monitor, slot in gained if slot == OWNER and monitor in self._specs]
        if not names:
            return
        specs, at = [self._specs[name] for name in names], self.clock()

        def read() -> tuple[dict[str, MonitorState], list[Any], list[Any]]:
            # Synced, not only read: listed again should the chores holder have retired it.
            states = self.store.sync_monitors(specs, at, retire=False)
            return states, self.store.incidents(True), self.store.active_silences()

        if self._writer is not None:
            await asyncio.to_thread(self._writer.flush)  # pings applied here before, re-read below
        states, open_incidents, silences = await asyncio.to_thread(read)
        taken = set()
        for name in names:
            if (name, OWNER) not in self._held:
                continue  # lost again meanwhile
            taken.add(name)
            self._states[name] = states.get(name, MonitorState())
            self._last_reminded.pop(name, None)
        for incident in open_incidents:
            if incident.monitor in taken:
                reminded = [e.at for e in incident.events if e.kind is TimelineKind.REMINDER]
                if reminded:
                    self._last_reminded[incident.monitor] = max(reminded)
        self._silencer.seed(silences, [i for i in open_incidents if i.monitor in taken])
        now, wall = self.monotonic(), self.clock()
        for name in taken:
            spec = self._specs[name]
            if not spec.push:
                self._schedule.add(name, spec.interval, now, wall=wall)
        if any(self._specs[name].push for name in taken):
            self._last_ping_id = 0  # pings of these monitors were skipped while another node had them
            self._watch_push_monitors()
        self._reschedule.set()

    async def _retire(self, nodes: list[NodeView]) -> None:
        """The chores holder marks removed the monitors no node's config has any more (each node's
        config sync leaves the others' alone). Nodes count until they leave cleanly: one late with
        its heartbeat, or dead, may still come back with its monitors; and a monitor someone holds
        a lease on stays. When the configs change, and every few minutes (a lease let go late)."""
        link = self._link
        if link is None or not self._owns_chores():
            self._retired_for = None
            return
        known = frozenset((node.name, node.config_hash) for node in nodes)
        if known == self._retired_for and self.monotonic() - self._retired_at < RETIRE_EVERY:
            return
        gone = await self._in_cluster_thread(link.retire, list(self._specs))
        self._retired_for, self._retired_at = known, self.monotonic()
        if gone:
            log.info("monitors no node runs any more, marked removed (history kept): %s",
                     ", ".join(sorted(gone)[:10]) + (" ..." if len(gone) > 10 else ""))

    async def _refresh_silences(self) -> None:
        """Silences are started and ended by the chores holder; the others follow the store."""
        if not self._owns_chores():
            self._silencer.active = await asyncio.to_thread(self.store.active_silences)

    async def _leave_cluster(self) -> None:
        """At a clean stop, after the last write: hand every lease back so others take over now."""
        link = self._link
        if link is None:
            return
        held, self._held = list(self._held), {}
        with contextlib.suppress(Exception):
            if held:
                await self._in_cluster_thread(link.release, held)
            await self._in_cluster_thread(link.leave)
        if self._outbox is not None:
            await asyncio.to_thread(self._outbox.close)
        if self._cluster_pool is not None:
            self._cluster_pool.shutdown(wait=False)
        if held:
            log.info("released %d leases on stopping", len(held))
