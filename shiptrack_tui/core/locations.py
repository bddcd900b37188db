"""Confirmation from several places (DESIGN §12): fold per-location results into one verdict.

A multi-location monitor is checked from each of its `locations`; each location keeps its own
run of failures. The monitor is down when at least `confirm` locations have each reached the
failure threshold, and up again as soon as fewer than `confirm` have. A location with no recent
result counts as not failing (its node may be gone) and is named: "no data from ap-south".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from shiptrack_tui.core.model import CheckResult, Outcome


@dataclass(frozen=True, slots=True)
class LocationState:
    """One monitor as seen from one location: its run of failures and its last check."""

    consecutive_failures: int = 0
    first_failure_at: float | None = None  # the first check of the current run of failures
    reason: str | None = None  # the last check's reason ("HTTP 503"); None when it was plainly up
    outcome: Outcome | None = None  # the last check's outcome; None before the first
    last_check_at: float | None = None
    latency_ms: float | None = None


def record(state: LocationState, result: CheckResult) -> LocationState:
    """Fold one check made from this location into its state."""
    failed = result.outcome is Outcome.DOWN
    first_failure_at = None
    if failed:
        first_failure_at = state.first_failure_at if state.consecutive_failures else result.at
    return replace(
        state,
        consecutive_failures=state.consecutive_failures + 1 if failed else 0,
        first_failure_at=first_failure_at,
        reason=result.reason,
        outcome=result.outcome,
        last_check_at=result.at,
        latency_ms=result.latency_ms,
    )


class LocationStatus(StrEnum):
    """Where one location stands in a verdict."""

    UP = "up"  # its last check was good (up or degraded)
    PENDING = "pending"  # failing, below the failure threshold
    DOWN = "down"  # reached the failure threshold: it counts towards `confirm`
    NO_DATA = "no_data"  # no result, or none recent enough: counts as not failing


@dataclass(frozen=True, slots=True)
class LocationReport:
    """One location in a verdict, for the detail pane and `status --json`."""

    location: str
    status: LocationStatus
    state: LocationState | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    """The monitor's state across its locations.

    `failing` lists the locations that reached the threshold (configured order); `since` is the
    first failing check among them while down (the incident's start), else None.
    """

    down: bool
    reason: str
    failing: tuple[str, ...] = ()
    since: float | None = None
    locations: tuple[LocationReport, ...] = ()


def status_of(state: LocationState | None, failure_threshold: int, now: float, stale_after: float
              ) -> LocationStatus:
    """A location's standing: no data when it has no check in the last `stale_after` seconds."""
    if state is None or state.last_check_at is None or now - state.last_check_at > stale_after:
        return LocationStatus.NO_DATA
    if state.consecutive_failures >= failure_threshold:
        return LocationStatus.DOWN
    return LocationStatus.PENDING if state.consecutive_failures else LocationStatus.UP


def fold(states: Mapping[str, LocationState], locations: Sequence[str], confirm: int, now: float,
         stale_after: float, *, failure_threshold: int) -> Verdict:
    """Judge a monitor from its locations' states (keyed by location; others are ignored).

    Down when at least `confirm` of `locations` are DOWN (each reached `failure_threshold`
    consecutive failures, with a check in the last `stale_after` seconds). The reason names every
    location once, grouping equal reasons, in the configured order:
    "HTTP 503 from eu-west, us-east; ok from ap-south".
    """
    if confirm < 1 or failure_threshold < 1:
        raise ValueError("confirm and failure_threshold must be at least 1")
    reports = tuple(
        LocationReport(location, status_of(states.get(location), failure_threshold, now, stale_after),
                       states.get(location))
        for location in dict.fromkeys(locations))
    failing = tuple(report.location for report in reports if report.status is LocationStatus.DOWN)
    down = len(failing) >= confirm
    since = None
    if down:
        starts = [report.state.first_failure_at for report in reports
                  if report.status is LocationStatus.DOWN and report.state is not None
                  and report.state.first_failure_at is not None]
        since = min(starts, default=None)
    return Verdict(down=down, reason=reason_text(reports, failure_threshold), failing=failing, since=since,
                   locations=reports)


def reason_text(reports: Sequence[LocationReport], failure_threshold: int) -> str:
    """"HTTP 503 from eu-west, us-east (1 of 3); ok from ap-south; no data from sa-east".

    A location failing below the threshold carries its count, so it is not mistaken for a
    confirmed one.
    """
    groups: dict[str, list[str]] = {}
    for report in reports:
        state = report.state
        label = report.location
        if report.status is LocationStatus.NO_DATA or state is None:
            phrase = "no data"
        elif report.status is LocationStatus.UP:
            phrase = "ok"
        else:
            phrase = state.reason or "failing"
            if report.status is LocationStatus.PENDING:
                label = f"{label} ({state.consecutive_failures} of {failure_threshold})"
        groups.setdefault(phrase, []).append(label)
    return "; ".join(f"{phrase} from {', '.join(labels)}" for phrase, labels in groups.items())
