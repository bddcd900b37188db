"""Push monitors' pure core: what a ping or a missed deadline becomes, and when a deadline is."""

from __future__ import annotations

import pytest

from shiptrack_tui.core.model import MonitorSpec, MonitorState, Outcome
from shiptrack_tui.core.push import (
    FAILED_WITHOUT_MESSAGE,
    MESSAGE_CHARS,
    PingKind,
    clean_message,
    deadline,
    default_grace,
    missed,
    missed_reason,
    ping_result,
)

DAY, HOUR = 86400.0, 3600.0
T0 = 1_800_000_000.0


def job(**changes: object) -> MonitorSpec:
    fields: dict[str, object] = {"name": "backup", "url": "push", "push": True, "interval": DAY,
                                 "grace": HOUR}
    fields.update(changes)
    return MonitorSpec(**fields)  # type: ignore[arg-type]


def test_a_missed_ping_reads_like_the_schedule() -> None:
    assert missed_reason(job()) == "no ping for 1d 1h; expected every 1d"
    assert missed_reason(job(interval=300.0, grace=60.0)) == "no ping for 6m; expected every 5m"
    result = missed(job(), T0, in_maintenance=True)
    assert (result.outcome, result.reason, result.latency_ms, result.in_maintenance) == (
        Outcome.DOWN, "no ping for 1d 1h; expected every 1d", None, True)


@pytest.mark.parametrize(("interval", "grace"), [(DAY, HOUR), (HOUR, 360.0), (300.0, 60.0), (1.0, 60.0)])
def test_the_default_grace_is_a_tenth_of_the_interval_between_a_minute_and_an_hour(
        interval: float, grace: float) -> None:
    assert default_grace(interval) == grace


def test_the_deadline_counts_from_the_latest_of_check_start_and_watch() -> None:
    spec = job()
    assert deadline(spec, MonitorState(), floor=T0) == T0 + DAY + HOUR  # never pinged: since watched
    checked = MonitorState(last_check_at=T0 + 5)
    assert deadline(spec, checked, floor=None) == T0 + 5 + DAY + HOUR  # restart-safe: from the check
    assert deadline(spec, checked, floor=T0 + 50) == T0 + 50 + DAY + HOUR  # resumed after it
    started = MonitorState(last_check_at=T0, run_started_at=T0 + 100)
    assert deadline(spec, started, floor=None) == T0 + 100 + DAY + HOUR  # a start is a ping too


def test_success_failure_and_a_measured_run() -> None:
    spec = job(degraded_after=2 * HOUR)
    plain = ping_result(spec, PingKind.SUCCESS, T0, run_started_at=None, message="12 files")
    assert (plain.outcome, plain.reason, plain.latency_ms) == (Outcome.UP, None, None)
    quick = ping_result(spec, PingKind.SUCCESS, T0, run_started_at=T0 - HOUR)
    assert (quick.outcome, quick.latency_ms) == (Outcome.UP, HOUR * 1000)
    slow = ping_result(spec, PingKind.SUCCESS, T0, run_started_at=T0 - 3 * HOUR)
    assert (slow.outcome, slow.reason) == (Outcome.DEGRADED, "slow run: 3h over 2h")
    failed = ping_result(spec, PingKind.FAIL, T0, run_started_at=T0 - 60, message="disk full")
    assert (failed.outcome, failed.reason, failed.latency_ms) == (Outcome.DOWN, "disk full", 60_000)
    assert ping_result(spec, PingKind.FAIL, T0, None).reason == FAILED_WITHOUT_MESSAGE
    with pytest.raises(ValueError, match="start"):
        ping_result(spec, PingKind.START, T0, None)


def test_messages_are_one_capped_line() -> None:
    assert clean_message("  backup\nfailed:\tdisk\x00full  ") == "backup failed: disk full"
    assert clean_message(" \n ") is None and clean_message(None) is None
    long = clean_message("x" * 5000)
    assert long is not None and len(long) == MESSAGE_CHARS and long.endswith("…")


def test_a_push_spec_keeps_its_token_out_of_its_repr() -> None:
    spec = job(push_token="abcdefghijklmnop0123")
    assert spec.kind == "push" and "abcdefghijklmnop0123" not in repr(spec)
