"""`[cluster]`, and the `locations`/`confirm` keys of monitors and `[defaults]` (DESIGN §12).

`[cluster]` makes this engine one node of several sharing a PostgreSQL store; without the table
it is a single machine. `node` and `location` default to the host name. A monitor's `locations`
lists where it is checked from, and `confirm` how many of them must each reach the failure
threshold before an incident opens.

`cluster_config_hash` is what nodes publish to spot config skew: it covers the monitors as
loaded (names and every check setting), not the file's bytes, comments or this node's identity.
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
from collections.abc import Callable
from dataclasses import asdict
from typing import Any, Final

from shiptrack_tui.config.checker import Checker, Scope
from shiptrack_tui.config.settings import ClusterSettings, Config, Defaults
from shiptrack_tui.config.values import Bad, as_duration, as_int, as_str, kind, show
from shiptrack_tui.core.durations import format_duration

CLUSTER_KEYS: Final = ("node", "location", "lease")
PLACEMENT_KEYS: Final = ("locations", "confirm")
DEFAULT_LEASE: Final = 20.0
LEASE_MIN: Final = 5.0
LEASE_MAX: Final = 300.0
LOCATIONS_EXAMPLE: Final = '["eu-west", "us-east", "ap-south"]'
_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_NAME_RULE: Final = 'use letters, digits, ".", "_" and "-", starting with a letter or digit'


def as_place_name(value: object, example: str) -> str:
    """A node or location name: one word that reads unambiguously in "HTTP 503 from eu-west, us-east"."""
    text = as_str(value, example)
    if not _NAME.match(text):
        raise Bad(f"{show(value)} cannot be a name; {_NAME_RULE} (at most 100), like {example}")
    return text


def as_locations(value: object) -> tuple[str, ...]:
    """A non-empty list of unique location names."""
    if not isinstance(value, list):
        raise Bad(f"{show(value)} must be a list of location names like {LOCATIONS_EXAMPLE}, "
                  f"not {kind(value)}")
    if not value:
        raise Bad(f"[] is empty; list where to check from, like {LOCATIONS_EXAMPLE}, or remove the key")
    first: dict[str, int] = {}
    for index, item in enumerate(value):
        try:
            name = as_place_name(item, '"eu-west"')
        except Bad as bad:
            raise Bad(f"item {index + 1} {bad.message}", at=(index,)) from None
        if name in first:
            raise Bad(f"lists {show(name)} twice (items {first[name] + 1} and {index + 1}); "
                      "name each location once", at=(index,))
        first[name] = index
    return tuple(value)


def _as_lease(value: object) -> float:
    seconds = as_duration(value, LEASE_MIN)
    if seconds > LEASE_MAX:
        raise Bad(f"{show(value)} is above the maximum of {format_duration(LEASE_MAX)} (a dead node's "
                  f"monitors wait up to a lease for a new owner); use \"{format_duration(DEFAULT_LEASE)}\" "
                  f"to \"{format_duration(LEASE_MAX)}\"")
    return seconds


def read_cluster(ck: Checker, raw: object, hostname: Callable[[], str] = socket.gethostname
                 ) -> ClusterSettings | None:
    """The `[cluster]` table (`raw` None when absent: a single machine)."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        ck.report(("cluster",), f"cluster must be a table written [cluster], not {kind(raw)}")
        return None
    scope = Scope("[cluster]", ("cluster",))
    ck.known_keys(scope, raw, CLUSTER_KEYS)
    node = ck.read(scope, raw, "node", lambda v: as_place_name(v, '"fra-1"'))
    location = ck.read(scope, raw, "location", lambda v: as_place_name(v, '"eu-west"'))
    lease = ck.read(scope, raw, "lease", _as_lease)
    host = hostname() if node is None or location is None else ""
    for key, value in (("node", node), ("location", location)):
        if value is None and key not in scope.invalid and not _NAME.match(host):
            ck.report(scope.path, f"[cluster] {key} is not set and the host name {show(host)} cannot be one; "
                                  f"set {key} = \"...\" ({_NAME_RULE})")
    return ClusterSettings(node=node or host, location=location or host,
                           lease=lease if lease is not None else DEFAULT_LEASE)


def read_placement(ck: Checker, scope: Scope, table: dict[str, Any], inherited: Defaults
                   ) -> tuple[tuple[str, ...], int]:
    """`locations` and `confirm` of a monitor (or of `[defaults]`, inheriting from `Defaults()`).

    A monitor without its own keys takes `[defaults]`'s; `confirm` must fit the locations in force.
    """
    own_locations = ck.read(scope, table, "locations", as_locations)
    own_confirm = ck.read(scope, table, "confirm", as_int)
    locations = own_locations if own_locations is not None else inherited.locations
    confirm = own_confirm if own_confirm is not None else inherited.confirm
    if {"locations", "confirm"} & scope.invalid:
        return locations, min(confirm, max(len(locations), 1))
    if not locations:
        if own_confirm is not None:
            ck.report((*scope.path, "confirm"),
                      f"{scope.subject('confirm')} {own_confirm} has no locations to confirm from; add "
                      f"locations = {LOCATIONS_EXAMPLE} or remove confirm")
        return (), 1
    if confirm <= len(locations):
        return locations, confirm
    count = f"{len(locations)} location" + ("" if len(locations) == 1 else "s")
    fits = "1" if len(locations) == 1 else f"1 to {len(locations)}"
    if own_confirm is not None:
        ck.report((*scope.path, "confirm"),
                  f"{scope.subject('confirm')} {confirm} is more than the {count} listed; expected {fits}")
    else:
        ck.report((*scope.path, "locations"),
                  f"{scope.subject('locations')} lists {count}, fewer than confirm = {confirm} from "
                  f"[defaults]; set confirm = {fits} on this monitor")
    return locations, len(locations)


def monitor_locations(config: Config) -> dict[str, tuple[str, ...]]:
    """Each monitor's locations (() for one checked by its owner), for core.cluster.wanted_keys."""
    return {spec.name: spec.locations for spec in config.monitors}


def cluster_config_hash(config: Config) -> str:
    """12 hex digits that change when any monitor's settings do, and only then.

    The monitors are taken as loaded (with `[defaults]` filled in), sorted by name: reordering
    the file, reformatting it, comments and `[cluster]` (this node's own name) change nothing.
    """
    specs = [asdict(spec) for spec in sorted(config.monitors, key=lambda spec: spec.name)]
    text = json.dumps(specs, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:12]
