"""Push monitors (DESIGN §11): a job pings ShipTrack; the probe is whether the pings arrive.

A ping is a success, a failure (with an optional message) or the start of a run. A success is
`up`, or `degraded` when the run since its start took longer than `degraded_after`; a failure is
`down` with the job's message as the reason; a start changes nothing but is remembered so that
the run's duration can be measured. No ping of any kind for `interval + grace` is a failure:
"no ping for 1d 1h; expected every 1d". Pure functions: time is always an argument.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from shiptrack_tui.core.durations import format_duration
from shiptrack_tui.core.model import CheckResult, MonitorSpec, MonitorState, Outcome

PUSH_TARGET: Final = "push"
"""What a push monitor has for a target (a push monitor has no URL)."""
MIN_GRACE: Final = 60.0
MAX_GRACE: Final = 3600.0
MESSAGE_CHARS: Final = 300
"""A ping's message is kept up to this many characters (on one line)."""
FAILED_WITHOUT_MESSAGE: Final = "the job reported a failure"


class PingKind(StrEnum):
    SUCCESS = "success"
    FAIL = "fail"
    START = "start"


@dataclass(frozen=True, slots=True)
class Ping:
    """A ping as received (by the HTTP server) and stored until the engine applies it."""

    id: int
    monitor: str
    at: float
    kind: PingKind
    message: str | None = None


def default_grace(interval: float) -> float:
    """10 % of the interval, at least a minute and at most an hour (1d → 1h, 5m → 1m, 1h → 6m)."""
    return min(MAX_GRACE, max(MIN_GRACE, interval / 10))


def clean_message(text: str | None) -> str | None:
    """A ping's message on one line, capped at `MESSAGE_CHARS`; None when it is blank."""
    if text is None:
        return None
    line = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    if not line:
        return None
    return line if len(line) <= MESSAGE_CHARS else line[: MESSAGE_CHARS - 1] + "…"


def missed_reason(spec: MonitorSpec) -> str:
    """"no ping for 1d 1h; expected every 1d"."""
    return (f"no ping for {format_duration(spec.interval + spec.grace)}; "
            f"expected every {format_duration(spec.interval)}")


def deadline(spec: MonitorSpec, state: MonitorState, floor: float | None) -> float:
    """When the monitor counts as missed without another ping: `interval + grace` after the latest
    of its last check (a ping or a miss), the start of its run and `floor` (when it began being
    watched without any check yet, or was resumed)."""
    times = [t for t in (state.last_check_at, state.run_started_at, floor) if t is not None]
    return (max(times) if times else 0.0) + spec.interval + spec.grace


def missed(spec: MonitorSpec, at: float, in_maintenance: bool = False) -> CheckResult:
    """The failure recorded when the deadline passed without a ping."""
    return CheckResult(monitor=spec.name, at=at, outcome=Outcome.DOWN, latency_ms=None,
                       reason=missed_reason(spec), in_maintenance=in_maintenance)


def ping_result(spec: MonitorSpec, kind: PingKind, at: float, run_started_at: float | None,
                message: str | None = None, in_maintenance: bool = False) -> CheckResult:
    """The check result of a success or failure ping; the latency is the run's duration (from its
    /start) when there was one. A start has no result: the engine only remembers it."""
    if kind is PingKind.START:
        raise ValueError("a start ping has no check result")
    took = at - run_started_at if run_started_at is not None and run_started_at <= at else None
    latency_ms = None if took is None else took * 1000
    if kind is PingKind.FAIL:
        outcome, reason = Outcome.DOWN, message or FAILED_WITHOUT_MESSAGE
    elif took is not None and spec.degraded_after is not None and took > spec.degraded_after:
        outcome = Outcome.DEGRADED
        reason = f"slow run: {format_duration(took)} over {format_duration(spec.degraded_after)}"
    else:
        outcome, reason = Outcome.UP, None
    return CheckResult(monitor=spec.name, at=at, outcome=outcome, latency_ms=latency_ms, reason=reason,
                       in_maintenance=in_maintenance)
