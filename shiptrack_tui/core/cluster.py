"""Who checks what in a cluster (DESIGN §12): the lease plan every node computes alike.

A lease key is `(monitor, slot)`. Slot `""` is the monitor's owner: it runs the checks of an
ordinary monitor and writes every transition. Slot `"<location>"` is a location checker of a
multi-location monitor: a node in that location checks it and reports; the owner folds the
reports (core/locations.py).

Keys are placed by rendezvous (highest-random-weight) hashing: each key goes to the eligible node
with the highest score for the pair, a score built from blake2b digests (never Python's `hash()`,
which is salted per process). So every node derives the same plan from the same view, keys spread
evenly, a joining node takes only keys that move to it and a leaving node's keys are the only ones
that move. A plan for 30,000 monitors on 3 nodes takes about 0.1 s here: recompute it when the
view changes (a node joins, dies or publishes another config), not on every heartbeat.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

LeaseKey = tuple[str, str]
"""(monitor, slot): slot OWNER is the monitor's owner, a location name a location checker."""

OWNER: Final = ""
ROUNDS_PER_LEASE: Final = 4
"""A node's membership round (heartbeat, plan, acquire/release) runs every lease / this."""
LIVENESS_SHARE: Final = 0.6
"""A node whose heartbeat is older than this share of the lease is dead to the others, and a node
trusts its leases for this long after the start of its last heartbeat (engine/cluster.py says
why: the takeover then fits in the lease)."""
_SALT: Final = b"shiptrack-lease-v1"
_MASK: Final = (1 << 64) - 1


@dataclass(frozen=True, slots=True)
class NodeView:
    """One node as the others see it (its heartbeat row): which monitors its config has, whether
    its heartbeat is recent, and the hash of its monitor config (for skew). Nodes publishing the
    same config hash may share one `monitors` set."""

    name: str
    location: str
    monitors: frozenset[str]
    alive: bool = True
    config_hash: str = ""


def liveness_timeout(lease: float) -> float:
    """Seconds without a heartbeat after which a node is dead (its keys may be taken over), and
    for which a node trusts its leases after the start of its last successful heartbeat."""
    return LIVENESS_SHARE * lease


def wanted_keys(monitors: Mapping[str, tuple[str, ...]]) -> list[LeaseKey]:
    """Every lease a config asks for: an owner per monitor, plus a checker per location of a
    multi-location monitor (`monitors` maps each name to its locations, () for an ordinary one)."""
    keys: list[LeaseKey] = []
    for monitor, locations in monitors.items():
        keys.append((monitor, OWNER))
        keys.extend((monitor, location) for location in dict.fromkeys(locations) if location != OWNER)
    return keys


def score(key: LeaseKey, node: str) -> int:
    """The rendezvous weight of `node` for `key`: 64 stable pseudo-random bits.

    Both halves are blake2b digests (cached, as plans are recomputed with the same keys), combined
    by splitmix64's finaliser, a bijection that spreads every input bit over the whole output.
    """
    return _mix(_key_hash(key) ^ _name_hash(node))


@lru_cache(maxsize=1 << 18)
def _key_hash(key: LeaseKey) -> int:
    monitor, slot = key
    return _digest(f"{monitor}\x00{slot}")


@lru_cache(maxsize=1 << 12)
def _name_hash(node: str) -> int:
    return _digest(f"node\x00{node}")


def _digest(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8, key=_SALT).digest(), "big")


def _mix(z: int) -> int:
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def eligible(key: LeaseKey, node: NodeView) -> bool:
    """Whether `node` may hold `key`: alive, its config has the monitor, and for a location slot,
    it sits in that location."""
    monitor, slot = key
    return node.alive and monitor in node.monitors and (slot == OWNER or node.location == slot)


def assign(keys: Iterable[LeaseKey], nodes: Iterable[NodeView]) -> dict[LeaseKey, str]:
    """The plan: each key to the eligible node with the highest score; keys no node may hold are
    absent. Ties (equal 64-bit scores) go to the smallest name, so the plan never depends on order."""
    live = sorted({node.name: node for node in nodes if node.alive}.values(), key=lambda n: n.name)
    by_location: dict[str, list[NodeView]] = {}
    for node in live:
        by_location.setdefault(node.location, []).append(node)
    plan: dict[LeaseKey, str] = {}
    seeds = {node.name: _name_hash(node.name) for node in live}
    for key in keys:
        monitor, slot = key
        hashed = _key_hash(key)
        best_weight, best_name = -1, ""
        for node in live if slot == OWNER else by_location.get(slot, ()):
            if monitor in node.monitors:
                weight = _mix(hashed ^ seeds[node.name])
                if weight > best_weight:
                    best_weight, best_name = weight, node.name
        if best_weight >= 0:
            plan[key] = best_name
    return plan


def lease_changes(plan: Mapping[LeaseKey, str], node: str, held: Iterable[LeaseKey]
                  ) -> tuple[list[LeaseKey], list[LeaseKey]]:
    """What `node` should do to follow the plan: (keys to acquire, keys to release), each sorted.

    It releases every key it holds that the plan gives to another node or to none; it acquires
    the keys the plan gives it that it does not hold yet.
    """
    holding = set(held)
    acquire = sorted(key for key, name in plan.items() if name == node and key not in holding)
    release = sorted(key for key in holding if plan.get(key) != node)
    return acquire, release


def owned_by(plan: Mapping[LeaseKey, str], node: str) -> list[LeaseKey]:
    """The keys the plan gives `node`, sorted."""
    return sorted(key for key, name in plan.items() if name == node)


def load(plan: Mapping[LeaseKey, str]) -> dict[str, int]:
    """How many keys each node holds in the plan, by node name."""
    return dict(sorted(Counter(plan.values()).items()))


@dataclass(frozen=True, slots=True)
class Skew:
    """Which live nodes run a monitor config other than the cluster's.

    `majority` is the config hash most live nodes publish (None when there is no live node, or
    when two hashes tie for most); `odd` is every live node on another hash, as (name, hash),
    by name. False when all live nodes agree.
    """

    majority: str | None
    odd: tuple[tuple[str, str], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.odd)

    def differs(self, node: str) -> bool:
        """Whether `node` is one of those out of step."""
        return any(name == node for name, _ in self.odd)

    def text(self) -> str:
        """One line for the log, the header and `cluster status`; "" when the configs agree.

        "config differs on fra-2 (3f9a0c1e22b4); the others run 9d1e77ab0c42", or with no majority
        "configs differ: fra-1 runs 3f9a0c1e22b4, fra-2 runs 9d1e77ab0c42".
        """
        if not self.odd:
            return ""
        if self.majority is None:
            return "configs differ: " + ", ".join(f"{name} runs {digest}" for name, digest in self.odd)
        names = ", ".join(f"{name} ({digest})" for name, digest in self.odd)
        return f"config differs on {names}; the others run {self.majority}"


def skew(nodes: Iterable[NodeView]) -> Skew:
    """Compare the config hashes the live nodes publish (see config.cluster_config_hash)."""
    live = sorted({node.name: node for node in nodes if node.alive}.values(), key=lambda n: n.name)
    counts = Counter(node.config_hash for node in live)
    if len(counts) <= 1:
        return Skew(majority=next(iter(counts), None))
    ranked = counts.most_common()
    if ranked[0][1] == ranked[1][1]:
        return Skew(majority=None, odd=tuple((node.name, node.config_hash) for node in live))
    majority = ranked[0][0]
    return Skew(majority=majority,
                odd=tuple((node.name, node.config_hash) for node in live if node.config_hash != majority))
