"""The validated configuration: frozen values that the rest of ShipTrack reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from shiptrack_tui.config.status_page import StatusPageSettings
from shiptrack_tui.core.maintenance import MaintenanceWindow
from shiptrack_tui.core.model import DEFAULT_SEVERITY, MonitorSpec, Severity
from shiptrack_tui.core.services import ServiceSpec

# "reminder" and "update" (a status update an operator posted) are chosen like the others; the
# default (no `events` key) sends all five: a human chose to post an update, so it is told.
NOTIFY_EVENTS: Final = ("open", "ack", "resolve", "reminder", "update")
DEFAULT_TIMEOUT: Final = 10.0


@dataclass(frozen=True, slots=True)
class Defaults:
    """`[defaults]`: what monitors inherit. `timeout` None means "10s, or half the interval if shorter"."""

    interval: float = 60.0
    timeout: float | None = None
    failure_threshold: int = 3
    recovery_threshold: int = 2
    degraded_after: float | None = None
    severity: Severity = DEFAULT_SEVERITY
    locations: tuple[str, ...] = ()  # config/cluster.py: where monitors are checked from (none: here)
    confirm: int = 1  # how many of those locations must each reach failure_threshold

    def timeout_for(self, interval: float) -> float:
        """The timeout a monitor with this interval inherits."""
        if self.timeout is not None:
            return self.timeout
        return min(DEFAULT_TIMEOUT, interval / 2)


@dataclass(frozen=True, slots=True)
class StorageSettings:
    """`[storage]`: `path` None means the platform data dir (see paths.default_db_path); `url` (a
    PostgreSQL URL) replaces `path`, its password from `password_file` or libpq's usual places.

    The `keep_*` retention defaults hold 10,000 monitors at 30 s under 5 GB (README, "Storage").
    """

    path: Path | None = None
    url: str | None = field(default=None, repr=False)  # may hold a password: never in a repr
    password_file: Path | None = None
    keep_raw: float = 2 * 86400.0  # every single check
    keep_hourly: float = 32 * 86400.0  # hour rollups; at least 32 days (30-day windows read them)
    keep_daily: float = 180 * 86400.0  # day and week rollups; at least keep_hourly
    keep_incidents: float = 180 * 86400.0  # resolved incidents, timelines and their notifications


@dataclass(frozen=True, slots=True)
class Channel:
    """`[[notify.channel]]`: extra URLs for monitors carrying one of `tags` (every monitor if none)."""

    urls: tuple[str, ...]
    tags: frozenset[str] = frozenset()
    events: frozenset[str] = frozenset(NOTIFY_EVENTS)

    def covers(self, monitor_tags: tuple[str, ...] | frozenset[str]) -> bool:
        return not self.tags or not self.tags.isdisjoint(monitor_tags)


@dataclass(frozen=True, slots=True)
class NotifySettings:
    """`[notify]`: where and when people are told."""

    urls: tuple[str, ...] = ()
    apprise_config: Path | None = None
    events: frozenset[str] = frozenset(NOTIFY_EVENTS)
    remind_every: float | None = None
    give_up_after: float = 86400.0
    channels: tuple[Channel, ...] = ()


@dataclass(frozen=True, slots=True)
class DisplaySettings:
    """`[display]`: how times read. `timezone` None means the machine's local zone (TZ honoured)."""

    timezone: str | None = None


@dataclass(frozen=True, slots=True)
class HttpSettings:
    """`[http]` (config/http.py): `host` None means no HTTP server. `token` is the bearer token in
    force (from SHIPTRACK_HTTP_TOKEN or `token_file`); it is never shown, `token_source` says where
    it came from."""

    host: str | None = None
    port: int = 0
    token: str | None = field(default=None, repr=False)
    token_source: str | None = None
    public_api: bool = False

    @property
    def enabled(self) -> bool:
        return self.host is not None

    @property
    def listen(self) -> str:
        """`127.0.0.1:8080`, `[::1]:8080`: the address as an operator writes it."""
        host = f"[{self.host}]" if self.host and ":" in self.host else self.host
        return f"{host}:{self.port}"


@dataclass(frozen=True, slots=True)
class ClusterSettings:
    """`[cluster]` (config/cluster.py): this engine as one node of several sharing a PostgreSQL store.
    `node` and `location` default to the host name; `lease` bounds how long a dead node's monitors
    wait for a new owner (it is dead after 0.6 lease without a heartbeat: engine/cluster.py)."""

    node: str
    location: str
    lease: float = 20.0
    source_address: str | None = None  # the local IP this node's checks leave from; None: the OS picks


@dataclass(frozen=True, slots=True)
class Config:
    """A whole config file, validated. `digest` is the sha256 of the file's bytes."""

    path: Path
    monitors: tuple[MonitorSpec, ...] = ()
    defaults: Defaults = Defaults()
    storage: StorageSettings = StorageSettings()
    notify: NotifySettings = NotifySettings()
    maintenance: tuple[MaintenanceWindow, ...] = ()
    digest: str = ""
    display: DisplaySettings = DisplaySettings()
    services: tuple[ServiceSpec, ...] = ()
    http: HttpSettings = HttpSettings()
    status_page: StatusPageSettings | None = None  # None: no public status page, no badges
    cluster: ClusterSettings | None = None  # None: a single machine (no [cluster] table)

    def monitor(self, name: str) -> MonitorSpec | None:
        return next((spec for spec in self.monitors if spec.name == name), None)
