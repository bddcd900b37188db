"""How core values are packed into compact columns, and back."""

from __future__ import annotations

import json
from typing import Final

from shiptrack_tui.core.model import Outcome

OUTCOME_CODES: Final = {Outcome.UP: 0, Outcome.DEGRADED: 1, Outcome.DOWN: 2}
CODE_OUTCOMES: Final = {code: outcome for outcome, code in OUTCOME_CODES.items()}
OUTCOME_MASK: Final = 0b011
MAINTENANCE: Final = 0b100  # checked during a maintenance window
PAUSED: Final = 0b1000  # landed while the monitor was paused
EXCLUDED: Final = MAINTENANCE | PAUSED  # counts neither for nor against uptime
HOUR: Final = 3600
DOWN_CODE: Final = 2  # OUTCOME_CODES[Outcome.DOWN], for SQL comparisons


def pack_code(outcome: Outcome, in_maintenance: bool, paused: bool = False) -> int:
    return OUTCOME_CODES[outcome] | (MAINTENANCE if in_maintenance else 0) | (PAUSED if paused else 0)


def code_outcome(code: int) -> Outcome:
    return CODE_OUTCOMES[code & OUTCOME_MASK]


def to_ms(at: float) -> int:
    return round(at * 1000)


def from_ms(at_ms: int) -> float:
    return at_ms / 1000


def to_us(latency_ms: float | None) -> int | None:
    return None if latency_ms is None else max(0, round(latency_ms * 1000))


def from_us(latency_us: int | None) -> float | None:
    return None if latency_us is None else latency_us / 1000


def hour_of(at_ms: int) -> int:
    """The epoch hour an instant (in ms) falls into."""
    return at_ms // (HOUR * 1000)


def dump_tags(tags: tuple[str, ...]) -> str:
    return json.dumps(list(tags))


def load_tags(text: str | None) -> tuple[str, ...]:
    return tuple(json.loads(text)) if text else ()
