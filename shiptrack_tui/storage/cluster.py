"""Several engines on one PostgreSQL: leases with epochs, fencing, location results (DESIGN §12).

PostgreSQL only (nodes and `cluster status`: cluster_nodes.py; outbox claims: cluster_outbox.py).
Every function takes a psycopg 3 connection, or the store's `PgConnection` around one, and runs
its statements in whatever transaction the caller has open; the caller commits. psycopg's errors
come out as peewee's, as from the rest of the store. Times that decide anything (heartbeats,
lease expiry) come from the database clock, `clock_timestamp()`, so the nodes' own clocks do not
matter; times handed back are Unix seconds (floats) or ages measured by that same clock.

A lease is keyed by (monitor, slot): slot "" is the monitor's owner, slot "<location>" a location
checker. Its epoch grows by one each time the lease changes hands; a lease is never deleted (a
release hands it to nobody, ""), so epochs never go back. A write is fenced by the epoch, not by
the clock: `fence` locks the writer's lease rows inside the write transaction and keeps only the
keys whose (node, epoch) still match, so a node that was paused past its lease and taken over
writes nothing for those keys when it wakes, while a node whose lease merely ran out (the
database was away) still may, since nobody else took it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import psycopg
from psycopg import pq

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


@dataclass(frozen=True, slots=True)
class LeaseRow:
    """A lease; `remaining` is seconds until it expires (negative once expired)."""

    monitor: str
    slot: str
    node: str
    epoch: int
    remaining: float

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

def _takeable(alias: str) -> str:
    """SQL: the lease row `alias` may be taken by node %(node)s (see `acquire`)."""
    return f"""({alias}.node = %(node)s OR {alias}.node = '' OR (%(take)s AND (
    {alias}.expires_at <= clock_timestamp()
    OR (%(holder)s::float8 IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM node AS n WHERE n.name = {alias}.node
        AND n.heartbeat_at > clock_timestamp() - make_interval(secs => %(holder)s))))))"""


# One statement per batch. Rows are taken in key order (COLLATE "C"), as in renew and fence, so
# two nodes racing for overlapping batches wait for each other instead of deadlocking. Keys held
# by others (as last committed) are filtered out first: ON CONFLICT would lock each of them
# (WAL) only to refuse it. The ON CONFLICT condition is what decides, on the row's latest version.
_ACQUIRE: Final = f"""
INSERT INTO lease AS l (monitor, slot, node, epoch, expires_at)
SELECT k.monitor, k.slot, %(node)s, 1, clock_timestamp() + make_interval(secs => %(secs)s)
FROM unnest(%(monitors)s::text[], %(slots)s::text[]) AS k(monitor, slot)
WHERE NOT EXISTS (SELECT 1 FROM lease AS e WHERE e.monitor = k.monitor AND e.slot = k.slot
                  AND NOT {_takeable("e")})
ORDER BY k.monitor COLLATE "C", k.slot COLLATE "C"
ON CONFLICT (monitor, slot) DO UPDATE
SET node = excluded.node, expires_at = excluded.expires_at,
    epoch = CASE WHEN l.node = excluded.node THEN l.epoch ELSE l.epoch + 1 END
WHERE {_takeable("l")}
RETURNING l.monitor, l.slot, l.epoch
"""


def acquire(conn: Conn, node: str, keys: Iterable[LeaseKey],
            lease_seconds: float = DEFAULT_LEASE_SECONDS, *, holder_timeout: float | None = None,
            take_expired: bool = True) -> dict[LeaseKey, int]:
    """Take the keys that are free, expired or already ours; return those we now hold -> epoch.

    A key that changes hands gets its epoch + 1 (a new key starts at 1); a key already ours keeps
    its epoch and is extended. Keys held by another node and not expired are left out; a key whose
    holder is busy writing under it (`fence`) is waited for, then judged again.
    `holder_timeout`: also take keys whose holder has not heartbeated for that long (or has no
    node row), whatever their expiry: with it, liveness is the node's heartbeat and keys can be
    acquired with a long lease and renewed rarely (each renewal writes ~100-150 B of WAL a key).
    `take_expired=False`: take only free, released or our own keys, not expired ones of others,
    e.g. for a lease time after the database came back, so every node can renew its own first.
    """
    monitors, slots = _split(dict.fromkeys(keys))
    if not monitors:
        return {}
    rows = run(conn, _ACQUIRE, {"node": node, "secs": float(lease_seconds), "monitors": monitors,
                                "slots": slots, "take": take_expired,
                                "holder": None if holder_timeout is None else float(holder_timeout)})
    return _keyed(rows)


_HELD: Final = """
SELECT l.monitor, l.slot, l.epoch FROM lease AS l
JOIN unnest(%(monitors)s::text[], %(slots)s::text[], %(epochs)s::bigint[]) AS k(monitor, slot, epoch)
  ON l.monitor = k.monitor AND l.slot = k.slot AND l.epoch = k.epoch
WHERE l.node = %(node)s
ORDER BY l.monitor COLLATE "C", l.slot COLLATE "C"
"""

_RENEW: Final = f"""
WITH held AS MATERIALIZED ({_HELD} FOR UPDATE OF l)
UPDATE lease AS l SET expires_at = clock_timestamp() + make_interval(secs => %(secs)s)
FROM held WHERE l.monitor = held.monitor AND l.slot = held.slot
RETURNING l.monitor, l.slot, l.epoch
"""


def _held_params(node: str, held: Mapping[LeaseKey, int]) -> dict[str, Any]:
    monitors, slots = _split(held)
    return {"node": node, "monitors": monitors, "slots": slots, "epochs": [int(e) for e in held.values()]}


def renew(conn: Conn, node: str, held: Mapping[LeaseKey, int],
          lease_seconds: float = DEFAULT_LEASE_SECONDS) -> dict[LeaseKey, int]:
    """Extend the keys still ours at the same epoch; return them (the others were lost).

    A key whose lease expired is renewed too as long as nobody took it: that is what lets a node
    ride out a database outage longer than its lease.
    """
    if not held:
        return {}
    params = _held_params(node, held) | {"secs": float(lease_seconds)}
    return _keyed(run(conn, _RENEW, params))


_RELEASE: Final = """
UPDATE lease SET node = '', expires_at = clock_timestamp()
WHERE node = %(node)s AND (%(all)s OR (monitor, slot) IN (
    SELECT * FROM unnest(%(monitors)s::text[], %(slots)s::text[])))
"""


def release(conn: Conn, node: str, keys: Iterable[LeaseKey] | None = None) -> int:
    """Give up these keys (all of the node's when None) if ours; return how many were released.

    The rows stay, held by nobody and expired, so the next holder's epoch is still one higher.
    """
    monitors, slots = _split(keys or ())
    return run(conn, _RELEASE, {"node": node, "all": keys is None, "monitors": monitors,
                                "slots": slots}).rowcount


def fence(conn: Conn, node: str, held: Mapping[LeaseKey, int], *,
          lock: bool = True) -> set[LeaseKey]:
    """Inside the caller's write transaction: lock the node's lease rows and keep the keys still ours.

    Returns the keys whose lease row still names `node` with the epoch in `held`; those rows are
    locked FOR SHARE until the caller commits, so no other node can take them over in between. Write
    nothing for the other keys. Call it first in the transaction (locks in key order, like acquire).
    `lock=False` only reads (no lock, no WAL; a lock costs ~100 B of WAL a key): enough for writes
    that may be doubled once around a takeover (raw checks), not for transitions or notifications.
    """
    raw = raw_connection(conn)
    if lock and raw.autocommit and raw.info.transaction_status == pq.TransactionStatus.IDLE:
        raise ValueError("fence() must run inside the caller's write transaction")
    if not held:
        return set()
    rows = run(conn, _HELD + (" FOR SHARE OF l" if lock else ""), _held_params(node, held))
    return {(monitor, slot) for monitor, slot, _epoch in rows}


_LEASES: Final = """
SELECT monitor, slot, node, epoch, extract(epoch FROM expires_at - clock_timestamp())::float8
FROM lease WHERE node <> '' AND (%(all)s OR monitor = ANY(%(monitors)s::text[]))
ORDER BY monitor, slot
"""


def leases(conn: Conn, monitors: Collection[str] | None = None) -> list[LeaseRow]:
    """Leases held by some node (expired ones included: see `remaining`), of these monitors or all."""
    rows = run(conn, _LEASES, {"all": monitors is None, "monitors": list(monitors or ())})
    return [LeaseRow(monitor, slot, node, int(epoch), remaining)
            for monitor, slot, node, epoch, remaining in rows]


# ---------------------------------------------------------------- location results

_WRITE_LOCATIONS: Final = """
INSERT INTO location_state AS s (monitor, location, node, epoch, failures, ok, reason, latency_ms, checked_at)
SELECT * FROM unnest(%(monitors)s::text[], %(locations)s::text[], %(nodes)s::text[], %(epochs)s::bigint[],
                     %(failures)s::int[], %(oks)s::boolean[], %(reasons)s::text[], %(latencies)s::float8[],
                     %(ats)s::float8[])
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
    return run(conn, "DELETE FROM location_state WHERE (monitor, location) NOT IN "
                     "(SELECT * FROM unnest(%s::text[], %s::text[]))", (monitors, locations)).rowcount
