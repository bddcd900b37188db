"""The command palette's "go to": a monitor by name, an incident by number (`#7`) or monitor, a
service by name.

Like posting's request finder: a `textual.command.Provider` on the dashboard screen. Choosing a
monitor selects its row; choosing an incident selects its monitor and the incident in the
incidents pane, ready for `a`, `n` or `u`; choosing a service shows only its monitors.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Final, Protocol

from textual.command import DiscoveryHit, Hit, Hits, Provider

from shiptrack_tui.core.model import Incident, IncidentState, MonitorStatus, MonitorSummary
from shiptrack_tui.core.services import ServiceStatus
from shiptrack_tui.tui.formatting import STATE_LABELS, TROUBLE_ORDER, status_of
from shiptrack_tui.tui.services_live import ServiceView

TROUBLE: Final = frozenset({MonitorStatus.DOWN, MonitorStatus.PENDING, MonitorStatus.DEGRADED})


class JumpTarget(Protocol):
    """What the provider needs from the screen it was opened on."""

    def jump_targets(self) -> tuple[Iterable[MonitorSummary], Iterable[Incident]]: ...

    def jump_to(self, monitor: str, incident_id: int | None = None) -> None: ...

    def service_views(self) -> tuple[ServiceView, ...]: ...

    def filter_service(self, name: str | None) -> None: ...


@dataclass(frozen=True, slots=True)
class Target:
    text: str
    help: str
    go: Callable[[], None]
    trouble: bool


def targets(screen: JumpTarget) -> list[Target]:
    """Open incidents, then monitors (trouble first), then the other incidents; services in trouble
    with the open incidents, the others after the monitors."""
    summaries, incidents = screen.jump_targets()
    monitors = sorted(summaries, key=lambda s: (TROUBLE_ORDER[status_of(s)], s.name))
    found: list[Target] = []
    for service in screen.service_views():
        plural = "monitor" if service.members == 1 else "monitors"
        about = f" · {service.description}" if service.description else ""
        found.append(Target(f"service {service.name}",
                            f"Service, {service.status.value}: show only its {service.members} "
                            f"{plural}{about}",
                            partial(screen.filter_service, service.name),
                            service.status is not ServiceStatus.OPERATIONAL))
    for incident in incidents:
        state = incident.state.value
        found.append(Target(f"#{incident.id} {incident.monitor}", f"Incident, {state}: {incident.cause}",
                            partial(screen.jump_to, incident.monitor, incident.id),
                            incident.state is not IncidentState.RESOLVED))
    for summary in monitors:
        status = status_of(summary)
        tags = f" · tags: {', '.join(summary.tags)}" if summary.tags else ""
        found.append(Target(f"{summary.name}", f"Monitor, {STATE_LABELS[status]}{tags}",
                            partial(screen.jump_to, summary.name), status in TROUBLE))
    return sorted(found, key=lambda target: not target.trouble)


class JumpProvider(Provider):
    """Go to a monitor or an incident."""

    def _targets(self) -> list[Target]:
        screen = self.screen
        if not hasattr(screen, "jump_targets"):
            return []
        return targets(screen)  # type: ignore[arg-type]

    async def discover(self) -> Hits:
        """With nothing typed: open incidents and monitors in trouble."""
        for target in self._targets():
            if target.trouble:
                yield DiscoveryHit(f"Go to {target.text}", target.go, help=target.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query.strip())
        for target in self._targets():
            text = f"Go to {target.text}"
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), target.go, text=text, help=target.help)
