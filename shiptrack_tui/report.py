"""What `shiptrack status` and `shiptrack incidents` print: the JSON shapes of DESIGN §6 and tables."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from shiptrack_tui.core.durations import format_duration
from shiptrack_tui.core.formats import (
    MUTED_MARK,
    STATE_SYMBOLS,
    fmt_age,
    fmt_datetime,
    fmt_ms,
    fmt_uptime,
    last_latency,
)
from shiptrack_tui.core.location_view import LocationView, location_json
from shiptrack_tui.core.messages import iso_utc
from shiptrack_tui.core.model import (
    CheckResult,
    Incident,
    MonitorStatus,
    MonitorSummary,
    Silence,
    TimelineKind,
    WindowStats,
)
from shiptrack_tui.core.silences import UNTIL_RESOLVED, expiry_text, is_active, target_of
from shiptrack_tui.core.stats import WINDOWS

if TYPE_CHECKING:
    from shiptrack_tui.heartbeat import EngineHealth


def iso(at: float | None) -> str | None:
    """ISO 8601 UTC with a `Z`, to the second; None stays None (JSON null)."""
    return None if at is None else iso_utc(at)


def _rounded(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def _per_window(summary: MonitorSummary, pick: str) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for window in WINDOWS:
        stats = summary.windows.get(window, WindowStats())
        out[window] = _rounded(getattr(stats, pick))
    return out


def covering(summary: MonitorSummary, silences: Sequence[Silence], now: float) -> list[Silence]:
    """The active silences that mute this monitor (by name or by one of its tags)."""
    return [s for s in silences
            if is_active(s, now) and target_of(s).covers(summary.name, frozenset(summary.tags))]


def _silenced_until(muting: Sequence[Silence]) -> str | None:
    """When the last silence muting a monitor ends: an ISO time, `until-resolved`, or None."""
    if not muting:
        return None
    if any(s.until is None for s in muting):
        return UNTIL_RESOLVED
    return iso(max(s.until for s in muting if s.until is not None))


def status_json(summaries: Sequence[MonitorSummary], health: EngineHealth | None = None,
                silences: Sequence[Silence] = (), now: float = 0.0,
                services: Mapping[str, Sequence[str]] | None = None,
                locations: Mapping[str, Sequence[LocationView]] | None = None) -> list[dict[str, Any]]:
    """DESIGN §6's rows; each also carries `engine`: the running engine's health (null when none
    runs), repeated per row so that the output stays a plain list, `silenced_until`,
    `services`, the names of the services the monitor belongs to (`services` maps monitor → names),
    and `locations`, each location's latest check of a multi-location monitor (DESIGN §12)."""
    services = services or {}
    locations = locations or {}
    engine = None if health is None else health.as_json()
    rows = []
    for s in summaries:
        rows.append({
            "name": s.name,
            "target": s.target,
            "state": str(s.state.status),
            "last_check_at": iso(s.state.last_check_at),
            "last_latency_ms": _rounded(s.state.last_latency_ms),
            "last_error": s.state.last_error,
            "uptime": _per_window(s, "uptime"),
            "p50_ms": _per_window(s, "p50_ms"),
            "p95_ms": _per_window(s, "p95_ms"),
            "open_incident": s.open_incident_id,
            "silenced_until": _silenced_until(covering(s, silences, now)),
            "services": list(services.get(s.name, ())),
            "locations": [location_json(view) for view in locations.get(s.name, ())],
            "engine": engine,
        })
    return rows


def incidents_json(incidents: Sequence[Incident]) -> list[dict[str, Any]]:
    """DESIGN §6's incident objects, with severity, status and the status updates (§10).

    The one serialiser of incidents: the CLI prints it and the HTTP API returns it."""
    return [
        {
            "id": i.id,
            "monitor": i.monitor,
            "state": str(i.state),
            "severity": str(i.severity),
            "status": str(i.status),
            "cause": i.cause,
            "opened_at": iso(i.opened_at),
            "acknowledged_at": iso(i.acknowledged_at),
            "resolved_at": iso(i.resolved_at),
            "updates": [{"at": iso(e.at), "status": e.status, "message": e.detail, "by": e.by}
                        for e in i.events if e.kind is TimelineKind.UPDATE],
            "events": [{"at": iso(e.at), "kind": str(e.kind), "detail": e.detail, "by": e.by,
                        "status": e.status} for e in i.events],
        }
        for i in incidents
    ]


def checks_json(checks: Sequence[CheckResult]) -> list[dict[str, Any]]:
    """Raw checks, newest first as the store returns them (the HTTP API's monitor checks)."""
    return [
        {"at": iso(c.at), "outcome": str(c.outcome), "latency_ms": _rounded(c.latency_ms),
         "status_code": c.status_code, "error": c.reason, "in_maintenance": c.in_maintenance}
        for c in checks
    ]


def _incident_cell(summary: MonitorSummary) -> str:
    if summary.open_incident_id is None:
        return ""
    failed = "  ⚠ notification not delivered" if summary.notify_failed else ""
    return f"#{summary.open_incident_id}{failed}"


def _silence_cell(muting: Sequence[Silence], now: float) -> str:
    """`⊘ 14m left`, `⊘ until resolved`: how long notifications stay muted."""
    if not muting:
        return ""
    longest = next((s for s in muting if s.until is None), None) or max(muting, key=lambda s: s.until or 0.0)
    return f"{MUTED_MARK} {expiry_text(longest, now)}"


def status_table(summaries: Sequence[MonitorSummary], now: float, silences: Sequence[Silence] = ()) -> str:
    """A plain table for people: state, name, uptime and p50 over 24 h, last latency, age, silence.

    Numbers read as in the dashboard (core.formats); a failed last check has no latency (`—`)."""
    header = ("", "STATE", "NAME", "UP 24H", "P50 24H", "LAST", "CHECKED", "SILENCED", "INCIDENT")
    rows = [header]
    for s in summaries:
        day = s.windows.get("24h", WindowStats())
        rows.append((
            STATE_SYMBOLS.get(MonitorStatus(s.state.status), "?"),
            str(s.state.status),
            s.name,
            fmt_uptime(day.uptime),
            fmt_ms(day.p50_ms),
            last_latency(s.state),
            "never" if s.state.last_check_at is None else f"{fmt_age(now, s.state.last_check_at)} ago",
            _silence_cell(covering(s, silences, now), now),
            _incident_cell(s),
        ))
    if not any(row[7] for row in rows[1:]):  # nothing muted: no empty column
        rows = [row[:7] + row[8:] for row in rows]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows)


def incidents_text(incidents: Sequence[Incident], now: float) -> str:
    """Each incident with its timeline, newest first; times in the display zone (JSON keeps UTC)."""
    if not incidents:
        return "no incidents"
    blocks = []
    for i in incidents:
        end = i.resolved_at if i.resolved_at is not None else now
        head = (f"#{i.id} {i.monitor} — {i.state} — {i.cause} "
                f"(since {fmt_datetime(i.started_at)}, {format_duration(end - i.started_at)}) "
                f"— {i.severity}, {i.status}")
        lines = [head]
        lines += [f"    {fmt_datetime(e.at)}  {e.text()}" for e in i.events]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
