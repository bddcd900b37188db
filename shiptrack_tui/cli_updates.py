"""`shiptrack update ID STATUS MESSAGE` and `shiptrack severity ID LEVEL`: saying what is being done
about an incident and how bad it is (DESIGN §10).

Both are action rows the engine applies, as acknowledgements are (DESIGN §4). What the database
already says is checked first, so an unknown word, a backwards move or a resolved incident is
refused with one line and exit 2 even when no engine runs; the engine checks again (it has the
last word: another update may have landed meanwhile) and its refusal is exit 2 as well.
"""

from __future__ import annotations

import argparse

from shiptrack_tui.cli_common import EXIT_OK, EXIT_USAGE, db_for_reading, open_store
from shiptrack_tui.cli_incidents import _act
from shiptrack_tui.core.incident_status import parse_severity, parse_status, post_update
from shiptrack_tui.core.incidents import IllegalTransition
from shiptrack_tui.core.model import Incident, IncidentState, IncidentStatus
from shiptrack_tui.failures import UsageError


def _incident(args: argparse.Namespace) -> Incident:
    store = open_store(db_for_reading(args))
    try:
        incident = store.incident(args.id)
    finally:
        store.close()
    if incident is None:
        raise UsageError(f"shiptrack: there is no incident #{args.id}; `shiptrack incidents` lists them")
    return incident


def _status_of(incident: Incident) -> IncidentStatus:
    # A resolved incident is resolved whatever its status column says.
    return IncidentStatus.RESOLVED if incident.state is IncidentState.RESOLVED else incident.status


def cmd_update(args: argparse.Namespace) -> int:
    try:
        posted = parse_status(args.status)
    except ValueError as error:
        raise UsageError(f"shiptrack: {error}") from None
    message = args.message.strip()
    if not message:
        raise UsageError("shiptrack: the message is empty; say what you know, "
                         'e.g. "bad deploy, rolling back"')
    incident = _incident(args)
    try:
        post_update(_status_of(incident), posted, who=f"incident {incident.id}")
    except IllegalTransition as error:
        raise UsageError(f"shiptrack: {error}") from None
    return _act(args, "update", message, f"posted {posted} on incident #{incident.id}", value=str(posted),
                refused=EXIT_USAGE)


def cmd_severity(args: argparse.Namespace) -> int:
    try:
        level = parse_severity(args.level)
    except ValueError as error:
        raise UsageError(f"shiptrack: {error}") from None
    incident = _incident(args)
    if incident.state is IncidentState.RESOLVED:
        raise UsageError(f"shiptrack: incident {incident.id} is resolved: its severity no longer changes")
    if incident.severity is level:
        print(f"incident #{incident.id} is already {level}; nothing to do")
        return EXIT_OK
    done = f"incident #{incident.id} is now {level} (was {incident.severity})"
    return _act(args, "severity", args.note, done, value=str(level), refused=EXIT_USAGE)
