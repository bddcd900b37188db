"""Services: named groups of monitors whose status is derived, never stored (DESIGN §10).

`derive_status` is a pure function of the members' states and their open incidents' severities,
so the dashboard, the CLI and the bench all get the same answer from the same inputs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from shiptrack_tui.core.model import DEFAULT_SEVERITY, MonitorStatus, Severity

__all__ = ["DEFAULT_SEVERITY", "RANK", "ServiceSpec", "ServiceStatus", "Severity", "derive_status"]


class ServiceStatus(StrEnum):
    OPERATIONAL = "operational"
    DEGRADED = "degraded"
    OUTAGE = "outage"
    MAINTENANCE = "maintenance"


# How bad a status is, for "never worse" comparisons: maintenance is planned, not a fault.
RANK: Final = {
    ServiceStatus.OPERATIONAL: 0,
    ServiceStatus.MAINTENANCE: 0,
    ServiceStatus.DEGRADED: 1,
    ServiceStatus.OUTAGE: 2,
}

_OUTAGE_SEVERITIES: Final = frozenset({Severity.CRITICAL, Severity.HIGH})


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    """A `[[service]]` table: members named directly and/or by tag."""

    name: str
    description: str = ""
    monitors: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()

    def members(self, tags_by_monitor: Mapping[str, Iterable[str]]) -> tuple[str, ...]:
        """The monitors in this service, in config order, each once."""
        wanted = set(self.tags)
        found = dict.fromkeys(self.monitors)
        if wanted:
            for monitor, tags in tags_by_monitor.items():
                if wanted.intersection(tags):
                    found.setdefault(monitor)
        return tuple(found)


def derive_status(
    members: Iterable[str],
    monitor_states: Mapping[str, MonitorStatus],
    open_incident_severities: Mapping[str, Severity],
) -> ServiceStatus:
    """A service's status from its members' states and the severity of their open incidents.

    `open_incident_severities` maps a monitor to its open incident's severity (a monitor has at
    most one open incident). An open incident decides first: any critical/high is an outage,
    otherwise any open incident or degraded member is degraded. Only with nothing wrong does
    "all members in a window" read as maintenance, so adding a healthy monitor never worsens it.
    """
    any_open = False
    degraded = False
    all_maintenance = True
    count = 0
    for monitor in members:
        count += 1
        severity = open_incident_severities.get(monitor)
        if severity is not None:
            if severity in _OUTAGE_SEVERITIES:
                return ServiceStatus.OUTAGE
            any_open = True
        state = monitor_states.get(monitor, MonitorStatus.UNKNOWN)
        if state is MonitorStatus.DEGRADED:
            degraded = True
        if state is not MonitorStatus.MAINTENANCE:
            all_maintenance = False
    if any_open or degraded:
        return ServiceStatus.DEGRADED
    if count and all_maintenance:
        return ServiceStatus.MAINTENANCE
    return ServiceStatus.OPERATIONAL
