"""The status-update lifecycle of an incident, beside the incident transitions (DESIGN §10).

investigating → identified → monitoring → resolved, forward only; skipping is allowed, a further
update at the same status is allowed (a new message, no move), and a resolved incident takes none.
`resolved` is written by recovery (storage, with the incident's resolution); an operator posts the
other three (`post_update`).
"""

from __future__ import annotations

from typing import Final

from shiptrack_tui.core.incidents import IllegalTransition
from shiptrack_tui.core.model import IncidentStatus, Severity

__all__ = ["OPENING_STATUS", "POSTABLE", "STATUS_TRANSITIONS", "IncidentStatus", "advance", "parse_severity",
           "parse_status", "post_update"]


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

POSTABLE: Final = tuple(s for s in IncidentStatus if s is not IncidentStatus.RESOLVED)
"""What an operator may post; `resolved` is recovery's to write."""

BY_RECOVERY: Final = "resolved is written by recovery; post monitoring while you watch"


def advance(current: IncidentStatus, posted: IncidentStatus, who: str = "the incident") -> IncidentStatus:
    """The status after posting `posted` on an incident at `current`; raises if it goes back.

    `who` names the incident in the refusal: "incident 7 is monitoring and cannot go back to identified".
    """
    if (current, posted) in STATUS_TRANSITIONS:
        return posted
    if current is IncidentStatus.RESOLVED:
        raise IllegalTransition(f"{who} is resolved and takes no further update")
    raise IllegalTransition(f"{who} is {current} and cannot go back to {posted}")


def post_update(current: IncidentStatus, posted: IncidentStatus, who: str = "the incident") -> IncidentStatus:
    """An operator's update: `advance`, except that `resolved` is refused (recovery writes it, when
    the checks say so; a hand-written one would claim what the monitor has not seen)."""
    if current is not IncidentStatus.RESOLVED and posted is IncidentStatus.RESOLVED:
        raise IllegalTransition(BY_RECOVERY)
    return advance(current, posted, who)


def parse_status(text: str) -> IncidentStatus:
    """An operator's status word; ValueError with a one-line hint for anything else."""
    try:
        return IncidentStatus(text.strip().lower())
    except ValueError:
        choices = ", ".join(str(s) for s in POSTABLE)
        raise ValueError(f"{text!r} is not a status: post one of {choices}") from None


def parse_severity(text: str) -> Severity:
    """An operator's severity word; ValueError with a one-line hint for anything else."""
    try:
        return Severity(text.strip().lower())
    except ValueError:
        choices = ", ".join(str(s) for s in Severity)
        raise ValueError(f"{text!r} is not a severity: use one of {choices}") from None
