"""The domain's nouns: what a monitor is, what a check found, what state things are in.

Times are POSIX seconds (float, UTC) everywhere in the core; latencies are milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

DEFAULT_MAX_BODY_BYTES: Final = 1 << 20


class Outcome(StrEnum):
    """What one check concluded."""

    UP = "up"
    DEGRADED = "degraded"
    DOWN = "down"


class MonitorStatus(StrEnum):
    """Where a monitor stands now (DESIGN §3)."""

    UNKNOWN = "unknown"
    UP = "up"
    DEGRADED = "degraded"
    PENDING = "pending"
    DOWN = "down"
    PAUSED = "paused"
    MAINTENANCE = "maintenance"


class Severity(StrEnum):
    """How bad a monitor's incidents are (DESIGN §10); an incident takes it when it opens."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


DEFAULT_SEVERITY: Final = Severity.HIGH


class IncidentStatus(StrEnum):
    """What the people handling an incident say about it (DESIGN §10); forward only, see
    core/incident_status.py for the table."""

    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"


class IncidentState(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class TimelineKind(StrEnum):
    """Kinds of entries on an incident's timeline (DESIGN §3)."""

    OPENED = "opened"
    ACKNOWLEDGED = "acknowledged"
    NOTE = "note"
    NOTIFIED = "notified"
    NOTIFY_RETRY = "notify_retry"  # one delivery attempt failed; the sender tries again later
    NOTIFY_FAILED = "notify_failed"  # the sender gave up (give_up_after) or the URL is unusable
    REMINDER = "reminder"
    RESOLVED = "resolved"
    SILENCED = "silenced"
    SILENCE_ENDED = "silence_ended"
    UPDATE = "update"  # a status update: `status` holds the status posted, `detail` the message
    SEVERITY = "severity"  # an operator changed the severity: detail "high → critical"


class Transition(StrEnum):
    """Incident transitions that people are told about; values are the `[notify] events` names."""

    OPEN = "open"
    ACK = "ack"
    RESOLVE = "resolve"
    REMINDER = "reminder"
    UPDATE = "update"  # an operator posted a status update (DESIGN §10)


class ActionKind(StrEnum):
    """Operator actions, written as rows by whichever process the operator uses (DESIGN §4)."""

    ACK = "ack"
    NOTE = "note"
    PAUSE = "pause"
    RESUME = "resume"
    CHECK_NOW = "check_now"
    SILENCE = "silence"
    UNSILENCE = "unsilence"
    RENAME = "rename"  # monitor: the old name, note: the new one; applied with the config that renames
    UPDATE = "update"  # incident_id, value: the status posted, note: the message
    SEVERITY = "severity"  # incident_id, value: the new severity, note: an optional reason


@dataclass(frozen=True, slots=True)
class MonitorHistory:
    """What the database keeps about one monitor: raw checks, hours of rollups, incidents."""

    checks: int = 0
    rolled_hours: int = 0
    incidents: int = 0

    @property
    def empty(self) -> bool:
        return not (self.checks or self.rolled_hours or self.incidents)

    def __str__(self) -> str:
        """Like "1,234 checks and 2 incidents"."""
        def count(n: int, noun: str) -> str:
            return f"{n:,} {noun}" + ("" if n == 1 else "s")

        return f"{count(self.checks, 'check')} and {count(self.incidents, 'incident')}"


class SilenceScope(StrEnum):
    """What a silence covers: one monitor by name, or every monitor carrying a tag."""

    MONITOR = "monitor"
    TAG = "tag"


@dataclass(frozen=True, slots=True)
class StatusRange:
    """An inclusive range of acceptable HTTP status codes."""

    low: int
    high: int

    def __contains__(self, code: object) -> bool:
        return isinstance(code, int) and self.low <= code <= self.high

    def __str__(self) -> str:
        return str(self.low) if self.low == self.high else f"{self.low}-{self.high}"


DEFAULT_EXPECT_STATUS: Final = (StatusRange(200, 399),)


@dataclass(frozen=True, slots=True)
class MonitorSpec:
    """One monitor as configured. `name` is its identity across restarts."""

    name: str
    url: str
    interval: float = 60.0
    timeout: float = 10.0
    failure_threshold: int = 3
    recovery_threshold: int = 2
    degraded_after: float | None = None
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()
    body: str | None = None
    expect_status: tuple[StatusRange, ...] = DEFAULT_EXPECT_STATUS
    body_contains: str | None = None
    body_regex: str | None = None
    tags: tuple[str, ...] = ()
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    severity: Severity = DEFAULT_SEVERITY
    push: bool = False  # a push monitor: its "probe" is the arrival of pings (core/push.py)
    grace: float = 0.0  # push: how late a ping may be past the interval before it counts as missed
    push_token: str | None = field(default=None, repr=False)  # push: set in the config (a secret)
    locations: tuple[str, ...] = ()  # checked from each of these (DESIGN §12); (): by its owner alone
    confirm: int = 1  # how many of `locations` must each reach failure_threshold to open an incident

    @property
    def kind(self) -> str:
        """"push" for push monitors, "tcp" for tcp://host:port targets, otherwise "http"."""
        if self.push:
            return "push"
        return "tcp" if self.url.startswith("tcp://") else "http"

    @property
    def wants_body(self) -> bool:
        return self.body_contains is not None or self.body_regex is not None


@dataclass(frozen=True, slots=True)
class Observation:
    """What a probe saw on the wire, before any judgement.

    `error` is set when the exchange failed (no usable response); it is already phrased for an
    operator ("connection refused", "TLS: certificate has expired", "timeout after 10.0s").
    `body_truncated` says the body went on past the monitor's `max_body`, so `body` is only its start.
    """

    at: float
    latency_ms: float
    status_code: int | None = None
    body: bytes | None = None
    error: str | None = None
    cert_days_left: int | None = None
    body_truncated: bool = False


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One evaluated check: the row that storage keeps for every check."""

    monitor: str
    at: float
    outcome: Outcome
    latency_ms: float | None
    status_code: int | None = None
    reason: str | None = None
    cert_days_left: int | None = None
    in_maintenance: bool = False

    @property
    def ok(self) -> bool:
        return self.outcome is not Outcome.DOWN


@dataclass(frozen=True, slots=True)
class Policy:
    """The thresholds that turn runs of results into incidents."""

    failure_threshold: int = 3
    recovery_threshold: int = 2
    severity: Severity = DEFAULT_SEVERITY  # what an incident takes when it opens

    @classmethod
    def of(cls, spec: MonitorSpec) -> Policy:
        return cls(spec.failure_threshold, spec.recovery_threshold, spec.severity)


@dataclass(frozen=True, slots=True)
class OpenIncident:
    """The incident a monitor currently has open; storage knows it by (monitor, started_at)."""

    started_at: float
    opened_at: float
    cause: str
    state: IncidentState = IncidentState.OPEN
    acknowledged_at: float | None = None


@dataclass(frozen=True, slots=True)
class MonitorState:
    """Everything needed to continue a monitor exactly where it stopped; stored after each check."""

    status: MonitorStatus = MonitorStatus.UNKNOWN
    consecutive_failures: int = 0
    consecutive_successes: int = 0
    first_failure_at: float | None = None
    first_failure_reason: str | None = None
    incident: OpenIncident | None = None
    last_check_at: float | None = None
    last_latency_ms: float | None = None
    last_error: str | None = None
    paused: bool = False
    run_started_at: float | None = None  # push monitors: the /start of the run in progress


@dataclass(frozen=True, slots=True)
class Incident:
    """An incident as read back from storage, with its timeline."""

    id: int
    monitor: str
    state: IncidentState
    cause: str
    started_at: float
    opened_at: float
    acknowledged_at: float | None = None
    resolved_at: float | None = None
    events: tuple[TimelineEntry, ...] = field(default_factory=tuple)
    severity: Severity = DEFAULT_SEVERITY
    status: IncidentStatus = IncidentStatus.INVESTIGATING


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    at: float
    kind: TimelineKind
    detail: str | None = None
    by: str | None = None  # who made it, for operator entries: "alice (dashboard)"
    status: str | None = None  # UPDATE entries: the status posted

    def text(self) -> str:
        """The entry in words: "acknowledged by alice (dashboard): on it", "identified by alice (cli):
        bad deploy", "severity changed by bob (cli): high → critical"."""
        what = str(self.kind)
        if self.kind is TimelineKind.UPDATE and self.status:
            what = self.status
        elif self.kind is TimelineKind.SEVERITY:
            what = "severity changed"
        head = what if self.by is None else f"{what} by {self.by}"
        return f"{head}: {self.detail}" if self.detail else head


def actor(user: str, where: str) -> str:
    """Who made an operator action, as the timeline and silences show it: "alice (cli)"."""
    return f"{user} ({where})" if user else where


@dataclass(frozen=True, slots=True)
class WindowStats:
    """Uptime and latency over one window; every figure is None when the window has no data."""

    uptime: float | None = None
    p50_ms: float | None = None
    p95_ms: float | None = None
    checks: int = 0


@dataclass(frozen=True, slots=True)
class MonitorSummary:
    """One monitor as the dashboard and `shiptrack status` show it."""

    name: str
    target: str
    tags: tuple[str, ...]
    state: MonitorState
    last_status_code: int | None = None
    cert_days_left: int | None = None
    windows: dict[str, WindowStats] = field(default_factory=dict)
    open_incident_id: int | None = None
    notify_failed: bool = False


@dataclass(frozen=True, slots=True)
class Action:
    """An operator action waiting for (or applied by) the engine."""

    id: int
    at: float
    kind: ActionKind
    monitor: str | None = None
    incident_id: int | None = None
    note: str | None = None
    source: str = "cli"
    value: str | None = None  # UPDATE: the status posted; SEVERITY: the new severity


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """A notification to deliver to one URL, written in the same transaction as its transition."""

    monitor: str
    transition: Transition
    url: str
    title: str
    body: str
    notify_type: str  # Apprise type: "info", "success", "warning" or "failure"


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """An outbox item as stored, with its delivery bookkeeping."""

    id: int
    incident_id: int | None
    item: OutboxItem
    created_at: float
    attempts: int = 0
    next_attempt_at: float = 0.0
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class Silence:
    """Notifications muted for a monitor or a tag; checks and incidents go on as usual.

    `until` is when it expires (None with `until_resolved`: it ends when an incident of a covered
    monitor resolves and none is left open). `ended_at` is set once it has ended.
    """

    id: int
    scope: SilenceScope
    value: str
    created_at: float
    until: float | None = None
    until_resolved: bool = False
    source: str = "cli"
    ended_at: float | None = None

    @property
    def label(self) -> str:
        """`api` or `tag:prod`, as the operator wrote it."""
        return self.value if self.scope is SilenceScope.MONITOR else f"tag:{self.value}"
