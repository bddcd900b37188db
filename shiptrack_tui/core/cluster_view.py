"""What a reader of a cluster shows about it (DESIGN §12): the nodes, which are alive, whose config
differs, and who checks a monitor. Pure: the store reads the rows, the dashboard, `shiptrack
cluster status` and `/api/v1/cluster` say the same things from them.

Config skew is judged as the engines judge it for their log (core/cluster.py `skew`): among the
live nodes, the config hash most of them publish is the cluster's and a node on another is out of
step; when two hashes tie for most, every live node is.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from shiptrack_tui.core.cluster import NodeView, Skew, skew

OWNER_SLOT: Final = ""
"""A lease's slot for the monitor's owner (a location name for a location checker)."""
HASH_SHOWN: Final = 12
"""Characters of a config hash a table shows (the JSON has it whole)."""
DEFAULT_LEASE: Final = 20.0
"""Seconds: `[cluster] lease` when the reader has no config saying otherwise."""


@dataclass(frozen=True, slots=True)
class ClusterNode:
    """One node's heartbeat row as a reader sees it; times are POSIX seconds."""

    name: str
    location: str
    last_heartbeat: float
    heartbeat_age: float
    """Seconds since its last heartbeat, by the database's clock (the reader's may differ)."""
    alive: bool
    """Its heartbeat is within the liveness timeout (0.6 of the lease: core/cluster.py)."""
    monitors_owned: int = 0
    """Owner leases it holds (0 while it is dead: they wait for another node to take them)."""
    config_hash: str = ""
    lateness_p99_ms: float | None = None
    """The p99 of its checks' start lateness, as it last published it (None: not published)."""
    started_at: float | None = None


class Located(Protocol):
    """A monitor as far as locations go (config's MonitorSpec)."""

    @property
    def locations(self) -> tuple[str, ...]: ...


def wanted_locations(monitors: Iterable[Located]) -> dict[str, int]:
    """Location -> how many monitors ask to be checked from it (`locations` in the config)."""
    return dict(Counter(location for monitor in monitors for location in monitor.locations))


def unserved_locations(nodes: Iterable[ClusterNode], wanted: Mapping[str, int]
                       ) -> tuple[tuple[str, int], ...]:
    """(location, monitors asking for it) for each wanted location no live node is in, by name.

    Nobody checks those monitors from there: they show no result for it, and an incident needing
    `confirm` locations can open only if enough of the others fail."""
    served = {node.location for node in nodes if node.alive}
    return tuple(sorted((location, count) for location, count in wanted.items() if location not in served))


def unserved_text(unserved: Iterable[tuple[str, int]]) -> str:
    """`no live node in ap-south (3 monitors ask for it)`, or "" when every location is served."""
    parts = [f"{location} ({count:,} monitors ask for it)" if count != 1
             else f"{location} (1 monitor asks for it)" for location, count in unserved]
    return f"no live node in {', '.join(parts)}" if parts else ""


@dataclass(frozen=True, slots=True)
class Checker:
    """A node holding a live lease on a monitor: its owner (slot "") or a location checker."""

    node: str
    location: str
    slot: str = OWNER_SLOT


def config_skew(nodes: Iterable[ClusterNode]) -> Skew:
    """Which live nodes run a config other than the cluster's (core/cluster.py)."""
    return skew(NodeView(node.name, node.location, frozenset(), node.alive, node.config_hash)
                for node in nodes)


def skewed_nodes(nodes: Iterable[ClusterNode]) -> frozenset[str]:
    """The names of the live nodes whose config differs from the cluster's."""
    return frozenset(name for name, _digest in config_skew(nodes).odd)


def alive_text(nodes: Sequence[ClusterNode]) -> str:
    """`3 nodes alive`, `1 node alive`, or `2 of 3 nodes alive` when some are not."""
    return ClusterHeader.of(nodes).nodes_text


def skew_text(skewed: Iterable[str]) -> str:
    """`config skew: fra-2` (names sorted), or "" without skew."""
    names = sorted(skewed)
    return f"config skew: {', '.join(names)}" if names else ""


def checkers_text(checkers: Sequence[Checker]) -> str:
    """Who checks a monitor: `fra-1 (eu-west)`; with location checkers `fra-1 (eu-west); from
    us-east by nyc-1, ap-south by sin-1`; "" when no node holds a live lease on it."""
    owner = next((c for c in checkers if c.slot == OWNER_SLOT), None)
    located = sorted((c for c in checkers if c.slot != OWNER_SLOT), key=lambda c: c.slot)
    parts = [f"{owner.node} ({owner.location})"] if owner is not None else []
    if located:
        parts.append("from " + ", ".join(f"{c.slot} by {c.node}" for c in located))
    return "; ".join(parts)


@dataclass(frozen=True, slots=True)
class ClusterHeader:
    """What the dashboard's header says about the cluster."""

    alive: int
    total: int
    skewed: tuple[str, ...] = ()
    unserved: tuple[str, ...] = ()
    """Locations some monitor asks for that no live node is in."""

    @classmethod
    def of(cls, nodes: Sequence[ClusterNode], wanted: Mapping[str, int] | None = None) -> ClusterHeader:
        unserved = tuple(location for location, _count in unserved_locations(nodes, wanted or {}))
        return cls(sum(1 for node in nodes if node.alive), len(nodes), tuple(sorted(skewed_nodes(nodes))),
                   unserved)

    @property
    def missing(self) -> bool:
        """Some node is not alive: the header says so in the warning colour."""
        return self.alive < self.total

    @property
    def nodes_text(self) -> str:
        """`3 nodes alive` or `2 of 3 nodes alive`."""
        if self.alive == self.total:
            return f"{self.alive} node alive" if self.alive == 1 else f"{self.alive} nodes alive"
        return f"{self.alive} of {self.total} nodes alive"

    @property
    def skew_text(self) -> str:
        return skew_text(self.skewed)

    @property
    def unserved_text(self) -> str:
        """`no node in ap-south`, or "" when every wanted location has a live node."""
        return f"no node in {', '.join(self.unserved)}" if self.unserved else ""
