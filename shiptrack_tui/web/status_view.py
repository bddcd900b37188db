"""The status page's content, read from the store: statuses, daily history and incidents.

Only public monitors are read (http/public.py). Completed days change only when a late check
lands: their counts are read, pooled per entry and drawn as bars once, and kept for 5 minutes
(`HistoryCache`; a few strings per entry, not 90,000 small objects for the garbage collector to
walk). Today's counts are kept for 15 seconds; every status and incident is read on each request.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Final, Generic, TypeVar

from shiptrack_tui.core.days import DAY_SECONDS, DayCounts, day_of, pooled
from shiptrack_tui.core.model import Incident, IncidentState, IncidentStatus, MonitorStatus, TimelineKind
from shiptrack_tui.storage import Store
from shiptrack_tui.web.bars import past_bars
from shiptrack_tui.web.public import Entry, Publication, PublicStatus, badness, monitor_status, public_status

HISTORY_DAYS: Final = 90
RESOLVED_DAYS: Final = 7  # resolved incidents shown for this long
MAX_RESOLVED: Final = 20
HISTORY_TTL: Final = 300.0  # seconds completed days are kept before they are read again
TODAY_TTL: Final = 15.0  # seconds today's counts are kept: a bar a few seconds old reads the same
PUBLIC_KINDS: Final = (TimelineKind.UPDATE,)  # the only timeline entries the public sees
_STATUSES: Final = frozenset(status.value for status in IncidentStatus)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Update:
    """A status update as published: the status posted, its message and when."""

    status: IncidentStatus
    message: str
    at: float


@dataclass(frozen=True, slots=True)
class IncidentView:
    id: int
    monitor: str
    affects: tuple[str, ...]  # the page's other entries it touches (services the monitor is in)
    status: IncidentStatus
    is_open: bool
    started_at: float
    resolved_at: float | None
    cause: str | None  # only with show_errors
    updates: tuple[Update, ...]  # newest first


@dataclass(frozen=True, slots=True)
class EntryView:
    entry: Entry
    status: PublicStatus
    members: tuple[tuple[str, PublicStatus], ...]
    past_bars: str  # the completed days' bars, HTML (http/bars.py)
    today: DayCounts | None
    uptime: float | None  # over all the days shown
    incidents: tuple[int, ...]  # ids of its open incidents


@dataclass(frozen=True, slots=True)
class PageView:
    publication: Publication
    now: float
    first_day: int
    today: int
    banner: PublicStatus
    affected: tuple[str, ...]  # the entries in the banner's status, when it is a problem
    entries: tuple[EntryView, ...]
    open_incidents: tuple[IncidentView, ...]
    resolved_incidents: tuple[IncidentView, ...]


@dataclass(frozen=True, slots=True)
class PastDays:
    """The completed days of every entry of one publication, as read at one moment."""

    first_day: int
    today: int
    entries: Mapping[tuple[str, ...], tuple[str, DayCounts]]  # members -> (bars HTML, sum of the days)


def read_past_days(store: Store, publication: Publication, today: int) -> PastDays:
    first_day = today - (HISTORY_DAYS - 1)
    counts = store.daily_counts(publication.monitors, first_day, today)
    entries: dict[tuple[str, ...], tuple[str, DayCounts]] = {}
    for entry in publication.entries:
        if entry.members in entries:
            continue
        per_member = [counts.get(name, {}) for name in entry.members]
        days = [pooled(found.get(day) for found in per_member) for day in range(first_day, today)]
        entries[entry.members] = (past_bars(first_day, days), pooled(days) or DayCounts())
    return PastDays(first_day, today, entries)


class Kept(Generic[T]):
    """One value, loaded again once it is `ttl` seconds old or asked for under another key."""

    def __init__(self, ttl: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._kept: tuple[Hashable, float, T] | None = None

    def get(self, key: Hashable, load: Callable[[], T]) -> T:
        with self._lock:  # one loader at a time: concurrent requests wait for its answer
            kept = self._kept
            if kept is not None and kept[0] == key and self._monotonic() - kept[1] < self._ttl:
                return kept[2]
            value = load()
            self._kept = (key, self._monotonic(), value)
            return value


class HistoryCache:
    """What read_page keeps between requests: completed days for `HISTORY_TTL` seconds, today's
    counts for `TODAY_TTL` seconds."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.past: Kept[PastDays] = Kept(HISTORY_TTL, monotonic)
        self.today: Kept[Mapping[str, Mapping[int, DayCounts]]] = Kept(TODAY_TTL, monotonic)

    def past_days(self, store: Store, publication: Publication, today: int) -> PastDays:
        return self.past.get((today, publication), lambda: read_past_days(store, publication, today))

    def today_counts(self, store: Store, monitors: frozenset[str], today: int
                     ) -> Mapping[str, Mapping[int, DayCounts]]:
        return self.today.get((today, monitors), lambda: store.daily_counts(monitors, today, today + 1))


def read_page(store: Store, publication: Publication, now: float, history: HistoryCache) -> PageView:
    """Everything the page shows, for `publication`, at `now`."""
    monitors = publication.monitors
    today = day_of(now)
    past = history.past_days(store, publication, today)
    today_counts = history.today_counts(store, monitors, today)
    states = store.statuses(monitors)
    incidents = store.recent_incidents(monitors, now - RESOLVED_DAYS * DAY_SECONDS,
                                       len(monitors) + MAX_RESOLVED, PUBLIC_KINDS)
    open_incidents = [i for i in incidents if i.state is not IncidentState.RESOLVED]
    severities = {i.monitor: i.severity for i in open_incidents}
    open_by_monitor = {i.monitor: i.id for i in open_incidents}
    entries = []
    for entry in publication.entries:
        members = tuple((name, monitor_status(states.get(name, MonitorStatus.UNKNOWN), severities.get(name)))
                        for name in entry.members)
        # A listed monitor is judged alone; a service by the services' rule over its members.
        status = public_status(entry.members, states, severities) if entry.is_service else members[0][1]
        bars, past_total = past.entries[entry.members]
        today_pooled = pooled(today_counts.get(name, {}).get(today) for name in entry.members)
        total = past_total if today_pooled is None else past_total.plus(today_pooled)
        incident_ids = tuple(open_by_monitor[name] for name in entry.members if name in open_by_monitor)
        entries.append(EntryView(entry=entry, status=status, members=members, past_bars=bars,
                                 today=today_pooled, uptime=total.uptime, incidents=incident_ids))
    worst = max((view.status for view in entries), key=badness, default=PublicStatus.OPERATIONAL)
    if badness(worst) == 0:
        unknown = entries and all(view.status is PublicStatus.NO_DATA for view in entries)
        worst = PublicStatus.NO_DATA if unknown else PublicStatus.OPERATIONAL
    affected = tuple(view.entry.name for view in entries if view.status is worst and badness(worst) > 0)
    views = [_incident_view(incident, publication) for incident in incidents]
    return PageView(
        publication=publication, now=now, first_day=past.first_day, today=today, banner=worst,
        affected=affected, entries=tuple(entries),
        open_incidents=tuple(v for v in views if v.is_open),
        resolved_incidents=tuple(v for v in views if not v.is_open)[:MAX_RESOLVED],
    )


def _incident_view(incident: Incident, publication: Publication) -> IncidentView:
    updates = [
        Update(IncidentStatus(entry.status), entry.detail or "", entry.at)
        for entry in reversed(incident.events)
        if entry.kind is TimelineKind.UPDATE and entry.status in _STATUSES
    ]
    resolved = incident.state is IncidentState.RESOLVED
    if resolved and incident.resolved_at is not None and not any(
            u.status is IncidentStatus.RESOLVED for u in updates):
        # Recovery resolves it (DESIGN §10); the reader sees that as the last update, without
        # the engine's own wording (it may name the check that passed).
        updates.insert(0, Update(IncidentStatus.RESOLVED, "", incident.resolved_at))
    return IncidentView(
        id=incident.id, monitor=incident.monitor,
        affects=tuple(n for n in publication.entries_of.get(incident.monitor, ()) if n != incident.monitor),
        status=IncidentStatus.RESOLVED if resolved else incident.status, is_open=not resolved,
        started_at=incident.started_at, resolved_at=incident.resolved_at,
        cause=incident.cause if publication.show_errors else None, updates=tuple(updates),
    )
