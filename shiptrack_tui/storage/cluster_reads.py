"""What readers (the dashboard, `cluster status`, `/api/v1/cluster`) learn about a cluster: the
nodes and who checks which monitor, as the core's dataclasses (core/cluster_view.py).

PostgreSQL only, on a psycopg connection, built on storage/cluster_nodes.py; the Store answers
"no cluster" on SQLite without calling these. A database no cluster node has joined yet may lack
the cluster tables: that reads as no nodes and no checkers.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Final

import psycopg
from psycopg import errors

from shiptrack_tui.core.cluster_view import Checker, ClusterNode
from shiptrack_tui.storage.cluster import DEFAULT_LEASE_SECONDS
from shiptrack_tui.storage.cluster_nodes import cluster_status

_CHECKERS: Final = """
SELECT l.monitor, l.slot, l.node, coalesce(n.location, '')
FROM lease AS l LEFT JOIN node AS n ON n.name = l.node
WHERE l.node <> '' AND l.expires_at > clock_timestamp() AND l.monitor = ANY(%(monitors)s::text[])
ORDER BY l.monitor, l.slot
"""


def cluster_nodes(conn: psycopg.Connection[Any],
                  lease_seconds: float = DEFAULT_LEASE_SECONDS) -> list[ClusterNode]:
    """Every node that has written a heartbeat, by name (skew is judged from them as the engines
    judge it: core/cluster_view.py)."""
    try:
        found = cluster_status(conn, lease_seconds)
    except errors.UndefinedTable:
        return []
    return [ClusterNode(name=s.node.name, location=s.node.location, last_heartbeat=s.node.heartbeat_at,
                        heartbeat_age=s.node.age, alive=s.node.alive, monitors_owned=s.owning,
                        config_hash=s.node.config_hash,
                        lateness_p99_ms=s.node.lateness_p99_ms, started_at=s.node.started_at)
            for s in found]


def checkers(conn: psycopg.Connection[Any], monitors: Collection[str]) -> dict[str, tuple[Checker, ...]]:
    """Monitor -> the nodes holding a live lease on it (its owner, its location checkers)."""
    if not monitors:
        return {}
    try:
        rows = conn.execute(_CHECKERS, {"monitors": list(monitors)}).fetchall()
    except errors.UndefinedTable:
        return {}
    found: dict[str, list[Checker]] = {}
    for monitor, slot, node, location in rows:
        found.setdefault(monitor, []).append(Checker(node=node, location=location, slot=slot))
    return {monitor: tuple(each) for monitor, each in found.items()}
