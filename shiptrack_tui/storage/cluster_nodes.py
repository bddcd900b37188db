"""Nodes of a cluster on PostgreSQL: heartbeats, who is alive, `shiptrack cluster status` (DESIGN §12).

PostgreSQL only, like storage/cluster.py: functions take a psycopg 3 connection and run in the
caller's transaction. "Alive" is judged by the database clock: a heartbeat younger than the
liveness timeout (core/cluster.py `liveness_timeout` of the lease). A node's row carries its
generation: the heartbeat only counts while it is still the one the node joined with; a node
that finds it changed was declared dead by another node (storage/cluster.py `acquire`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from shiptrack_tui.core.cluster import liveness_timeout
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
    generation: int = 0


@dataclass(frozen=True, slots=True)
class Beat:
    """What a heartbeat found: the generation the node beats under now, whether it had been
    declared dead (its generation was changed by another node, or its row was gone: it rejoined
    with a new generation), and a warning about another process under its name, if any."""

    generation: int
    lost: bool = False
    clash: str | None = None


_BEAT: Final = """
UPDATE node SET heartbeat_at = clock_timestamp(), owned = %(owned)s, lateness_p99_ms = %(lateness)s,
    location = %(location)s, version = %(version)s
WHERE name = %(name)s AND generation = %(generation)s AND config_hash = %(hash)s
  AND pid IS NOT DISTINCT FROM %(pid)s AND host IS NOT DISTINCT FROM %(host)s
"""

_HOLDER: Final = """
SELECT pid, host, heartbeat_at > clock_timestamp() - make_interval(secs => %(live)s), generation
FROM node WHERE name = %(name)s FOR UPDATE
"""

_UPSERT_NODE: Final = """
INSERT INTO node (name, location, config_hash, monitors, started_at, heartbeat_at, owned, lateness_p99_ms,
                  version, pid, host, generation)
VALUES (%(name)s, %(location)s, %(hash)s, %(monitors)s::text[], clock_timestamp(), clock_timestamp(),
        %(owned)s, %(lateness)s, %(version)s, %(pid)s, %(host)s,
        coalesce(%(keep)s::bigint, nextval('node_generation')))
ON CONFLICT (name) DO UPDATE SET location = excluded.location, config_hash = excluded.config_hash,
    monitors = excluded.monitors, heartbeat_at = excluded.heartbeat_at, owned = excluded.owned,
    lateness_p99_ms = excluded.lateness_p99_ms, version = excluded.version, pid = excluded.pid,
    host = excluded.host, generation = excluded.generation,
    started_at = CASE WHEN node.pid IS NOT DISTINCT FROM excluded.pid AND node.host IS NOT DISTINCT FROM
                 excluded.host THEN node.started_at ELSE excluded.started_at END
RETURNING generation
"""


def heartbeat(conn: Conn, info: NodeInfo, lease_seconds: float = DEFAULT_LEASE_SECONDS,
              generation: int | None = None) -> Beat:
    """Record that `info.name` is alive now (database clock) and what it reports.

    `generation`: the one the node beats under (None to join). The common beat (same generation,
    config hash and process) is one short UPDATE of the node's own row that does not resend the
    monitor list. If the row has another generation, or none, the node was declared dead (or
    never joined): it joins again under a new generation, and `lost` says whether it had one.
    `clash` warns when another live process (other pid or host) was heartbeating under the same
    node name until now: two engines must not share a name.
    """
    params = {"name": info.name, "location": info.location, "hash": info.config_hash,
              "monitors": list(info.monitors), "owned": info.owned, "lateness": info.lateness_p99_ms,
              "version": info.version, "pid": info.pid, "host": info.host, "generation": generation,
              "live": liveness_timeout(float(lease_seconds))}
    if generation is not None and run(conn, _BEAT, params).rowcount:
        return Beat(generation)
    holder = run(conn, _HOLDER, params).fetchone()
    clash = None
    if holder is not None and holder[2] and (holder[0], holder[1]) != (info.pid, info.host):
        clash = (f"node name {info.name!r} was heartbeating from pid {holder[0]} on {holder[1] or '?'} "
                 f"less than {params['live']:g}s ago: if that engine still runs, give each its own "
                 "[cluster] node")
    kept = generation is not None and holder is not None and int(holder[3]) == generation
    row = run(conn, _UPSERT_NODE, params | {"keep": generation if kept else None}).fetchone()
    assert row is not None
    return Beat(int(row[0]), lost=generation is not None and not kept, clash=clash)


_NODES: Final = """
SELECT name, location, config_hash, monitors, extract(epoch FROM started_at)::float8,
       extract(epoch FROM heartbeat_at)::float8, extract(epoch FROM clock_timestamp() - heartbeat_at)::float8,
       owned, lateness_p99_ms, version, pid, host, generation
FROM node ORDER BY name
"""


def nodes(conn: Conn, lease_seconds: float = DEFAULT_LEASE_SECONDS) -> list[NodeRow]:
    """Every node that ever beat; alive = its last heartbeat is younger than the liveness timeout
    of `lease_seconds` (core/cluster.py `liveness_timeout`)."""
    live = liveness_timeout(float(lease_seconds))
    return [
        NodeRow(name=name, location=location, config_hash=config_hash, monitors=frozenset(monitors or ()),
                started_at=started, heartbeat_at=beat, age=age, alive=age < live, owned=owned,
                lateness_p99_ms=lateness, version=version, pid=pid, host=host, generation=int(generation))
        for (name, location, config_hash, monitors, started, beat, age, owned, lateness, version, pid,
             host, generation) in run(conn, _NODES)
    ]


def forget_node(conn: Conn, name: str) -> None:
    """A clean shutdown: release every lease of the node and drop its row (the row locked first:
    the lock order, storage/cluster.py)."""
    run(conn, "SELECT 1 FROM node WHERE name = %s FOR UPDATE", (name,))
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
    owning: int  # owner leases it holds (counted while it is alive; a dead node's wait for a taker)
    checking: int  # location leases it holds
    config_differs: bool  # its config hash is not the one most live nodes run


_STATUS_COUNTS: Final = """
SELECT node, count(*) FILTER (WHERE slot = ''), count(*) FILTER (WHERE slot <> '')
FROM lease WHERE node <> '' GROUP BY node
"""


def cluster_status(conn: Conn,
                   lease_seconds: float = DEFAULT_LEASE_SECONDS) -> list[NodeStatus]:
    """Nodes with their location, heartbeat age, leases held, config hash and lateness, by name."""
    rows = nodes(conn, lease_seconds)
    counts = {node: (owning, checking) for node, owning, checking in run(conn, _STATUS_COUNTS)}
    hashes = [row.config_hash for row in rows if row.alive]
    common = max(sorted(set(hashes)), key=hashes.count) if hashes else None
    return [NodeStatus(row, *(counts.get(row.name, (0, 0)) if row.alive else (0, 0)),
                       config_differs=common is not None and row.config_hash != common)
            for row in rows]
