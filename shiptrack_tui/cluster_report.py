"""What `shiptrack cluster status` prints and `/api/v1/cluster` answers: one JSON shape, one table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from shiptrack_tui.core.cluster_view import (
    HASH_SHOWN,
    ClusterNode,
    alive_text,
    config_skew,
    skewed_nodes,
    unserved_locations,
    unserved_text,
)
from shiptrack_tui.core.durations import format_duration
from shiptrack_tui.core.formats import NO_DATA, fmt_ms
from shiptrack_tui.report import iso

SKEW_MARK: Final = "≠"
"""Beside the config hash of a node whose config differs from the cluster's."""


def heartbeat_text(node: ClusterNode) -> str:
    """`alive, 3s ago` or `dead, 2m 5s ago` (ages by the database's clock)."""
    ago = format_duration(round(max(0.0, node.heartbeat_age)))
    return f"{'alive' if node.alive else 'dead'}, {ago} ago"


def cluster_table(nodes: Sequence[ClusterNode], wanted: Mapping[str, int] | None = None) -> str:
    """One row per node (live ones first, then by name), then a summary line; `wanted`: location ->
    monitors asking for it (a location no live node is in gets a warning line)."""
    if not nodes:
        return "no nodes have joined this database yet: start `shiptrack --daemon` with [storage] url"
    skew = config_skew(nodes)
    skewed = skewed_nodes(nodes)
    header = ("NODE", "LOCATION", "HEARTBEAT", "MONITORS", "CONFIG", "LATENESS P99")
    rows = [header]
    for node in sorted(nodes, key=lambda n: (not n.alive, n.name)):
        config = (node.config_hash[:HASH_SHOWN] or NO_DATA) + (f" {SKEW_MARK}" if node.name in skewed else "")
        rows.append((node.name, node.location, heartbeat_text(node), f"{node.monitors_owned:,}", config,
                     fmt_ms(node.lateness_p99_ms)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    right = {3}  # counts line up on the right
    lines = ["  ".join(cell.rjust(w) if i in right else cell.ljust(w)
                       for i, (cell, w) in enumerate(zip(row, widths, strict=True))).rstrip() for row in rows]
    owned = sum(node.monitors_owned for node in nodes if node.alive)
    summary = [alive_text(nodes), f"{owned:,} monitors owned"]
    if skew:
        summary.append(f"{SKEW_MARK} {skew.text()}")
    lines.append("")
    lines.append(" · ".join(summary))
    unserved = unserved_text(unserved_locations(nodes, wanted or {}))
    if unserved:
        lines.append(f"⚠ {unserved}: nobody checks them from there")
    return "\n".join(lines)


def cluster_json(nodes: Sequence[ClusterNode], wanted: Mapping[str, int] | None = None) -> dict[str, Any]:
    """`{"nodes": [...], "alive": 2, "total": 3, "skewed": ["fra-2"], "unserved_locations": [...]}`;
    times UTC ISO (docs/json.md)."""
    skewed = skewed_nodes(nodes)
    return {
        "nodes": [{
            "name": node.name,
            "location": node.location,
            "alive": node.alive,
            "last_heartbeat_at": iso(node.last_heartbeat),
            "started_at": iso(node.started_at),
            "monitors_owned": node.monitors_owned,
            "config_hash": node.config_hash or None,
            "config_skew": node.name in skewed,
            "lateness_p99_ms": None if node.lateness_p99_ms is None else round(node.lateness_p99_ms, 2),
        } for node in sorted(nodes, key=lambda n: n.name)],
        "alive": sum(1 for node in nodes if node.alive),
        "total": len(nodes),
        "skewed": sorted(skewed),
        "unserved_locations": [{"location": location, "monitors": count}
                               for location, count in unserved_locations(nodes, wanted or {})],
    }
