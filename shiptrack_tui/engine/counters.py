"""What the engine has done since it started: checks, overlaps, lateness, outcomes per monitor."""

from __future__ import annotations

from dataclasses import dataclass, field

from shiptrack_tui.core.model import Outcome
from shiptrack_tui.engine.lateness import LatenessRecorder


@dataclass
class EngineCounters:
    """What the engine has done, for the benchmark and the logs."""

    checks: int = 0
    overlapping: int = 0
    lateness: LatenessRecorder = field(default_factory=LatenessRecorder)
    outcomes: dict[str, list[int]] = field(default_factory=dict)
    """Per monitor, checks since the start: [up, degraded, down] (for /metrics)."""

    def count(self, monitor: str, outcome: Outcome) -> None:
        counts = self.outcomes.get(monitor)
        if counts is None:
            counts = self.outcomes[monitor] = [0, 0, 0]
        counts[_OUTCOME_INDEX[outcome]] += 1


_OUTCOME_INDEX = {Outcome.UP: 0, Outcome.DEGRADED: 1, Outcome.DOWN: 2}
