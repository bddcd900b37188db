"""The status-update lifecycle of an incident, beside the incident transitions (DESIGN §10).

investigating → identified → monitoring → resolved, forward only; skipping is allowed, a further
update at the same status is allowed (a new message, no move), and a resolved incident takes none.
"""

from __future__ import annotations

from typing import Final

from shiptrack_tui.core.incidents import IllegalTransition
from shiptrack_tui.core.model import IncidentStatus

__all__ = ["OPENING_STATUS", "STATUS_TRANSITIONS", "IncidentStatus", "advance"]


OPENING_STATUS: Final = IncidentStatus.INVESTIGATING

_ORDER: Final = tuple(IncidentStatus)

# Every legal (current, posted) pair; anything else raises. Built from the order so the table
# and the order cannot disagree.
STATUS_TRANSITIONS: Final = frozenset(
    (current, posted)
    for i, current in enumerate(_ORDER)
    if current is not IncidentStatus.RESOLVED
    for posted in _ORDER[i:]
)


def advance(current: IncidentStatus, posted: IncidentStatus) -> IncidentStatus:
    """The status after posting `posted` on an incident at `current`; raises if it goes back."""
    if (current, posted) in STATUS_TRANSITIONS:
        return posted
    if current is IncidentStatus.RESOLVED:
        raise IllegalTransition("the incident is resolved and takes no further update")
    raise IllegalTransition(f"an incident that is {current} cannot go back to {posted}")
