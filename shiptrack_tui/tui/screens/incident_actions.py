"""Incident communication from the dashboard: status updates and severity changes (DESIGN §10).

Both are action rows the engine applies, like acknowledgements. The status only moves forward
(core/incident_status.py): the modal offers the forward moves and greys out a backwards one (and
`resolved`, which recovery writes) with the lifecycle's own one-line reason, so it is refused
before anything is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from textual import work

from shiptrack_tui.config import Config
from shiptrack_tui.core.incident_status import advance, post_update
from shiptrack_tui.core.incidents import IllegalTransition
from shiptrack_tui.core.model import ActionKind, Incident, IncidentState, IncidentStatus, Severity
from shiptrack_tui.tui.modals.pick_modal import Picked, PickModal, PickOption
from shiptrack_tui.tui.screens.monitor_actions import MonitorActions

UPDATE_HINT: Final = "↑/↓ choose · enter posts · esc cancels"


def status_options(current: IncidentStatus) -> tuple[list[PickOption], str]:
    """Every status, those an operator may not post (a backwards move; `resolved`, which recovery
    writes) refused with the lifecycle's own reason, and the one to offer first (the next step
    forward)."""
    options = []
    for status in IncidentStatus:
        try:
            post_update(current, status)
        except IllegalTransition as refused:
            options.append(PickOption(status.value, status.value, f"refused: {refused}"))
            continue
        label = f"{status.value} (again: a new message, same status)" if status is current else status.value
        options.append(PickOption(status.value, label))
    allowed = [o.value for o in options if o.refused is None]
    later = [value for value in allowed if value != current.value]
    return options, (later[0] if later else allowed[0] if allowed else current.value)


def severity_options(current: str) -> list[PickOption]:
    return [PickOption(s.value, s.value, "its severity now" if s.value == current else None)
            for s in Severity]


class IncidentActions(MonitorActions):
    """`u` posts a status update on the selected incident, `v` changes its severity, `w` writes
    its postmortem draft."""

    def incident(self, incident_id: int) -> Incident | None:
        """The incident as last read (the dashboard holds the incident list)."""
        raise NotImplementedError

    def postmortem_config(self) -> Config | None:
        """The config a postmortem names services and zones by: the file as last read, else the
        one the dashboard started with (the demo's)."""
        snapshot = getattr(self, "snapshot", None)
        if snapshot is not None:
            return snapshot.config  # type: ignore[no-any-return]
        return getattr(self.app, "config", None)

    def _incident_to_update(self, what: str) -> Incident | None:
        """The incident selected in the incidents pane, else the selected monitor's open one; a
        warning instead when there is none, or it is resolved."""
        incident = self.selected_incident()
        if incident is None:
            summary = self._require_selected()
            if summary is None:
                return None
            if summary.open_incident_id is None:
                self.notify(f"{summary.name} has no open incident.", severity="warning")
                return None
            incident = self.incident(summary.open_incident_id)
            if incident is None:
                self.notify(f"Incident #{summary.open_incident_id} is still being read; try again.",
                            severity="warning")
                return None
        if incident.state is IncidentState.RESOLVED:
            self.notify(f"Incident #{incident.id} on {incident.monitor} is resolved: it takes no further "
                        f"{what}.", severity="warning")
            return None
        return incident

    def action_update(self) -> None:
        incident = self._incident_to_update("update")
        if incident is None:
            return
        try:
            advance(incident.status, incident.status)
        except IllegalTransition as refused:  # its status is resolved (recovery is on its way)
            self.notify(f"Incident #{incident.id}: {refused}.", severity="warning")
            return
        options, first = status_options(incident.status)
        modal = PickModal(f"Post an update on incident #{incident.id} ({incident.monitor})",
                          f"Now {incident.status.value}, severity {incident.severity.value}. "
                          "The status moves forward only.",
                          options, first, placeholder="message (what you know, what you are doing)",
                          confirm="Post update", required=True, hint=UPDATE_HINT)
        incident_id, monitor = incident.id, incident.monitor

        def post(picked: Picked | None) -> None:
            if picked is not None:
                self._write_action(ActionKind.UPDATE, f"Posted {picked.value} on incident #{incident_id} "
                                   f"({monitor}).", incident_id=incident_id, note=picked.text,
                                   value=picked.value)

        self.app.push_screen(modal, post)

    def action_severity(self) -> None:
        incident = self._incident_to_update("severity change")
        if incident is None:
            return
        current = incident.severity.value
        options = severity_options(current)
        first = next(o.value for o in options if o.refused is None)
        modal = PickModal(f"Severity of incident #{incident.id} ({incident.monitor})",
                          f"Now {current}. Critical and high make its services an outage; medium and "
                          "low, degraded.",
                          options, first, placeholder="reason (optional)", confirm="Change severity",
                          required=False, hint="↑/↓ choose · enter changes · esc cancels")
        incident_id, monitor = incident.id, incident.monitor

        def change(picked: Picked | None) -> None:
            if picked is not None:
                self._write_action(ActionKind.SEVERITY, f"Severity of incident #{incident_id} ({monitor}): "
                                   f"{current} → {picked.value}.", incident_id=incident_id,
                                   note=picked.text or None, value=picked.value)

        self.app.push_screen(modal, change)

    # ---- postmortem --------------------------------------------------------------------------

    def action_postmortem(self) -> None:
        """Write the selected incident's postmortem (resolved ones too: that is when it is wanted)."""
        incident = self.selected_incident()
        if incident is not None:
            self._write_postmortem(incident.id)
            return
        summary = self._require_selected()
        if summary is None:
            return
        self._write_postmortem_latest(summary.name)

    @work(group="actions", exit_on_error=False)
    async def _write_postmortem_latest(self, monitor: str) -> None:
        latest = await self._gateway.call(lambda store: store.incidents(monitor=monitor, limit=1))
        if not latest:
            self.notify(f"{monitor} has had no incident to write up.", severity="warning")
            return
        self._write_postmortem(latest[0].id)

    @work(group="actions", exit_on_error=False)
    async def _write_postmortem(self, incident_id: int) -> None:
        from shiptrack_tui.postmortem_export import write_postmortem

        config = self.postmortem_config()
        now = self.app_clock()
        try:
            path: Path = await self._gateway.call(
                lambda store: write_postmortem(store, config, incident_id, now=now))  # type: ignore[arg-type]
        except (LookupError, OSError) as error:
            self.notify(f"No postmortem written: {error}", severity="error", timeout=8)
            return
        self.notify(f"Wrote the postmortem of incident #{incident_id} to {path.resolve()}", timeout=8)
