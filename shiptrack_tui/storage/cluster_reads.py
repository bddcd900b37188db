"""What readers (the dashboard, `cluster status`, `/api/v1/cluster`) learn about a cluster: the
nodes and who checks which monitor, as the core's dataclasses (core/cluster_view.py).

PostgreSQL only, on the store's connection, built on storage/cluster_nodes.py (`nodes`); the Store
answers "no cluster" on SQLite without calling these. A database no cluster node has joined yet
may lack the cluster tables: that reads as no nodes and no checkers.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Final

from peewee import PeeweeException
from psycopg import errors

from shiptrack_tui.core.cluster import liveness_timeout
from shiptrack_tui.core.cluster_view import Checker, ClusterNode
from shiptrack_tui.storage.cluster import DEFAULT_LEASE_SECONDS, Conn, run
from shiptrack_tui.storage.cluster_nodes import nodes
from shiptrack_tui.storage.db import StorageError

# A lease counts while its holder is alive (heartbeat within the liveness timeout): leases do not
# expire, a dead node's wait for another node to take them over.
_ALIVE: Final = "n.heartbeat_at > clock_timestamp() - make_interval(secs => %(live)s)"

# Owner leases of monitors the store has (not the engines' own chores lease, "*cluster").
_OWNED: Final = f"""
SELECT l.node, count(*) FROM lease AS l JOIN monitor AS m ON m.name = l.monitor
JOIN node AS n ON n.name = l.node
WHERE l.slot = '' AND {_ALIVE}
GROUP BY l.node
"""

_CHECKERS: Final = f"""
SELECT l.monitor, l.slot, l.node, n.location
FROM lease AS l JOIN node AS n ON n.name = l.node
WHERE {_ALIVE} AND l.monitor = ANY(%(monitors)s::text[])
ORDER BY l.monitor, l.slot
"""


def _no_tables(error: PeeweeException) -> bool:
    """No cluster node has joined this database yet: its cluster tables do not exist."""
    return isinstance(error.__cause__, errors.UndefinedTable)


def _unreadable(what: str, error: PeeweeException) -> StorageError:
    return StorageError(f"{what} cannot be read from PostgreSQL ({error})")


def cluster_nodes(conn: Conn,
                  lease_seconds: float = DEFAULT_LEASE_SECONDS) -> list[ClusterNode]:
    """Every node that has written a heartbeat, by name (skew is judged from them as the engines
    judge it: core/cluster_view.py)."""
    try:
        rows = nodes(conn, lease_seconds)
        owned = dict(run(conn, _OWNED, {"live": liveness_timeout(lease_seconds)}).fetchall())
    except PeeweeException as error:
        if _no_tables(error):
            return []
        raise _unreadable("the cluster's nodes", error) from error
    return [ClusterNode(name=row.name, location=row.location, last_heartbeat=row.heartbeat_at,
                        heartbeat_age=row.age, alive=row.alive, monitors_owned=int(owned.get(row.name, 0)),
                        config_hash=row.config_hash, lateness_p99_ms=row.lateness_p99_ms,
                        started_at=row.started_at)
            for row in rows]


def checkers(conn: Conn, monitors: Collection[str],
             lease_seconds: float = DEFAULT_LEASE_SECONDS) -> dict[str, tuple[Checker, ...]]:
    """Monitor -> the live nodes holding a lease on it (its owner, its location checkers)."""
    if not monitors:
        return {}
    try:
        rows = run(conn, _CHECKERS, {"monitors": list(monitors),
                                     "live": liveness_timeout(lease_seconds)}).fetchall()
    except PeeweeException as error:
        if _no_tables(error):
            return {}
        raise _unreadable("who checks which monitor", error) from error
    found: dict[str, list[Checker]] = {}
    for monitor, slot, node, location in rows:
        found.setdefault(monitor, []).append(Checker(node=node, location=location, slot=slot))
    return {monitor: tuple(each) for monitor, each in found.items()}
