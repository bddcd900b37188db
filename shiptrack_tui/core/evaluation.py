"""Judge what a probe saw against what the monitor expects: up, degraded or down, with a reason."""

from __future__ import annotations

import re
from functools import lru_cache

from shiptrack_tui.core.durations import format_duration
from shiptrack_tui.core.model import (
    DEFAULT_EXPECT_STATUS,
    CheckResult,
    MonitorSpec,
    Observation,
    Outcome,
    StatusRange,
)
from shiptrack_tui.core.sizes import size_text


@lru_cache(maxsize=4096)
def _compiled(pattern: str) -> re.Pattern[bytes]:
    return re.compile(pattern.encode())


def _ranges_text(ranges: tuple[StatusRange, ...]) -> str:
    return ", ".join(str(r) for r in ranges)


def _failure(spec: MonitorSpec, obs: Observation) -> str | None:
    if obs.error is not None:
        return obs.error
    if spec.kind == "tcp":
        return None
    code = obs.status_code
    if code is None:
        return "no HTTP status received"
    if not any(code in r for r in spec.expect_status):
        if spec.expect_status == DEFAULT_EXPECT_STATUS:
            return f"HTTP {code}"
        return f"HTTP {code} (expected {_ranges_text(spec.expect_status)})"
    body = obs.body or b""
    if spec.body_contains is not None and spec.body_contains.encode() not in body:
        return f"body does not contain {spec.body_contains!r}" + _partial(spec, obs)
    if spec.body_regex is not None and _compiled(spec.body_regex).search(body) is None:
        return f"body does not match /{spec.body_regex}/" + _partial(spec, obs)
    return None


def _partial(spec: MonitorSpec, obs: Observation) -> str:
    """Say so when the assertion only saw the start of a longer body: the marker may lie beyond."""
    if not obs.body_truncated:
        return ""
    return f" (only the first {size_text(spec.max_body_bytes)} were read: raise max_body to search further)"


def evaluate(spec: MonitorSpec, obs: Observation, in_maintenance: bool = False) -> CheckResult:
    """Turn an observation into the check result that is stored and folded into state."""
    reason = _failure(spec, obs)
    if reason is not None:
        outcome = Outcome.DOWN
    elif spec.degraded_after is not None and obs.latency_ms > spec.degraded_after * 1000:
        outcome = Outcome.DEGRADED
        reason = f"slow: {format_duration(obs.latency_ms / 1000)} over {format_duration(spec.degraded_after)}"
    else:
        outcome = Outcome.UP
    return CheckResult(
        monitor=spec.name,
        at=obs.at,
        outcome=outcome,
        latency_ms=obs.latency_ms,
        status_code=obs.status_code,
        reason=reason,
        cert_days_left=obs.cert_days_left,
        in_maintenance=in_maintenance,
    )
