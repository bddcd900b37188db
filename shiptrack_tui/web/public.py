"""What the public status page and the badges may show, worked out once per config.

A monitor is public when `[status_page] monitors` lists it or it is a member of a service that
`[status_page] services` lists. Nothing else (no other monitor, no target, no tag) is ever read
into a public response. A public status is derived with the services' own rule (core/services.py)
so the page, the badges, `shiptrack services` and the dashboard agree.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Final

from shiptrack_tui.config.settings import Config
from shiptrack_tui.core.model import MonitorStatus, Severity
from shiptrack_tui.core.services import RANK, ServiceIndex, ServiceStatus, derive_status


class PublicStatus(StrEnum):
    """What a reader of the status page is told about a service or a monitor."""

    OPERATIONAL = "operational"
    DEGRADED = "degraded"
    OUTAGE = "outage"
    MAINTENANCE = "maintenance"
    PAUSED = "paused"  # a monitor entry whose checks are paused
    NO_DATA = "no_data"  # nothing checked yet


# Words and a symbol for every status: colour is never the only signal.
WORDS: Final = {
    PublicStatus.OPERATIONAL: ("●", "Operational"),
    PublicStatus.DEGRADED: ("◐", "Degraded performance"),
    PublicStatus.OUTAGE: ("✖", "Outage"),
    PublicStatus.MAINTENANCE: ("⚒", "Under maintenance"),
    PublicStatus.PAUSED: ("‖", "Not monitored right now"),
    PublicStatus.NO_DATA: ("○", "No data yet"),
}
_BADNESS: Final = {
    PublicStatus.OUTAGE: 3, PublicStatus.DEGRADED: 2, PublicStatus.MAINTENANCE: 1, PublicStatus.PAUSED: 0,
    PublicStatus.OPERATIONAL: 0, PublicStatus.NO_DATA: 0,
}


def badness(status: PublicStatus) -> int:
    """Higher is worse: outage, degraded, maintenance, then everything that is not a problem."""
    return _BADNESS[status]


def public_status(members: Sequence[str], states: Mapping[str, MonitorStatus],
                  severities: Mapping[str, Severity], single: bool = False) -> PublicStatus:
    """A service's (or, with `single`, one monitor's) status for the public.

    The services' rule decides (an open critical/high incident is an outage, ...); members that
    were never checked read as "no data yet" rather than "operational", and a paused single
    monitor says so.
    """
    derived = derive_status(members, states, severities)
    if RANK[derived] == 0 and members:
        found = [states.get(name, MonitorStatus.UNKNOWN) for name in members]
        if all(state is MonitorStatus.UNKNOWN for state in found):
            return PublicStatus.NO_DATA
        if single and found[0] is MonitorStatus.PAUSED:
            return PublicStatus.PAUSED
    return {
        ServiceStatus.OPERATIONAL: PublicStatus.OPERATIONAL,
        ServiceStatus.DEGRADED: PublicStatus.DEGRADED,
        ServiceStatus.OUTAGE: PublicStatus.OUTAGE,
        ServiceStatus.MAINTENANCE: PublicStatus.MAINTENANCE,
    }[derived]


@lru_cache(maxsize=64)
def monitor_status(state: MonitorStatus, severity: Severity | None) -> PublicStatus:
    """`public_status` of one monitor, from its state and its open incident's severity (memoised:
    a page of 1,000 monitors asks for a handful of distinct answers)."""
    return public_status(("m",), {"m": state}, {} if severity is None else {"m": severity}, single=True)


@dataclass(frozen=True, slots=True)
class Entry:
    """One row of the page: a listed service (its members) or a listed monitor (itself)."""

    key: str  # unique on the page: "service:NAME" or "monitor:NAME"
    name: str
    description: str
    members: tuple[str, ...]
    is_service: bool


@dataclass(frozen=True, slots=True)
class Publication:
    """Everything `[status_page]` makes public, resolved against the config's services and monitors."""

    title: str
    description: str
    show_errors: bool
    entries: tuple[Entry, ...]
    monitors: frozenset[str]  # every public monitor
    entries_of: Mapping[str, tuple[str, ...]]  # monitor -> names of the entries it appears in


def publish(config: Config) -> Publication | None:
    """The public view of `config`; None when it has no `[status_page]`."""
    settings = config.status_page
    if settings is None:
        return None
    tags = {spec.name: spec.tags for spec in config.monitors}
    index = ServiceIndex(config.services, tags)
    entries: list[Entry] = []
    for name in settings.services:
        entries.append(Entry(f"service:{name}", name, index.descriptions[name], index.members[name], True))
    for name in settings.monitors:
        entries.append(Entry(f"monitor:{name}", name, "", (name,), False))
    entries_of: dict[str, list[str]] = {}
    for entry in entries:
        for member in entry.members:
            entries_of.setdefault(member, []).append(entry.name)
    return Publication(
        title=settings.title, description=settings.description, show_errors=settings.show_errors,
        entries=tuple(entries), monitors=settings.public_monitors(config.services, tags),
        entries_of={name: tuple(dict.fromkeys(found)) for name, found in entries_of.items()},
    )


class PublicationCache:
    """`publish(config)` for the config a getter returns now, worked out again only when the
    config object changes (a reload builds a new one)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._config: Config | None = None
        self._publication: Publication | None = None

    def get(self, config: Config | None) -> Publication | None:
        if config is None:
            return None
        with self._lock:
            if config is not self._config:
                self._publication = publish(config)
                self._config = config
            return self._publication
