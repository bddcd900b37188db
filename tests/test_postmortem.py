"""The postmortem renderer (core/postmortem.py): every timeline entry, the durations, the checks'
reasons and latency, an open incident, capped reads. Pure: incidents and checks are built here."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from shiptrack_tui.core.model import (
    CheckResult,
    Incident,
    IncidentState,
    IncidentStatus,
    Outcome,
    Severity,
    TimelineEntry,
    TimelineKind,
)
from shiptrack_tui.core.postmortem import (
    CHECK_CAP,
    Phase,
    PhaseChecks,
    PostmortemContext,
    check_spans,
    file_name,
    render_postmortem,
)

BERLIN = ZoneInfo("Europe/Berlin")
T0 = datetime(2026, 11, 18, 9, 0, 0, tzinfo=UTC).timestamp()  # 10:00:00 CET: the first failing check
OPENED, ACKED, RESOLVED = T0 + 120, T0 + 330, T0 + 47 * 60
NOW = RESOLVED + 2 * 3600


def _incident(resolved: bool = True) -> Incident:
    events = [
        TimelineEntry(OPENED, TimelineKind.OPENED, "HTTP 503 (expected 200-399)"),
        TimelineEntry(OPENED + 1, TimelineKind.NOTIFIED, "[OPEN] sent to 1 URL"),
        TimelineEntry(ACKED, TimelineKind.ACKNOWLEDGED, "on it", "alice (cli)"),
        TimelineEntry(T0 + 600, TimelineKind.UPDATE, "bad deploy | rolling back", "alice (cli)",
                      IncidentStatus.IDENTIFIED.value),
        TimelineEntry(T0 + 700, TimelineKind.NOTE, "rollback started\non all nodes", "bob (dashboard)"),
        TimelineEntry(T0 + 800, TimelineKind.SEVERITY, "high → critical", "bob (dashboard)"),
        TimelineEntry(T0 + 1500, TimelineKind.UPDATE, "error rate back to normal", "carol (api)",
                      IncidentStatus.MONITORING.value),
        TimelineEntry(T0 + 1501, TimelineKind.NOTIFY_FAILED, "gave up on json://…"),
    ]
    if resolved:
        events.append(TimelineEntry(RESOLVED, TimelineKind.RESOLVED, "after 47m"))
    return Incident(
        id=7, monitor="api", state=IncidentState.RESOLVED if resolved else IncidentState.ACKNOWLEDGED,
        cause="HTTP 503 (expected 200-399)", started_at=T0, opened_at=OPENED, acknowledged_at=ACKED,
        resolved_at=RESOLVED if resolved else None, events=tuple(events), severity=Severity.CRITICAL,
        status=IncidentStatus.RESOLVED if resolved else IncidentStatus.MONITORING,
    )


def _up(at: float, latency: float) -> CheckResult:
    return CheckResult("api", at, Outcome.UP, latency, 200)


def _down(at: float, reason: str) -> CheckResult:
    return CheckResult("api", at, Outcome.DOWN, None, 503, reason)


def _checks(incident: Incident, now: float, capped_during: bool = False) -> tuple[PhaseChecks, ...]:
    before, during, *after = check_spans(incident, now)
    found = [
        PhaseChecks(before, tuple(_up(T0 - 600 + 60 * i, 20.0 + i) for i in range(10))),  # 20..29 ms
        PhaseChecks(during, (
            _down(T0, "HTTP 503"), _down(T0 + 60, "HTTP 503"), _down(T0 + 120, "timeout after 1.0s"),
            _down(T0 + 180, "HTTP 503"), _up(T0 + 240, 900.0), _down(T0 + 300, "timeout after 1.0s"),
            CheckResult("api", T0 + 310, Outcome.DOWN, None, 503, "HTTP 503", in_maintenance=True),
        ), capped=capped_during),
    ]
    if after:
        found.append(PhaseChecks(after[0], tuple(_up(RESOLVED + 60 * (i + 1), 30.0) for i in range(5))))
    return tuple(found)


def _render(incident: Incident, **kwargs: object) -> str:
    context = PostmortemContext(generated_at=NOW, services=("Checkout", "Payments"),
                                target="https://api.example.com/health",
                                checks=_checks(incident, NOW, **kwargs), zone=BERLIN)  # type: ignore[arg-type]
    return render_postmortem(incident, context)


def test_every_entry_appears_in_order_with_who_and_when() -> None:
    text = _render(_incident())
    assert text.startswith("# Postmortem: Checkout, Payments — incident #7\n")
    assert "Times are in Europe/Berlin (CET)." in text
    rows = [line for line in text.splitlines() if line.startswith("| 2026-11-18")]
    updates = rows[:2]
    assert updates == [
        "| 2026-11-18 10:10:00 CET | identified | alice (cli) | bad deploy \\| rolling back |",
        "| 2026-11-18 10:25:00 CET | monitoring | carol (api) | error rate back to normal |",
    ]
    timeline = text.split("## Timeline", 1)[1].split("\n## ", 1)[0]
    expected = [
        "| 2026-11-18 10:02:00 CET | opened | ShipTrack | HTTP 503 (expected 200-399) |",
        "| 2026-11-18 10:05:30 CET | acknowledged | alice (cli) | on it |",
        "| 2026-11-18 10:10:00 CET | status update: identified | alice (cli) | bad deploy \\| rolling back |",
        "| 2026-11-18 10:11:40 CET | note | bob (dashboard) | rollback started on all nodes |",
        "| 2026-11-18 10:13:20 CET | severity | bob (dashboard) | high → critical |",
        "| 2026-11-18 10:25:00 CET | status update: monitoring | carol (api) | error rate back to normal |",
        "| 2026-11-18 10:47:00 CET | resolved | ShipTrack | after 47m |",
    ]
    assert [line for line in timeline.splitlines() if line.startswith("| 2026")] == expected
    assert "Notifications: 1 delivered, 0 failed attempts retried, 1 given up." in timeline
    assert "| Services affected | Checkout, Payments |" in text
    assert "| Monitors affected | api (https://api.example.com/health) |" in text
    assert "| Severity | critical |" in text
    assert "| Start (first failing check) | 2026-11-18 10:00:00 CET |" in text
    assert "| Detection (incident opened) | 2026-11-18 10:02:00 CET |" in text
    assert "| Acknowledgement | 2026-11-18 10:05:30 CET by alice (cli) |" in text
    assert "| Resolution | 2026-11-18 10:47:00 CET (checks recovered — after 47m) |" in text
    for section in ("## Cause", "## What went well", "## Follow-ups"):
        assert section in text
    assert "- [ ] " in text.split("## Follow-ups", 1)[1]
    assert "Ongoing" not in text


def test_durations_in_the_human_format() -> None:
    text = _render(_incident())
    assert "- Time to detect (start → opened): 2m\n" in text
    assert "- Time to acknowledge (opened → acknowledged): 3m 30s\n" in text
    assert "- Time to resolve (start → resolved): 47m\n" in text


def test_reasons_counted_with_first_and_last_seen_and_latency_per_phase() -> None:
    text = _render(_incident())
    assert "5 of 7 checks failed between the start and the resolution." in text  # maintenance not counted
    assert "| HTTP 503 | 3 | 2026-11-18 10:00:00 CET | 2026-11-18 10:03:00 CET |" in text
    assert "| timeout after 1.0s | 2 | 2026-11-18 10:02:00 CET | 2026-11-18 10:05:00 CET |" in text
    # p50/p95 are nearest-rank over successful checks: before 20..29 ms → 24 ms, 29 ms, max 29 ms.
    latency = [line for line in text.splitlines() if line.startswith(("| before", "| during", "| after"))]
    assert latency == [
        "| before | 2026-11-18 09:00:00 CET | 2026-11-18 10:00:00 CET | 10 | 0 | 24 ms | 29 ms | 29 ms |",
        "| during | 2026-11-18 10:00:00 CET | 2026-11-18 10:47:00 CET | 7 | 5 | 900 ms | 900 ms | 900 ms |",
        "| after | 2026-11-18 10:47:00 CET | 2026-11-18 11:47:00 CET | 5 | 0 | 30 ms | 30 ms | 30 ms |",
    ]
    assert "Capped" not in text


def test_an_open_incident_renders_as_ongoing() -> None:
    incident = _incident(resolved=False)
    now = T0 + 3600
    context = PostmortemContext(generated_at=now, checks=_checks(incident, now), zone=BERLIN)
    text = render_postmortem(incident, context)
    assert text.startswith("# Postmortem: api — incident #7\n")  # no service: the monitor names it
    assert ("> **Ongoing.** This incident is still acknowledged (status: monitoring) as of "
            "2026-11-18 11:00:00 CET" in text)
    assert "- Time to resolve (start → resolved): ongoing, 1h so far\n" in text
    assert "| Resolution | — (ongoing) |" in text
    assert "| Services affected | none configured |" in text
    assert "checks failed between the start and now." in text
    assert "| after | — | — | ongoing | | | | |" in text
    assert "| resolved |" not in text


def test_spans_reach_an_hour_either_side_and_stop_at_now() -> None:
    incident = _incident()
    before, during, after = check_spans(incident, NOW)
    assert (before.since, before.until, before.newest) == (T0 - 3600, T0, True)
    assert during.since == T0 and during.until > RESOLVED  # the resolving check belongs to it
    assert after.until > RESOLVED + 3600 and after.since > RESOLVED
    assert before.limit + during.limit + after.limit == CHECK_CAP
    (_, _, soon) = check_spans(incident, RESOLVED + 600)
    assert soon.until < RESOLVED + 601
    assert [s.phase for s in check_spans(_incident(resolved=False), NOW)] == [Phase.BEFORE, Phase.DURING]


def test_a_capped_read_is_stated() -> None:
    text = _render(_incident(), capped_during=True)
    assert "(only the first 7 checks are counted, to 2026-11-18 10:05:10 CET)" in text
    assert "| during | 2026-11-18 10:00:00 CET | 2026-11-18 10:47:00 CET | 7+ |" in text
    assert f"Capped: at most {CHECK_CAP:,} stored checks are read for a postmortem." in text


def test_no_stored_checks_is_said_not_hidden() -> None:
    incident = _incident()
    spans = check_spans(incident, NOW)
    text = render_postmortem(incident, PostmortemContext(generated_at=NOW, zone=ZoneInfo("UTC"),
                                                         checks=tuple(PhaseChecks(s) for s in spans)))
    assert "No stored checks cover the incident" in text
    assert "| before | 2026-11-18 08:00:00 UTC | 2026-11-18 09:00:00 UTC | 0 | 0 | — | — | — |" in text
    assert "Times are in UTC." in text


def test_file_name_is_the_number_and_the_start_day_in_the_zone() -> None:
    late = Incident(id=12, monitor="api", state=IncidentState.OPEN, cause="x",
                    started_at=datetime(2026, 11, 18, 23, 30, tzinfo=UTC).timestamp(), opened_at=0.0)
    assert file_name(late, ZoneInfo("UTC")) == "postmortem-12-20261118.md"
    assert file_name(late, BERLIN) == "postmortem-12-20261119.md"
