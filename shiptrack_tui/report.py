"""What `shiptrack status` and `shiptrack incidents` print: the JSON shapes of DESIGN §6 and tables."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from shiptrack_tui.core.durations import format_duration
from shiptrack_tui.core.messages import iso_utc
from shiptrack_tui.core.model import Incident, MonitorSummary, WindowStats
from shiptrack_tui.core.stats import WINDOWS

if TYPE_CHECKING:
    from shiptrack_tui.heartbeat import EngineHealth

STATE_SYMBOLS = {
    "up": "●", "degraded": "◐", "pending": "▲", "down": "✖",
    "paused": "‖", "maintenance": "⚒", "unknown": "?",
}


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


def status_json(summaries: Sequence[MonitorSummary],
                health: EngineHealth | None = None) -> list[dict[str, Any]]:
    """DESIGN §6's rows; each also carries `engine`: the running engine's health (null when none
    runs), repeated per row so that the output stays a plain list."""
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
            "engine": engine,
        })
    return rows


def incidents_json(incidents: Sequence[Incident]) -> list[dict[str, Any]]:
    return [
        {
            "id": i.id,
            "monitor": i.monitor,
            "state": str(i.state),
            "cause": i.cause,
            "opened_at": iso(i.opened_at),
            "acknowledged_at": iso(i.acknowledged_at),
            "resolved_at": iso(i.resolved_at),
            "events": [{"at": iso(e.at), "kind": str(e.kind), "detail": e.detail, "by": e.by}
                       for e in i.events],
        }
        for i in incidents
    ]


def _cell(value: float | None, fmt: str) -> str:
    return "—" if value is None else fmt.format(value)


def _incident_cell(summary: MonitorSummary) -> str:
    if summary.open_incident_id is None:
        return ""
    failed = "  ⚠ notification not delivered" if summary.notify_failed else ""
    return f"#{summary.open_incident_id}{failed}"


def status_table(summaries: Sequence[MonitorSummary], now: float) -> str:
    """A plain table for people: state, name, uptime and p50 over 24 h, last latency, age."""
    header = ("", "STATE", "NAME", "UP 24H", "P50 24H", "LAST", "CHECKED", "INCIDENT")
    rows = [header]
    for s in summaries:
        day = s.windows.get("24h", WindowStats())
        age = None if s.state.last_check_at is None else now - s.state.last_check_at
        rows.append((
            STATE_SYMBOLS.get(str(s.state.status), "?"),
            str(s.state.status),
            s.name,
            _cell(day.uptime, "{:.2f}%"),
            _cell(day.p50_ms, "{:.0f} ms"),
            _cell(s.state.last_latency_ms, "{:.0f} ms"),
            "never" if age is None else f"{format_duration(age)} ago",
            _incident_cell(s),
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows)


def incidents_text(incidents: Sequence[Incident], now: float) -> str:
    """Each incident with its timeline, newest first."""
    if not incidents:
        return "no incidents"
    blocks = []
    for i in incidents:
        end = i.resolved_at if i.resolved_at is not None else now
        head = (f"#{i.id} {i.monitor} — {i.state} — {i.cause} "
                f"(since {iso(i.started_at)}, {format_duration(end - i.started_at)})")
        lines = [head]
        lines += [f"    {iso(e.at)}  {e.text()}" for e in i.events]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
