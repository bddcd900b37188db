"""The services' derived status, kept in step with the overviews the dashboard reads (DESIGN §10).

Nothing here is stored: each overview says which monitors were re-read (`Overview.changed`), and
the incident list is re-read only when the timeline moved, so following one overview re-derives
only the services that hold a monitor whose state or open incident's severity actually changed
(most re-reads find a monitor as it was).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from shiptrack_tui.core.model import Incident, IncidentState, MonitorStatus, MonitorSummary, Severity
from shiptrack_tui.core.services import ServiceIndex, ServiceStatus

if TYPE_CHECKING:
    from shiptrack_tui.config import Config
    from shiptrack_tui.tui.data import Overview


NO_SERVICES: Final = ServiceIndex((), {})


def index_of(config: Config | None) -> ServiceIndex:
    """The config's services with their members (by name and by the monitors' tags)."""
    if config is None or not config.services:
        return NO_SERVICES
    return ServiceIndex.of(config.services, config.monitors)


def same_services(a: ServiceIndex, b: ServiceIndex) -> bool:
    return a is b or (a.members == b.members and a.descriptions == b.descriptions)


@dataclass(frozen=True, slots=True)
class ServiceView:
    """One service as the strip shows it."""

    name: str
    status: ServiceStatus
    members: int
    description: str = ""


class ServiceBoard:
    """Follows overviews; `follow` returns every service with its status, in config order."""

    def __init__(self, index: ServiceIndex | None = None) -> None:
        self.index = index or NO_SERVICES
        self._states: dict[str, MonitorStatus] = {}
        self._severities: dict[str, Severity] = {}
        self._incidents: tuple[Incident, ...] | None = None
        self._statuses: dict[str, ServiceStatus] | None = None
        self._views: tuple[ServiceView, ...] = ()

    def use(self, index: ServiceIndex) -> bool:
        """Take a new config's services; True when they differ (the next `follow` derives all)."""
        if same_services(index, self.index):
            return False
        self.index = index
        self._statuses = None
        self._views = ()
        return True

    def follow(self, overview: Overview, by_name: Mapping[str, MonitorSummary]) -> tuple[ServiceView, ...]:
        """The services after this overview; `by_name` is its summaries by name."""
        if not self.index:
            return ()
        changed: set[str] | None = None
        if overview.changed is None or self._statuses is None:
            self._states = {name: summary.state.status for name, summary in by_name.items()}
        else:
            changed = set()  # re-read is not changed: most re-reads find the state it was
            for name in overview.changed:
                summary = by_name.get(name)
                status = summary.state.status if summary is not None else None
                if status != self._states.get(name):
                    changed.add(name)
                    if status is None:
                        del self._states[name]
                    else:
                        self._states[name] = status
        if overview.incidents is not self._incidents:
            self._incidents = overview.incidents
            severities = {i.monitor: i.severity for i in overview.incidents
                          if i.state is not IncidentState.RESOLVED}
            if changed is not None:
                changed |= {name for name in severities.keys() | self._severities.keys()
                            if severities.get(name) != self._severities.get(name)}
            self._severities = severities
        if changed is None or self._statuses is None:
            self._statuses = self.index.derive_all(self._states, self._severities)
        elif changed:
            moved = {name: status for name, status in
                     self.index.recompute(changed, self._states, self._severities).items()
                     if self._statuses[name] is not status}
            if not moved and self._views:
                return self._views  # the same views object: nothing to compare or redraw
            self._statuses.update(moved)
        elif self._views:
            return self._views
        index = self.index
        self._views = tuple(ServiceView(name, status, len(index.members[name]), index.descriptions[name])
                            for name, status in self._statuses.items())
        return self._views
