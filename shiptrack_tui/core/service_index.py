"""Which services each monitor belongs to, so a change re-derives only the services it touches.

Built once per config (members resolved by name and tag); `rederive` then walks only the services
that hold a changed monitor, each with `derive_status` (the bench's per-change figure, DESIGN §10).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from shiptrack_tui.core.model import MonitorStatus, Severity
from shiptrack_tui.core.services import ServiceSpec, ServiceStatus, derive_status

__all__ = ["ServiceIndex"]


@dataclass(frozen=True, slots=True)
class ServiceIndex:
    """Services in config order, their members, and each monitor's services (by position)."""

    services: tuple[ServiceSpec, ...] = ()
    members: tuple[tuple[str, ...], ...] = ()
    containing: Mapping[str, tuple[int, ...]] | None = None

    @classmethod
    def build(cls, services: Iterable[ServiceSpec],
              tags_by_monitor: Mapping[str, Iterable[str]]) -> ServiceIndex:
        specs = tuple(services)
        members = tuple(spec.members(tags_by_monitor) for spec in specs)
        containing: dict[str, list[int]] = {}
        for index, group in enumerate(members):
            for name in group:
                containing.setdefault(name, []).append(index)
        return cls(specs, members, {name: tuple(found) for name, found in containing.items()})

    def __bool__(self) -> bool:
        return bool(self.services)

    def names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.services)

    def members_of(self, name: str) -> tuple[str, ...] | None:
        """The service's members, or None when there is no such service."""
        for spec, group in zip(self.services, self.members, strict=True):
            if spec.name == name:
                return group
        return None

    def services_of(self, monitor: str) -> tuple[str, ...]:
        return tuple(self.services[i].name for i in (self.containing or {}).get(monitor, ()))

    def derive_all(self, states: Mapping[str, MonitorStatus],
                   severities: Mapping[str, Severity]) -> tuple[ServiceStatus, ...]:
        return tuple(derive_status(group, states, severities) for group in self.members)

    def rederive(self, previous: tuple[ServiceStatus, ...], changed: Collection[str],
                 states: Mapping[str, MonitorStatus],
                 severities: Mapping[str, Severity]) -> tuple[ServiceStatus, ...]:
        """`previous` with the services holding a `changed` monitor derived again."""
        containing = self.containing or {}
        touched = {index for name in changed for index in containing.get(name, ())}
        if not touched:
            return previous
        statuses = list(previous)
        for index in touched:
            statuses[index] = derive_status(self.members[index], states, severities)
        return tuple(statuses)
