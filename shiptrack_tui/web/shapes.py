"""The API's JSON shapes as Pydantic models: what `/openapi.json` (and so `/docs`) shows.

They describe, they do not produce: every answer is still written by the CLI's serialisers
(report.py, cli_services.py, heartbeat.py, responses.py), and routes hand FastAPI a ready
`Response`, so nothing is validated or re-encoded on the request path. That keeps one source of
truth; tests hold the two together: every serialiser's output validates against its model with
extra fields forbidden, the models' field names are those docs/json.md lists, and schemathesis
checks live answers against the schema.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from shiptrack_tui.core.model import IncidentState, IncidentStatus, MonitorStatus, Outcome, Severity
from shiptrack_tui.core.services import ServiceStatus

Time = str
"""ISO 8601 UTC with a `Z`, to the second (docs/json.md)."""
MAX_ID: Final = 2**63 - 1
"""The largest id an incident (any row) can have: SQLite's integers are 64-bit."""


class Shape(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class PerWindow(Shape):
    """A figure per statistics window; `null` where the window has no data."""

    h1: float | None = Field(alias="1h")
    h24: float | None = Field(alias="24h")
    d7: float | None = Field(alias="7d")
    d30: float | None = Field(alias="30d")


class StorageStall(Shape):
    since: Time
    seconds: float
    error: str | None
    writes_waiting: int
    dropped: int
    unreachable: bool = False


class EngineHealth(Shape):
    pid: int
    heartbeat_at: Time | None
    stale: bool
    storage_stall: StorageStall | None


class LocationCheck(Shape):
    """One location's latest check of a multi-location monitor (DESIGN §12)."""

    location: str
    ok: bool
    failures: int = Field(description="The run of failed checks this one ends; 0 when ok")
    reason: str | None
    checked_at: Time
    node: str
    latency_ms: float | None


class Monitor(Shape):
    """A row of `shiptrack status --json`."""

    name: str
    target: str
    state: MonitorStatus
    last_check_at: Time | None
    last_latency_ms: float | None
    last_error: str | None
    uptime: PerWindow
    p50_ms: PerWindow
    p95_ms: PerWindow
    open_incident: int | None
    silenced_until: str | None = Field(description='An ISO time, "until-resolved", or null')
    services: list[str]
    locations: list[LocationCheck] = Field(description="Each location's latest check; [] for an ordinary "
                                                       "monitor")
    engine: EngineHealth | None


class Check(Shape):
    at: Time
    outcome: Outcome
    latency_ms: float | None
    status_code: int | None
    error: str | None
    in_maintenance: bool


class MonitorDetail(Monitor):
    """A `status --json` row with the monitor's latest checks."""

    recent_checks: list[Check]


class IncidentUpdate(Shape):
    at: Time
    status: str | None
    message: str | None
    by: str | None


class TimelineEvent(Shape):
    at: Time
    kind: str = Field(description="opened, acknowledged, note, update, ...; skip kinds you do not know")
    detail: str | None
    by: str | None
    status: str | None


class Incident(Shape):
    """An object of `shiptrack incidents --json`."""

    id: int
    monitor: str
    state: IncidentState
    severity: Severity
    status: IncidentStatus
    cause: str
    opened_at: Time
    acknowledged_at: Time | None
    resolved_at: Time | None
    updates: list[IncidentUpdate]
    events: list[TimelineEvent]


class ServiceMember(Shape):
    name: str
    state: MonitorStatus


class ServiceIncident(Shape):
    id: int
    monitor: str
    severity: Severity
    state: IncidentState
    opened_at: Time


class Service(Shape):
    """An object of `shiptrack services --json`."""

    name: str
    description: str
    status: ServiceStatus
    monitors: list[ServiceMember]
    open_incidents: list[ServiceIncident]


class ClusterNode(Shape):
    """A node of `shiptrack cluster status --json`."""

    name: str
    location: str
    alive: bool
    last_heartbeat_at: Time
    started_at: Time | None
    monitors_owned: int
    config_hash: str | None
    config_skew: bool
    lateness_p99_ms: float | None


class UnservedLocation(Shape):
    """A location some monitors ask for that no live node is in: nobody checks them from there."""

    location: str
    monitors: int


class Cluster(Shape):
    """`shiptrack cluster status --json`: the nodes sharing the PostgreSQL database (none on SQLite)."""

    nodes: list[ClusterNode]
    alive: int
    total: int
    skewed: list[str]
    unserved_locations: list[UnservedLocation]


class ActionOutcome(Shape):
    """A write's answer: applied (200) or still queued (202)."""

    action: int
    state: Literal["applied", "queued"]
    applied_at: Time | None = None


class ProblemDetail(Shape):
    where: str
    problem: str


class Problem(Shape):
    """Every error: what is wrong and what to do."""

    error: str
    status: int
    details: list[ProblemDetail] | None = None
    action: int | None = None


class Health(Shape):
    """`/health/live` and `/health/ready`; figures only where an engine runs."""

    status: Literal["ok", "unavailable"]
    reason: str | None = None
    scheduler_age_s: float | None = None
    monitors: int | None = None
    writes_queued: int | None = None
    storage_stalled_s: float | None = None


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route or router: these statuses answer a `Problem`."""
    return {code: {"model": Problem} for code in codes}


def json_problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The same for a route whose own answer is not JSON (FastAPI would file these under the
    route's media type): the schema by reference; another route's `problems` puts it there."""
    content = {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    return {code: {"description": HTTPStatus(code).phrase, "content": content} for code in codes}
