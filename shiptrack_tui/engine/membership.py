"""One node's link to the cluster's PostgreSQL: its name lock, heartbeats, leases, fencing, outbox.

Blocking calls on connections of its own (psycopg, autocommit, one short transaction per call),
made from one thread at a time: the engine runs them on its membership thread
(engine/cluster.py), the notification sender on its own (engine/cluster_outbox.py). The SQL is
storage/cluster*.py's; this module decides what this node says and keeps. The link knows the
generation the node last joined under (`generation`); the engine stamps each write with the
generation it was made under, and `fence` keeps the writes whose generation is still the node
row's, in the commit's transaction.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import psycopg
import psycopg.errors

from shiptrack_tui import __version__
from shiptrack_tui.config.settings import ClusterSettings
from shiptrack_tui.core.cluster import LeaseKey, NodeView
from shiptrack_tui.core.dsn import redact
from shiptrack_tui.engine.cluster_outbox import ClusterOutbox
from shiptrack_tui.storage import cluster as leases
from shiptrack_tui.storage import cluster_nodes as members

if TYPE_CHECKING:
    from shiptrack_tui.storage import PipelineWrite, Store

log = logging.getLogger("shiptrack.cluster")

NAME_LOCK_CLASS: Final = 0x5354  # pg_try_advisory_lock(class, hashtext(node)): one process per node name
ENGINE_LOCK: Final = (0x5355, 0)  # shared by every cluster node, exclusive for an engine without [cluster]
SCHEMA_LOCK: Final = (0x5355, 1)  # nodes adding the cluster's tables, one at a time
CONNECT_TIMEOUT_SECONDS: Final = 10
FENCE_LOG_EVERY: Final = 10.0


class NodeTaken(RuntimeError):
    """Another process already runs as this node on this database."""


@dataclass(frozen=True, slots=True)
class Membership:
    """What one heartbeat learnt: every node as the plan sees it, the generation this node beats
    under now, and whether it had been declared dead (then it rejoined under that new generation:
    every lease it held must be dropped at once)."""

    nodes: list[NodeView]
    generation: int
    lost: bool = False


class ClusterLink:
    """This node in the cluster: `claim_name()` first, then `beat`/`acquire`/`release`."""

    def __init__(self, url: str, settings: ClusterSettings, config_hash: str, *,
                 password: str | None = None, connect_timeout: float = CONNECT_TIMEOUT_SECONDS) -> None:
        self.node = settings.node
        self.location = settings.location
        self.lease = settings.lease
        self.config_hash = config_hash
        self.shown = redact(url)
        self._url = url
        self._password = password
        self._connect_timeout = max(1, round(connect_timeout))
        self._conn: psycopg.Connection[Any] | None = None
        self._name_lock: psycopg.Connection[Any] | None = None
        self._told_clash: str | None = None
        self.fenced = 0  # writes the store dropped: made under a generation declared dead since
        self.generation: int | None = None  # the one this node last joined under (None: not yet)
        self.claim_margin: float | None = None  # its sender's (outbox): cuts a dead node's claims to it
        self._fence_logged_at = -FENCE_LOG_EVERY
        self._fence_lock = threading.Lock()
        # A quarter lease (as storage.cluster.session_options), but never under a second: a busy
        # machine may well leave a transaction idle for a few hundred milliseconds.
        self._idle_ms = max(1000, int(self.lease * 250))

    # -- connections --------------------------------------------------------------------------
    def connect(self) -> psycopg.Connection[Any]:
        # A process paused inside a transaction must not hold lease or outbox rows for long.
        kwargs: dict[str, Any] = {"autocommit": True, "connect_timeout": self._connect_timeout,
                                  "options": f"-c idle_in_transaction_session_timeout={self._idle_ms}",
                                  "application_name": f"shiptrack-{self.node}"}
        if self._password is not None:
            kwargs["password"] = self._password
        return psycopg.connect(self._url, **kwargs)

    def _connection(self) -> psycopg.Connection[Any]:
        conn = self._conn
        if conn is None or conn.closed or conn.broken:
            if conn is not None:
                conn.close()
            self._conn = conn = self.connect()
        return conn

    @staticmethod
    def unreachable(error: BaseException) -> bool:
        """Whether `error` means the database cannot be reached (rather than a bug)."""
        return isinstance(error, psycopg.OperationalError | psycopg.InterfaceError)

    @staticmethod
    def contended(error: BaseException) -> bool:
        """Whether `error` is a lost lock race (a deadlock or serialization failure the server broke
        by rolling this transaction back): nothing is wrong, the same call can go again at once."""
        cause = error if isinstance(error, psycopg.Error) else error.__cause__
        return isinstance(cause, psycopg.errors.DeadlockDetected | psycopg.errors.SerializationFailure)

    @staticmethod
    def describe(error: BaseException) -> str:
        text = str(error).strip()
        return text.splitlines()[0] if text else type(error).__name__

    def claim_name(self) -> None:
        """Hold a session lock on the node name for as long as this process runs; NodeTaken when
        another process holds it (two engines must never act as one node)."""
        conn = self.connect()
        shared = conn.execute("SELECT pg_try_advisory_lock_shared(%s, %s)", ENGINE_LOCK).fetchone()
        if not (shared and shared[0]):
            conn.close()
            raise NodeTaken(f"an engine without [cluster] runs on {self.shown} and checks every monitor "
                            "itself; stop it, or give it [cluster] too, before adding nodes")
        row = conn.execute("SELECT pg_try_advisory_lock(%s, hashtext(%s))",
                           (NAME_LOCK_CLASS, self.node)).fetchone()
        if not (row and row[0]):
            holder = None
            if _has_node_table(conn):
                holder = conn.execute("SELECT pid, host FROM node WHERE name = %s", (self.node,)).fetchone()
            conn.close()
            who = f" (pid {holder[0]} on {holder[1] or '?'})" if holder and holder[0] else ""
            raise NodeTaken(f"another ShipTrack engine{who} already runs as cluster node {self.node!r} on "
                            f"{self.shown}; give each engine its own [cluster] node")
        self._name_lock = conn

    def prepare(self) -> None:
        """The cluster's tables, if the schema does not have them yet (every node may race here).
        Nothing at all when it has them: the DDL would lock whole tables other nodes are using."""
        conn = self._connection()
        if leases.schema_current(conn):
            return
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", SCHEMA_LOCK)
            if leases.schema_current(conn):
                return  # another node made them meanwhile
            leases.lock_tables(conn)
            for statement in leases.CLUSTER_SCHEMA:
                conn.execute(statement)

    def close(self) -> None:
        for conn in (self._conn, self._name_lock):
            if conn is not None:
                conn.close()
        self._conn = self._name_lock = None

    # -- membership ---------------------------------------------------------------------------
    def beat(self, monitors: Collection[str], owned: int, lateness: float | None,
             config_hash: str | None = None) -> Membership:
        """Heartbeat (database clock) under this node's generation, and read every node as the plan
        sees it. A node declared dead meanwhile rejoins here under a new generation (`lost`)."""
        if config_hash is not None:
            self.config_hash = config_hash
        self._keep_name()
        info = members.NodeInfo(name=self.node, location=self.location, config_hash=self.config_hash,
                                monitors=tuple(sorted(monitors)), version=__version__, pid=os.getpid(),
                                host=socket.gethostname(), owned=owned,
                                lateness_p99_ms=None if lateness is None else lateness * 1000.0)
        conn = self._connection()
        with conn.transaction():
            beat = members.heartbeat(conn, info, self.lease, self.generation)
            rows = members.nodes(conn, self.lease)
        self.generation = beat.generation
        if beat.clash and beat.clash != self._told_clash:
            log.warning("%s", beat.clash)
        self._told_clash = beat.clash
        views = [NodeView(row.name, row.location, row.monitors, row.alive, row.config_hash) for row in rows]
        return Membership(views, beat.generation, beat.lost)

    def _keep_name(self) -> None:
        """After the database came back, take the name lock again (it went with the old session)."""
        lock = self._name_lock
        if lock is not None and not (lock.closed or lock.broken):
            return
        if lock is not None:
            lock.close()
        self._name_lock = None
        try:
            self.claim_name()
        except NodeTaken as taken:
            log.error("%s", taken)

    def acquire(self, keys: Iterable[LeaseKey], take_dead: bool = True) -> dict[LeaseKey, int]:
        """Free, released or own keys; and those of nodes whose heartbeat is older than the liveness
        timeout, unless `take_dead` is False (just after a database outage, when every heartbeat is
        old: each node beats again first). Nothing while this node has not joined, or after it was
        declared dead (until its next beat rejoins)."""
        if self.generation is None:
            return {}
        conn = self._connection()
        with conn.transaction():
            return leases.acquire(conn, self.node, keys, self.lease, generation=self.generation,
                                  take_dead=take_dead, claim_margin=self.claim_margin)

    def release(self, keys: Iterable[LeaseKey]) -> None:
        conn = self._connection()
        with conn.transaction():
            leases.release(conn, self.node, list(keys))

    def leave(self) -> None:
        """A clean stop: every lease handed back and the node's row gone, so nobody waits for it."""
        conn = self._connection()
        with conn.transaction():
            members.forget_node(conn, self.node)

    def retire(self, keep: Collection[str]) -> list[str]:
        """Mark removed the monitors no node's config has (node rows as they are now, plus `keep`)
        and nobody holds a lease on; their history stays. Returns the names retired."""
        conn = self._connection()
        with conn.transaction():
            rows = conn.execute(
                "UPDATE monitor AS m SET removed = 1 WHERE m.removed = 0 AND NOT m.name = ANY(%s::text[]) "
                "AND NOT EXISTS (SELECT 1 FROM node AS n WHERE m.name = ANY(n.monitors)) "
                "AND NOT EXISTS (SELECT 1 FROM lease AS l WHERE l.monitor = m.name AND l.node <> '') "
                "RETURNING m.name", (list(keep),)).fetchall()
        return sorted(name for (name,) in rows)

    # -- fencing --------------------------------------------------------------------------------
    def fence(self, conn: Any, writes: Sequence[PipelineWrite]) -> Sequence[PipelineWrite]:
        """`Store.fence`: inside the commit's transaction, keep the writes made under this node's
        generation as long as its node row still has it (nobody declared it dead); drop (and count)
        the others. One row, locked FOR SHARE when a write carries a transition, a notification or
        an operator's action (a takeover then waits for this commit, or this commit for the
        takeover, and is refused); only read for plain checks, which may be doubled once."""
        fenced = [w for w in writes if w.epoch is not None]
        if not fenced:
            return writes
        raw = getattr(conn, "raw", conn)
        # Paused (SIGSTOP) in here, this transaction's lock would hold up the takeover: the server
        # ends it after a quarter lease instead (its writes are then retried, and fenced).
        raw.execute(f"SET LOCAL idle_in_transaction_session_timeout = {self._idle_ms}")
        lock = any(_decisive(w) for w in fenced)
        generations = {w.epoch for w in fenced}
        current = next(iter(generations)) if len(generations) == 1 else self.generation
        ok = current is not None and leases.fence_node(raw, self.node, current, lock=lock)
        out = [w for w in writes if w.epoch is None or (ok and w.epoch == current)]
        dropped = len(writes) - len(out)
        if dropped:
            self._count_fenced(dropped, {w.monitor for w in writes} - {w.monitor for w in out})
        return out

    def _count_fenced(self, dropped: int, monitors: set[str]) -> None:
        with self._fence_lock:
            self.fenced += dropped
            now = time.monotonic()
            if now - self._fence_logged_at < FENCE_LOG_EVERY:
                return
            self._fence_logged_at = now
        shown = ", ".join(sorted(monitors)[:5]) + (" ..." if len(monitors) > 5 else "")
        log.warning("fencing: %d writes dropped (%s): made under a node generation since declared "
                    "dead, its monitors taken over; %d in all",
                    dropped, shown, self.fenced)

    # -- the outbox -------------------------------------------------------------------------------
    def outbox(self, store: Store, may_send: Callable[[], bool], send_timeout: float) -> ClusterOutbox:
        box = ClusterOutbox(self, store, may_send, send_timeout)
        self.claim_margin = box.margin
        return box


def _decisive(write: PipelineWrite) -> bool:
    """A write that must not land twice or late: a transition, a notification, an operator's doing."""
    return bool(write.events or write.outbox or write.action_id is not None or write.action_error
                or write.timeline_notes or write.timeline or write.status or write.severity)


def claim_single_engine(url: str, password: str | None, shown: str) -> psycopg.Connection[Any]:
    """An engine without [cluster] on PostgreSQL: hold the engine lock exclusively for the process's
    life (the returned connection), so cluster nodes and other lone engines cannot run beside it;
    RuntimeError (one line) when they do."""
    kwargs: dict[str, Any] = {"autocommit": True, "connect_timeout": CONNECT_TIMEOUT_SECONDS,
                              "application_name": "shiptrack"}
    if password is not None:
        kwargs["password"] = password
    conn = psycopg.connect(url, **kwargs)
    row = conn.execute("SELECT pg_try_advisory_lock(%s, %s)", ENGINE_LOCK).fetchone()
    if not (row and row[0]):
        nodes: list[str] = []
        if _has_node_table(conn):
            nodes = [name for (name,) in conn.execute("SELECT name FROM node ORDER BY name")]
        conn.close()
        who = f"cluster nodes ({', '.join(nodes[:5])})" if nodes else "another ShipTrack engine"
        raise RuntimeError(f"{who} already run on {shown}; an engine without [cluster] checks every "
                           "monitor alone: add the same [cluster] table (its own node name) to this config")
    return conn


def _has_node_table(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute("SELECT to_regclass('public.node') IS NOT NULL").fetchone()
    return bool(row and row[0])
