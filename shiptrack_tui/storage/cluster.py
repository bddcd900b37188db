"""Several engines on one PostgreSQL: leases with epochs, fencing, location results (DESIGN §12).

PostgreSQL only (nodes and `cluster status`: cluster_nodes.py; outbox claims: cluster_outbox.py).
Every function takes a psycopg 3 connection, or the store's `PgConnection` around one, and runs
its statements in whatever transaction the caller has open; the caller commits. psycopg's errors
come out as peewee's, as from the rest of the store. Times that decide anything (heartbeats)
come from the database clock, `clock_timestamp()`, so the nodes' own clocks do not matter.

A lease is keyed by (monitor, slot): slot "" is the monitor's owner, slot "<location>" a location
checker. Its epoch grows by one each time the lease changes hands; a lease is never deleted (a
release hands it to nobody, ""), so epochs never go back. A lease does not expire and is never
renewed: it lasts as long as its holder lives, and liveness is the holder's heartbeat row
(cluster_nodes.py). Each node row has a `generation`, new each time the node (re)joins. Another
node takes a key over from a holder whose heartbeat is older than the liveness timeout
(core/cluster.py `liveness_timeout`), and in the same transaction gives the holder a new
generation (`acquire`): from then on every commit of the old incarnation is fenced out, since a
writer checks its own node row's generation inside its write transaction (`fence_node`: one row
however many keys). Location results are fenced per key (`fence`: the lease rows' (node, epoch),
which a takeover changes).

Lock order. Every transaction on these tables takes its row locks in this one order, so nodes
racing each other (joining at once, taking a dead node's keys) wait instead of deadlocking:
  1. node rows, by name (COLLATE "C"): `declare_dead`, a commit's `fence_node`, a node's own beat;
  2. lease rows, by (monitor, slot) (COLLATE "C"): `acquire`, `release`, `fence`;
  3. location_state rows, by (monitor, location) (COLLATE "C"): `write_location_state`,
     `drop_location_states`;
  4. outbox rows, by id: `acquire` cutting a dead node's claims, and cluster_outbox.py.
A transaction may skip a level, never go back up one (`forget_node` locks its node row before
releasing its leases). Table locks come only from DDL, which a node runs only when the schema
lacks something (`schema_current`; the store's migrations normally made it all), and then in the
same order: node, lease, location_state, outbox (`lock_tables`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import psycopg
from psycopg import pq

from shiptrack_tui.core.cluster import liveness_timeout
from shiptrack_tui.storage.postgres import PgConnection, _translated_error

Conn = psycopg.Connection[Any] | PgConnection  # a raw psycopg connection, or the store's wrapper
LeaseKey = tuple[str, str]  # (monitor, slot); slot "" is the owner, "<location>" a location checker

DEFAULT_LEASE_SECONDS: Final = 20.0

CLUSTER_DDL: Final = (
    "CREATE TABLE IF NOT EXISTS node (name TEXT PRIMARY KEY, location TEXT NOT NULL DEFAULT '', "
    "config_hash TEXT NOT NULL DEFAULT '', monitors TEXT[] NOT NULL DEFAULT '{}', "
    "started_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(), "
    "heartbeat_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(), owned INTEGER NOT NULL DEFAULT 0, "
    "lateness_p99_ms DOUBLE PRECISION, version TEXT NOT NULL DEFAULT '', pid INTEGER, host TEXT)",
    "CREATE TABLE IF NOT EXISTS lease (monitor TEXT NOT NULL, slot TEXT NOT NULL DEFAULT '', "
    "node TEXT NOT NULL, epoch BIGINT NOT NULL, expires_at TIMESTAMPTZ NOT NULL, "
    "PRIMARY KEY (monitor, slot)) WITH (fillfactor = 50)",  # room on each page: renewals are HOT updates
    "CREATE INDEX IF NOT EXISTS lease_node ON lease (node)",
    "CREATE TABLE IF NOT EXISTS location_state (monitor TEXT NOT NULL, location TEXT NOT NULL, "
    "node TEXT NOT NULL, epoch BIGINT NOT NULL, failures INTEGER NOT NULL DEFAULT 0, ok BOOLEAN NOT NULL, "
    "reason TEXT, latency_ms DOUBLE PRECISION, checked_at DOUBLE PRECISION NOT NULL, "
    "PRIMARY KEY (monitor, location))",
    # Outbox claims (storage/cluster_outbox.py): any node may deliver a row, one node at a time.
    "ALTER TABLE outbox ADD COLUMN IF NOT EXISTS claimed_by TEXT",
    "ALTER TABLE outbox ADD COLUMN IF NOT EXISTS claimed_until TIMESTAMPTZ",
)


CLUSTER_DDL_11: Final = (
    # Liveness is the node's heartbeat (see above): a generation per node row, new on each (re)join
    # and when another node declares it dead; leases no longer expire by themselves.
    "CREATE SEQUENCE IF NOT EXISTS node_generation",
    "ALTER TABLE node ADD COLUMN IF NOT EXISTS generation BIGINT NOT NULL DEFAULT nextval('node_generation')",
    "ALTER TABLE lease DROP COLUMN IF EXISTS expires_at",
)
CLUSTER_SCHEMA: Final = (*CLUSTER_DDL, *CLUSTER_DDL_11)
"""The cluster's tables as they are now: schema 10's DDL, then 11's (each idempotent)."""

# Read from the catalog, without a lock on any table: whether CLUSTER_SCHEMA has nothing to do.
_SCHEMA_CURRENT: Final = """
SELECT to_regclass('node_generation') IS NOT NULL AND to_regclass('lease_node') IS NOT NULL
   AND to_regclass('location_state') IS NOT NULL
   AND (SELECT count(*) FROM pg_attribute WHERE NOT attisdropped AND attnum > 0 AND (
          (attrelid = to_regclass('node') AND attname = 'generation')
          OR (attrelid = to_regclass('outbox') AND attname IN ('claimed_by', 'claimed_until')))) = 3
   AND NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass('lease')
                   AND attname = 'expires_at' AND NOT attisdropped)
"""
_LOCKED_TABLES: Final = ("node", "lease", "location_state", "outbox")  # the lock order's, top down


def schema_current(conn: Conn) -> bool:
    """Whether the cluster's tables are all there as CLUSTER_SCHEMA makes them. Its DDL, even when
    it has nothing to do, locks whole tables (ALTER TABLE ... IF NOT EXISTS takes ACCESS EXCLUSIVE
    first), which deadlocked nodes joining while others ran their rounds."""
    row = run(conn, _SCHEMA_CURRENT).fetchone()
    return bool(row and row[0])


def lock_tables(conn: Conn) -> None:
    """Before CLUSTER_SCHEMA's DDL, in its transaction: lock the cluster's tables that exist, in
    the lock order, so that the DDL's own locks never come in another order than the rounds'."""
    for table in _LOCKED_TABLES:
        if run(conn, "SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()[0]:
            run(conn, f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")


@dataclass(frozen=True, slots=True)
class LeaseRow:
    """A lease held by a node; `holder_alive`: that node's heartbeat is within the liveness timeout."""

    monitor: str
    slot: str
    node: str
    epoch: int
    holder_alive: bool

    @property
    def key(self) -> LeaseKey:
        return (self.monitor, self.slot)


@dataclass(frozen=True, slots=True)
class LocationResult:
    """The latest result of one location checker, as it writes it (`checked_at`: Unix seconds)."""

    monitor: str
    location: str
    ok: bool
    failures: int  # consecutive failures at this location
    reason: str | None
    latency_ms: float | None
    checked_at: float


@dataclass(frozen=True, slots=True)
class LocationState:
    """A location checker's latest result as stored, with the node and epoch that wrote it."""

    result: LocationResult
    node: str
    epoch: int


def session_options(lease_seconds: float) -> str:
    """libpq `options` for an engine's connections (`psycopg.connect(url, options=...)`).

    A process paused (SIGSTOP) inside a write transaction would keep its fence locks and hold up
    the takeover; the server ends such a transaction after a quarter of the lease instead.
    """
    return f"-c idle_in_transaction_session_timeout={max(100, int(lease_seconds * 250))}"


def raw_connection(conn: Conn) -> psycopg.Connection[Any]:
    return conn.raw if isinstance(conn, PgConnection) else conn


def run(conn: Conn, sql: str, params: Any = None) -> psycopg.Cursor[Any]:
    """Execute with psycopg's own placeholders; psycopg errors raised as peewee's, like the store's."""
    try:
        return raw_connection(conn).execute(sql, params)
    except psycopg.Error as error:
        raise _translated_error(error) from error


def _split(keys: Iterable[LeaseKey]) -> tuple[list[str], list[str]]:
    monitors, slots = [], []
    for monitor, slot in keys:
        monitors.append(monitor)
        slots.append(slot)
    return monitors, slots


def _keyed(rows: Iterable[tuple[Any, ...]]) -> dict[LeaseKey, int]:
    return {(monitor, slot): int(epoch) for monitor, slot, epoch in rows}


# ---------------------------------------------------------------- leases

def _live_seconds(lease_seconds: float) -> float:
    return float(liveness_timeout(float(lease_seconds)))


# The holders of these keys (other than us) whose heartbeat is older than the liveness timeout,
# locked in name order (two nodes declaring the same holders dead wait for each other instead of
# deadlocking) and given a new generation: their commits are fenced out from here on. A holder's
# heartbeat that commits first is seen on the re-check after the lock wait: it is alive after all.
_DECLARE_DEAD: Final = """
WITH dead AS MATERIALIZED (
  SELECT n.name FROM node AS n
  WHERE n.name IN (SELECT l.node FROM lease AS l
                   JOIN unnest(%(monitors)s::text[], %(slots)s::text[]) AS k(monitor, slot)
                     ON l.monitor = k.monitor AND l.slot = k.slot
                   WHERE l.node <> '' AND l.node <> %(node)s)
    AND n.heartbeat_at <= clock_timestamp() - make_interval(secs => %(live)s)
  ORDER BY n.name COLLATE "C"
  FOR UPDATE OF n)
UPDATE node AS n SET generation = nextval('node_generation') FROM dead WHERE n.name = dead.name
RETURNING n.name
"""


def _takeable(alias: str) -> str:
    """SQL: the lease row `alias` may be taken by node %(node)s (see `acquire`)."""
    return f"""({alias}.node = %(node)s OR {alias}.node = '' OR {alias}.node = ANY(%(dead)s::text[])
    OR (%(take)s AND NOT EXISTS (SELECT 1 FROM node AS n WHERE n.name = {alias}.node)))"""


# One statement per batch. Rows are taken in key order (COLLATE "C"), as in fence, so two nodes
# racing for overlapping batches wait for each other instead of deadlocking. Keys held by others
# (as last committed) are filtered out first: ON CONFLICT would lock each of them (WAL) only to
# refuse it. The ON CONFLICT condition is what decides, on the row's latest version.
_ACQUIRE: Final = f"""
INSERT INTO lease AS l (monitor, slot, node, epoch)
SELECT k.monitor, k.slot, %(node)s, 1
FROM unnest(%(monitors)s::text[], %(slots)s::text[]) AS k(monitor, slot)
WHERE NOT EXISTS (SELECT 1 FROM lease AS e WHERE e.monitor = k.monitor AND e.slot = k.slot
                  AND NOT {_takeable("e")})
ORDER BY k.monitor COLLATE "C", k.slot COLLATE "C"
ON CONFLICT (monitor, slot) DO UPDATE
SET node = excluded.node, epoch = CASE WHEN l.node = excluded.node THEN l.epoch ELSE l.epoch + 1 END
WHERE {_takeable("l")}
RETURNING l.monitor, l.slot, l.epoch
"""


# A dead node's outbox claims, cut to `margin` (its sender's: the delivery timeout + 1 s) from now,
# in the transaction that declares it dead: why that is safe is in storage/cluster_outbox.py.
_CUT_CLAIMS: Final = """
WITH theirs AS MATERIALIZED (
  SELECT id FROM outbox WHERE claimed_by = ANY(%(dead)s::text[])
    AND claimed_until > clock_timestamp() + make_interval(secs => %(margin)s)
  ORDER BY id FOR UPDATE)
UPDATE outbox AS o SET claimed_until = clock_timestamp() + make_interval(secs => %(margin)s)
FROM theirs WHERE o.id = theirs.id
"""


def acquire(conn: Conn, node: str, keys: Iterable[LeaseKey],
            lease_seconds: float = DEFAULT_LEASE_SECONDS, *, generation: int | None = None,
            take_dead: bool = True, claim_margin: float | None = None) -> dict[LeaseKey, int]:
    """Take the keys that are free, released, already ours, or held by a dead node; return those
    we now hold -> epoch.

    A key that changes hands gets its epoch + 1 (a new key starts at 1); a key already ours keeps
    its epoch. A holder is dead when its heartbeat is older than `liveness_timeout(lease_seconds)`
    (database clock) or it has no node row; a dead holder with a row is given a new generation in
    this transaction (`declare_dead`), so its commits are fenced from then on. Keys of live
    holders are left out; a key whose holder is busy writing under it is waited for, then judged
    again. `generation`: this node's own; if its row has another (it was declared dead), nothing
    is taken. `take_dead=False`: take only free, released or our own keys, e.g. for a lease time
    after the database came back, when every heartbeat is old but nobody is dead. `claim_margin`:
    the outbox claims of the nodes declared dead here end that many seconds from now (if later).
    """
    monitors, slots = _split(dict.fromkeys(keys))
    if not monitors:
        return {}
    if generation is not None and not fence_node(conn, node, generation, lock=False):
        return {}
    dead = declare_dead(conn, node, zip(monitors, slots, strict=True), lease_seconds) if take_dead else []
    taken = _keyed(run(conn, _ACQUIRE, {"node": node, "monitors": monitors, "slots": slots,
                                        "take": take_dead, "dead": dead}))
    if dead and claim_margin is not None:
        run(conn, _CUT_CLAIMS, {"dead": dead, "margin": float(claim_margin)})
    return taken


def declare_dead(conn: Conn, node: str, keys: Iterable[LeaseKey],
                 lease_seconds: float = DEFAULT_LEASE_SECONDS) -> list[str]:
    """The holders of `keys` (other than `node`) whose heartbeat is older than the liveness
    timeout, given a new generation (their node rows locked until the caller commits); by name."""
    monitors, slots = _split(dict.fromkeys(keys))
    params = {"node": node, "monitors": monitors, "slots": slots, "live": _live_seconds(lease_seconds)}
    return sorted(name for (name,) in run(conn, _DECLARE_DEAD, params))


# Rows locked in key order first (the lock order), then handed to nobody.
_RELEASE: Final = """
WITH mine AS MATERIALIZED (
  SELECT monitor, slot FROM lease
  WHERE node = %(node)s AND (%(all)s OR (monitor, slot) IN (
      SELECT * FROM unnest(%(monitors)s::text[], %(slots)s::text[])))
  ORDER BY monitor COLLATE "C", slot COLLATE "C"
  FOR UPDATE)
UPDATE lease AS l SET node = '' FROM mine WHERE l.monitor = mine.monitor AND l.slot = mine.slot
"""


def release(conn: Conn, node: str, keys: Iterable[LeaseKey] | None = None) -> int:
    """Give up these keys (all of the node's when None) if ours; return how many were released.

    The rows stay, held by nobody, so the next holder's epoch is still one higher.
    """
    monitors, slots = _split(keys or ())
    return run(conn, _RELEASE, {"node": node, "all": keys is None, "monitors": monitors,
                                "slots": slots}).rowcount


def _in_transaction(conn: Conn) -> bool:
    raw = raw_connection(conn)
    return not (raw.autocommit and raw.info.transaction_status == pq.TransactionStatus.IDLE)


def fence_node(conn: Conn, node: str, generation: int, *, lock: bool = True) -> bool:
    """Inside the caller's write transaction: whether `node`'s row still has `generation` (nobody
    declared it dead since). With `lock`, the row is locked FOR SHARE until the caller commits, so
    no other node can declare it dead (and take its keys over) in between: a takeover in flight
    is waited for, and then refuses the write. `lock=False` only reads (no lock, no WAL): enough
    for writes that may be doubled once around a takeover (raw checks), not for transitions.
    """
    if lock and not _in_transaction(conn):
        raise ValueError("fence_node() must run inside the caller's write transaction")
    row = run(conn, "SELECT generation FROM node WHERE name = %s" + (" FOR SHARE" if lock else ""),
              (node,)).fetchone()
    return row is not None and int(row[0]) == generation


_HELD: Final = """
SELECT l.monitor, l.slot, l.epoch FROM lease AS l
JOIN unnest(%(monitors)s::text[], %(slots)s::text[], %(epochs)s::bigint[]) AS k(monitor, slot, epoch)
  ON l.monitor = k.monitor AND l.slot = k.slot AND l.epoch = k.epoch
WHERE l.node = %(node)s
ORDER BY l.monitor COLLATE "C", l.slot COLLATE "C"
"""


def fence(conn: Conn, node: str, held: Mapping[LeaseKey, int], *,
          lock: bool = True) -> set[LeaseKey]:
    """Inside the caller's write transaction: lock these lease rows and keep the keys still ours.

    Returns the keys whose lease row still names `node` with the epoch in `held`; those rows are
    locked FOR SHARE until the caller commits, so no other node can take them over in between. Write
    nothing for the other keys. Call it first in the transaction (locks in key order, like acquire).
    `lock=False` only reads. The engine's own commits use `fence_node` (one row); this per-key
    check fences location results (`write_location_state`).
    """
    if lock and not _in_transaction(conn):
        raise ValueError("fence() must run inside the caller's write transaction")
    if not held:
        return set()
    monitors, slots = _split(held)
    params = {"node": node, "monitors": monitors, "slots": slots, "epochs": [int(e) for e in held.values()]}
    rows = run(conn, _HELD + (" FOR SHARE OF l" if lock else ""), params)
    return {(monitor, slot) for monitor, slot, _epoch in rows}


_LEASES: Final = """
SELECT l.monitor, l.slot, l.node, l.epoch,
       coalesce(n.heartbeat_at > clock_timestamp() - make_interval(secs => %(live)s), false)
FROM lease AS l LEFT JOIN node AS n ON n.name = l.node
WHERE l.node <> '' AND (%(all)s OR l.monitor = ANY(%(monitors)s::text[]))
ORDER BY l.monitor, l.slot
"""


def leases(conn: Conn, monitors: Collection[str] | None = None,
           lease_seconds: float = DEFAULT_LEASE_SECONDS) -> list[LeaseRow]:
    """Leases held by some node (dead holders included: see `holder_alive`), of these monitors or all."""
    rows = run(conn, _LEASES, {"all": monitors is None, "monitors": list(monitors or ()),
                               "live": _live_seconds(lease_seconds)})
    return [LeaseRow(monitor, slot, node, int(epoch), bool(alive))
            for monitor, slot, node, epoch, alive in rows]


# ---------------------------------------------------------------- location results

_WRITE_LOCATIONS: Final = """
INSERT INTO location_state AS s (monitor, location, node, epoch, failures, ok, reason, latency_ms, checked_at)
SELECT * FROM unnest(%(monitors)s::text[], %(locations)s::text[], %(nodes)s::text[], %(epochs)s::bigint[],
                     %(failures)s::int[], %(oks)s::boolean[], %(reasons)s::text[], %(latencies)s::float8[],
                     %(ats)s::float8[]) AS u(monitor, location)
ORDER BY u.monitor COLLATE "C", u.location COLLATE "C"
ON CONFLICT (monitor, location) DO UPDATE
SET node = excluded.node, epoch = excluded.epoch, failures = excluded.failures, ok = excluded.ok,
    reason = excluded.reason, latency_ms = excluded.latency_ms, checked_at = excluded.checked_at
WHERE s.checked_at <= excluded.checked_at
"""


def write_location_state(conn: Conn, node: str, held: Mapping[LeaseKey, int],
                         results: Sequence[LocationResult]) -> set[LeaseKey]:
    """Store each location checker's latest result, fenced by its location lease (monitor, location).

    Runs `fence` first, in the caller's transaction; results whose lease is no longer ours at the
    epoch in `held` are dropped. A result older than the stored one does not replace it. Returns
    the keys written (or kept because a newer result was already stored).
    """
    wanted = {(r.monitor, r.location): held[(r.monitor, r.location)]
              for r in results if (r.monitor, r.location) in held}
    allowed = fence(conn, node, wanted)
    chosen: dict[LeaseKey, LocationResult] = {}
    for result in results:  # the newest result per key, if several
        key = (result.monitor, result.location)
        if key in allowed and (key not in chosen or chosen[key].checked_at <= result.checked_at):
            chosen[key] = result
    if chosen:
        rows = list(chosen.values())
        run(conn, _WRITE_LOCATIONS, {
            "monitors": [r.monitor for r in rows], "locations": [r.location for r in rows],
            "nodes": [node] * len(rows), "epochs": [held[(r.monitor, r.location)] for r in rows],
            "failures": [r.failures for r in rows], "oks": [r.ok for r in rows],
            "reasons": [r.reason for r in rows], "latencies": [r.latency_ms for r in rows],
            "ats": [r.checked_at for r in rows]})
    return set(chosen)


_LOCATION_STATES: Final = """
SELECT monitor, location, ok, failures, reason, latency_ms, checked_at, node, epoch FROM location_state
WHERE %(all)s OR monitor = ANY(%(monitors)s::text[]) ORDER BY monitor, location
"""


def location_states(conn: Conn, monitors: Collection[str] | None = None) -> list[LocationState]:
    """The latest result of each location checker of these monitors (all when None), in key order."""
    rows = run(conn, _LOCATION_STATES, {"all": monitors is None, "monitors": list(monitors or ())})
    return [LocationState(LocationResult(monitor, location, ok, failures, reason, latency, at), node,
                          int(epoch))
            for monitor, location, ok, failures, reason, latency, at, node, epoch in rows]


def drop_location_states(conn: Conn, keep: Collection[LeaseKey]) -> int:
    """Delete results of location checkers that no longer exist (monitor removed, location dropped)."""
    monitors, locations = _split(keep)
    return run(conn, "WITH gone AS MATERIALIZED (SELECT monitor, location FROM location_state "
                     "WHERE (monitor, location) NOT IN (SELECT * FROM unnest(%s::text[], %s::text[])) "
                     'ORDER BY monitor COLLATE "C", location COLLATE "C" FOR UPDATE) '
                     "DELETE FROM location_state AS s USING gone "
                     "WHERE s.monitor = gone.monitor AND s.location = gone.location",
               (monitors, locations)).rowcount
