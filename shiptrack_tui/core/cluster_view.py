"""What a reader of a cluster shows about it (DESIGN §12): the nodes, which are alive, whose config
differs, and who checks a monitor. Pure: the store reads the rows, the dashboard, `shiptrack
cluster status` and `/api/v1/cluster` say the same things from them.

Config skew is judged among the live nodes: the config hash most of them publish is the cluster's,
and a node publishing another one is skewed. When no hash has more nodes than every other one
(two nodes, two configs) there is no majority to trust, and every live node is named.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

OWNER_SLOT: Final = ""
"""A lease's slot for the monitor's owner (a location name for a location checker)."""
HASH_SHOWN: Final = 8
"""Characters of a config hash a table shows (the JSON has it whole)."""


@dataclass(frozen=True, slots=True)
class ClusterNode:
    """One node's heartbeat row as a reader sees it; times are POSIX seconds."""

    name: str
    location: str
    last_heartbeat: float
    alive: bool
    """Its heartbeat is within the lease time (judged by the database's clock)."""
    monitors_owned: int = 0
    """Owner leases it holds that have not expired."""
    config_hash: str = ""
    lateness_p99_ms: float | None = None
    """The p99 of its checks' start lateness, as it last published it (None: not published)."""
    started_at: float | None = None


@dataclass(frozen=True, slots=True)
class Checker:
    """A node holding a live lease on a monitor: its owner (slot "") or a location checker."""

    node: str
    location: str
    slot: str = OWNER_SLOT


def skewed_nodes(nodes: Iterable[ClusterNode]) -> frozenset[str]:
    """The live nodes whose config hash is not the one most live nodes publish."""
    live = [node for node in nodes if node.alive]
    counts = Counter(node.config_hash for node in live).most_common()
    if len(counts) < 2:
        return frozenset()
    if counts[0][1] == counts[1][1]:  # no majority: every live node differs from another as much
        return frozenset(node.name for node in live)
    return frozenset(node.name for node in live if node.config_hash != counts[0][0])


def alive_text(nodes: Sequence[ClusterNode]) -> str:
    """`3 nodes alive`, `1 node alive`, or `2 of 3 nodes alive` when some are not."""
    alive = sum(1 for node in nodes if node.alive)
    if alive == len(nodes):
        return f"{alive} node alive" if alive == 1 else f"{alive} nodes alive"
    return f"{alive} of {len(nodes)} nodes alive"


def skew_text(skewed: Iterable[str]) -> str:
    """`config skew: fra-2` (names sorted), or "" without skew."""
    names = sorted(skewed)
    return f"config skew: {', '.join(names)}" if names else ""


def checked_by_text(checkers: Sequence[Checker]) -> str:
    """`checked by fra-1 (eu-west)`; with location checkers `checked by fra-1 (eu-west); from
    us-east by nyc-1`; "" when no node holds a live lease on the monitor."""
    owner = next((c for c in checkers if c.slot == OWNER_SLOT), None)
    located = sorted((c for c in checkers if c.slot != OWNER_SLOT), key=lambda c: c.slot)
    parts = [f"checked by {owner.node} ({owner.location})"] if owner is not None else []
    if located:
        by = ", ".join(f"{c.slot} by {c.node}" for c in located)
        parts.append(f"from {by}" if parts else f"checked from {by}")
    return "; ".join(parts)


def owner_of(checkers: Mapping[str, Sequence[Checker]], monitor: str) -> str | None:
    """The node that owns `monitor` now, or None."""
    return next((c.node for c in checkers.get(monitor, ()) if c.slot == OWNER_SLOT), None)
