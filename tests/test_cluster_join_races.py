"""Nodes joining at once never deadlock (storage/cluster.py's lock order, DESIGN §12).

Three nodes join one PostgreSQL at the same moment, twenty times over, each as the daemon does
(name lock, `prepare`, then membership rounds as engine/cluster.py runs them: heartbeat, plan,
release, acquire), and between rounds write what nodes write: location results fenced by their
lease rows, fenced commits carrying notifications. Every other trio leaves cleanly; the others
die, and the next trio declares them dead and takes their keys over at once. A round that loses
a lock race is what `ClusterLink.contended` counts and the engine retries: there must be none.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg
from waiting import wait_for

from shiptrack_tui.config.settings import ClusterSettings
from shiptrack_tui.core.cluster import OWNER, LeaseKey, NodeView, assign, lease_changes, wanted_keys
from shiptrack_tui.core.model import CheckResult, MonitorState, OutboxItem, Outcome, Transition
from shiptrack_tui.engine.membership import ClusterLink
from shiptrack_tui.storage import PipelineWrite, Store
from shiptrack_tui.storage.cluster import LocationResult
from shiptrack_tui.storage.locations import PgLocationBook

LOCATIONS = ("eu-west", "us-east", "eu-west")  # the three nodes' locations
MONITORS = {f"m{i:02}": (LOCATIONS[:2] if i % 4 == 0 else ()) for i in range(40)}
JOINS = 20
FREE_ROUNDS = 3
ROUNDS_IN_STEP = 2
LEASE = 20.0  # liveness 12 s: the live nodes never look dead to each other on a loaded machine


class Node(threading.Thread):
    """One node of a trio: joins, runs its rounds, then leaves or dies."""

    def __init__(self, url: str, name: str, location: str, step: threading.Barrier, leave: bool) -> None:
        super().__init__(name=name, daemon=True)
        self.url, self.location, self.step, self.leave = url, location, step, leave
        self.link = ClusterLink(url, ClusterSettings(node=name, location=location, lease=LEASE), "cafe")
        self.held: dict[LeaseKey, int] = {}
        self.lost_races: list[str] = []  # what the engine's membership loop would have retried
        self.failure: BaseException | None = None

    def attempt(self, call: Any, *args: Any) -> Any:
        try:
            return call(*args)
        except Exception as error:
            if not ClusterLink.contended(error):
                raise
            self.lost_races.append(f"{self.name} {getattr(call, '__name__', call)}: {error}")
            return None

    def run(self) -> None:
        store = Store.open(self.url)
        book = PgLocationBook(self.link.connect)
        try:
            store.fence = self.link.fence
            self.step.wait(30)  # the three join at the same moment, and run on as they may
            self.link.claim_name()
            self.attempt(self.link.prepare)
            for _ in range(FREE_ROUNDS):
                self.round(store, book)
            for _ in range(ROUNDS_IN_STEP):  # then each sees the others: the plan settles
                self.step.wait(30)
                self.round(store, book)
            self.step.wait(30)  # the test reads the leases of the three alive
            self.step.wait(30)
            if self.leave:
                self.attempt(self.link.leave)
        except BaseException as error:
            self.failure = error
            self.step.abort()
        finally:
            book.close()
            self.link.close()  # a node that does not leave dies here: its rows stay behind
            store.close()

    def round(self, store: Store, book: PgLocationBook) -> None:
        seen = self.attempt(self.link.beat, list(MONITORS), len(self.held), None)
        if seen is None:
            return
        plan = assign(wanted_keys(MONITORS), seen.nodes)
        acquire, release = lease_changes(plan, self.name, self.held)
        if release and self.attempt(self.link.release, release) is not None:
            for key in release:
                del self.held[key]
        if acquire:
            self.held.update(self.attempt(self.link.acquire, acquire) or {})
        now = time.time()
        checking = {key: epoch for key, epoch in self.held.items() if key[1] == self.location}
        self.attempt(book.write, self.name, checking, [
            LocationResult(monitor, slot, True, 0, None, 1.5, now) for monitor, slot in checking])
        owned = sorted(monitor for monitor, slot in self.held if slot == OWNER)
        self.attempt(store.commit_batch, [
            PipelineWrite(monitor, MonitorState(), result=CheckResult(monitor, now, Outcome.UP, 1.5),
                          outbox=(OutboxItem(monitor, Transition.OPEN, "json://127.0.0.1:9/", "t", "b",
                                             "failure"),),
                          epoch=self.link.generation) for monitor in owned])


def _holders(url: str) -> dict[LeaseKey, str]:
    with psycopg.connect(url, autocommit=True) as conn:
        return {(m, s): node for m, s, node in conn.execute("SELECT monitor, slot, node FROM lease "
                                                             "WHERE node <> ''")}


def _in_step(step: threading.Barrier, trio: list[Node]) -> None:
    try:
        step.wait(60)
    except threading.BrokenBarrierError:
        raise AssertionError([(node.name, node.failure) for node in trio if node.failure]) from None


def test_three_nodes_joining_at_once_twenty_times_never_deadlock(pg_url: str) -> None:
    Store.open(pg_url).close()  # the schema, as the daemon's store makes it before joining
    lost_races: list[str] = []
    dead: list[str] = []
    for join in range(JOINS):
        step = threading.Barrier(4)  # the three nodes and the test
        leave = join % 2 == 0
        trio = [Node(pg_url, f"j{join:02}-{i}", LOCATIONS[i], step, leave) for i in range(3)]
        for node in trio:
            node.start()
        for _ in range(ROUNDS_IN_STEP + 2):
            _in_step(step, trio)
        # After two rounds in step every key is held as the trio's common plan says (the first
        # releases what moved, the second takes it), the dead trio's before it taken over.
        plan = assign(wanted_keys(MONITORS), [NodeView(node.name, node.location, frozenset(MONITORS))
                                              for node in trio])
        holders = _holders(pg_url)
        assert holders == plan, join
        assert not set(holders.values()) & set(dead)
        _in_step(step, trio)
        for node in trio:
            node.join(60)
            assert not node.is_alive() and node.failure is None, (node.name, node.failure)
            lost_races += node.lost_races
        if not leave:
            dead = [node.name for node in trio]
            with psycopg.connect(pg_url, autocommit=True) as conn:  # a lease's time passes for them
                conn.execute("UPDATE node SET heartbeat_at = heartbeat_at - interval '1 hour' "
                             "WHERE name = ANY(%s)", (dead,))
    assert lost_races == []


def _waiting(watch: psycopg.Connection[Any]) -> int:
    return int(watch.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                             "AND wait_event_type = 'Lock'").fetchone()[0])


def test_a_node_leaving_while_another_declares_it_dead_does_not_deadlock(pg_url: str) -> None:
    """A node stopping after its heartbeat lapsed (paused, or cut off) meets a node taking its keys:
    the leaver must lock its node row before its lease rows, as the taker does. Interleaved with a
    third connection holding the leaver's last lease row: the leaver waits there having released
    the first two, the taker (node row locked) waits behind it, then the gate opens."""
    Store.open(pg_url).close()
    keys = [(f"m{i}", OWNER) for i in range(3)]
    leaver, taker = (ClusterLink(pg_url, ClusterSettings(node=name, location="here", lease=LEASE), "cafe")
                     for name in ("a-leaver", "b-taker"))
    failures: list[BaseException] = []

    def run(call: Any, *args: Any) -> threading.Thread:
        def target() -> None:
            try:
                call(*args)
            except BaseException as error:
                failures.append(error)
        thread = threading.Thread(target=target, daemon=True)
        thread.start()
        return thread

    try:
        for joined in (leaver, taker):
            joined.claim_name()
            joined.prepare()
            joined.beat(list(MONITORS), 0, None)
        assert sorted(leaver.acquire(keys)) == keys
        with psycopg.connect(pg_url, autocommit=True) as watch, psycopg.connect(pg_url) as gate:
            watch.execute("UPDATE node SET heartbeat_at = heartbeat_at - interval '1 hour' "
                          "WHERE name = 'a-leaver'")
            gate.execute("SELECT 1 FROM lease WHERE monitor = 'm2' FOR UPDATE")
            leaving = run(leaver.leave)
            wait_for(lambda: _waiting(watch) == 1, 10, "the leaver to wait at the gate")
            taking = run(taker.acquire, keys)
            wait_for(lambda: _waiting(watch) == 2, 10, "the taker to wait for the leaver")
            gate.rollback()
            leaving.join(30)
            taking.join(30)
            assert failures == []
            holders = dict(watch.execute("SELECT monitor, node FROM lease").fetchall())
            # The leaver's keys went to nobody first, or straight to the taker: never stuck with it.
            assert set(holders.values()) <= {"", "b-taker"}
            assert watch.execute("SELECT count(*) FROM node WHERE name = 'a-leaver'").fetchone()[0] == 0
    finally:
        leaver.close()
        taker.close()
