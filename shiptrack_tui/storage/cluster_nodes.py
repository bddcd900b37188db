"""Nodes of a cluster on PostgreSQL: heartbeats, who is alive, `shiptrack cluster status` (DESIGN §12).

PostgreSQL only, like storage/cluster.py: functions take a psycopg 3 connection and run in the
caller's transaction. "Alive" is judged by the database clock: a heartbeat less than the lease
time old.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from shiptrack_tui.storage.cluster import DEFAULT_LEASE_SECONDS, Conn, release, run


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """What a node publishes about itself with every heartbeat."""

    name: str
    location: str
    config_hash: str
    monitors: tuple[str, ...]  # the monitor names in its config
    version: str = ""
    pid: int | None = None
    host: str | None = None
    owned: int = 0
    lateness_p99_ms: float | None = None


@dataclass(frozen=True, slots=True)
class NodeRow:
    """A node as stored; `age` is seconds since its last heartbeat by the database clock."""

    name: str
    location: str
    config_hash: str
    monitors: frozenset[str]
    started_at: float
    heartbeat_at: float
    age: float
    alive: bool
    owned: int
    lateness_p99_ms: float | None
    version: str
    pid: int | None
    host: str | None


_BEAT: Final = """
UPDATE node SET heartbeat_at = clock_timestamp(), owned = %(owned)s, lateness_p99_ms = %(lateness)s,
    location = %(location)s, version = %(version)s
WHERE name = %(name)s AND config_hash = %(hash)s AND pid IS NOT DISTINCT FROM %(pid)s
  AND host IS NOT DISTINCT FROM %(host)s
"""

_HOLDER: Final = """
SELECT pid, host, heartbeat_at > clock_timestamp() - make_interval(secs => %(lease)s)
FROM node WHERE name = %(name)s FOR UPDATE
"""

_UPSERT_NODE: Final = """
INSERT INTO node (name, location, config_hash, monitors, started_at, heartbeat_at, owned, lateness_p99_ms,
                  version, pid, host)
VALUES (%(name)s, %(location)s, %(hash)s, %(monitors)s::text[], clock_timestamp(), clock_timestamp(),
        %(owned)s, %(lateness)s, %(version)s, %(pid)s, %(host)s)
ON CONFLICT (name) DO UPDATE SET location = excluded.location, config_hash = excluded.config_hash,
    monitors = excluded.monitors, heartbeat_at = excluded.heartbeat_at, owned = excluded.owned,
    lateness_p99_ms = excluded.lateness_p99_ms, version = excluded.version, pid = excluded.pid,
    host = excluded.host,
    started_at = CASE WHEN node.pid IS NOT DISTINCT FROM excluded.pid AND node.host IS NOT DISTINCT FROM
                 excluded.host THEN node.started_at ELSE excluded.started_at END
"""


def heartbeat(conn: Conn, info: NodeInfo,
              lease_seconds: float = DEFAULT_LEASE_SECONDS) -> str | None:
    """Record that `info.name` is alive now (database clock) and what it reports.

    The common beat (same config hash, same process) is one short UPDATE that does not resend the
    monitor list. Returns None, or a one-line warning when another live process (other pid or
    host) was heartbeating under the same node name until now: two engines must not share a name.
    """
    params = {"name": info.name, "location": info.location, "hash": info.config_hash,
              "monitors": list(info.monitors), "owned": info.owned, "lateness": info.lateness_p99_ms,
              "version": info.version, "pid": info.pid, "host": info.host, "lease": float(lease_seconds)}
    if run(conn, _BEAT, params).rowcount:
        return None
    holder = run(conn, _HOLDER, params).fetchone()
    clash = None
    if holder is not None and holder[2] and (holder[0], holder[1]) != (info.pid, info.host):
        clash = (f"node name {info.name!r} was heartbeating from pid {holder[0]} on {holder[1] or '?'} "
                 f"less than {lease_seconds:g}s ago: if that engine still runs, give each its own "
                 "[cluster] node")
    run(conn, _UPSERT_NODE, params)
    return clash


_NODES: Final = """
SELECT name, location, config_hash, monitors, extract(epoch FROM started_at)::float8,
       extract(epoch FROM heartbeat_at)::float8, extract(epoch FROM clock_timestamp() - heartbeat_at)::float8,
       owned, lateness_p99_ms, version, pid, host
FROM node ORDER BY name
"""


def nodes(conn: Conn, lease_seconds: float = DEFAULT_LEASE_SECONDS) -> list[NodeRow]:
    """Every node that ever beat; alive = its last heartbeat is less than `lease_seconds` old."""
    return [
        NodeRow(name=name, location=location, config_hash=config_hash, monitors=frozenset(monitors or ()),
                started_at=started, heartbeat_at=beat, age=age, alive=age < lease_seconds, owned=owned,
                lateness_p99_ms=lateness, version=version, pid=pid, host=host)
        for (name, location, config_hash, monitors, started, beat, age, owned, lateness, version, pid,
             host) in run(conn, _NODES)
    ]


def forget_node(conn: Conn, name: str) -> None:
    """A clean shutdown: release every lease of the node and drop its row."""
    release(conn, name)
    run(conn, "DELETE FROM node WHERE name = %s", (name,))


def database_now(conn: Conn) -> float:
    """The database clock as Unix seconds."""
    row = run(conn, "SELECT extract(epoch FROM clock_timestamp())::float8").fetchone()
    assert row is not None
    return float(row[0])



@dataclass(frozen=True, slots=True)
class NodeStatus:
    """One line of `shiptrack cluster status`: a node, what it holds now and whether its config agrees."""

    node: NodeRow
    owning: int  # owner leases it holds now (not expired)
    checking: int  # location leases it holds now
    config_differs: bool  # its config hash is not the one most live nodes run


_STATUS_COUNTS: Final = """
SELECT node, count(*) FILTER (WHERE slot = ''), count(*) FILTER (WHERE slot <> '')
FROM lease WHERE node <> '' AND expires_at > clock_timestamp() GROUP BY node
"""


def cluster_status(conn: Conn,
                   lease_seconds: float = DEFAULT_LEASE_SECONDS) -> list[NodeStatus]:
    """Nodes with their location, heartbeat age, leases held, config hash and lateness, by name."""
    rows = nodes(conn, lease_seconds)
    counts = {node: (owning, checking) for node, owning, checking in run(conn, _STATUS_COUNTS)}
    hashes = [row.config_hash for row in rows if row.alive]
    common = max(sorted(set(hashes)), key=hashes.count) if hashes else None
    return [NodeStatus(row, *counts.get(row.name, (0, 0)),
                       config_differs=common is not None and row.config_hash != common)
            for row in rows]
