"""Builders for storage tests: check results and pipeline writes folded through the real core."""

from __future__ import annotations

from collections.abc import Iterable

from shiptrack_tui.core.incidents import step
from shiptrack_tui.core.model import (
    CheckResult,
    MonitorSpec,
    MonitorState,
    OutboxItem,
    Outcome,
    Policy,
    Transition,
)
from shiptrack_tui.storage import PipelineWrite

T0 = 1_800_000_000.0  # 2027-01-15T08:00:00Z, on an hour boundary


def spec(name: str = "api", url: str | None = None, tags: tuple[str, ...] = ()) -> MonitorSpec:
    return MonitorSpec(name=name, url=url or f"https://{name}.example.com/health", tags=tags)


def check(monitor: str, at: float, outcome: Outcome = Outcome.UP, latency_ms: float | None = 12.5,
          status: int | None = 200, reason: str | None = None, maintenance: bool = False) -> CheckResult:
    if outcome is Outcome.DOWN and reason is None:
        reason = "HTTP 503"
        status = 503
    return CheckResult(monitor, at, outcome, latency_ms, status_code=status, reason=reason,
                       in_maintenance=maintenance)


def transition_items(monitor: str, events: Iterable[object], urls: tuple[str, ...]) -> tuple[OutboxItem, ...]:
    """One outbox item per URL for each open/resolve event."""
    items = []
    for event in events:
        name = type(event).__name__
        transition = {"IncidentOpened": Transition.OPEN, "IncidentResolved": Transition.RESOLVE,
                      "IncidentAcknowledged": Transition.ACK}.get(name)
        if transition is not None:
            items.extend(OutboxItem(monitor, transition, url, f"[{transition.upper()}] {monitor}", "body",
                                    "failure") for url in urls)
    return tuple(items)


class Feed:
    """Folds results through core.incidents.step, producing the writes the engine would submit."""

    def __init__(self, monitor: str = "api", policy: Policy | None = None, urls: tuple[str, ...] = ()):
        self.monitor = monitor
        self.policy = policy or Policy(failure_threshold=2, recovery_threshold=2)
        self.state = MonitorState()
        self.urls = urls

    def write(self, result: CheckResult) -> PipelineWrite:
        self.state, events = step(self.state, result, self.policy)
        return PipelineWrite(self.monitor, self.state, result=result, events=tuple(events),
                             outbox=transition_items(self.monitor, events, self.urls))
