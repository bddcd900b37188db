"""The status page's content, read from the store: statuses, daily history and incidents.

Only public monitors are read (http/public.py). Completed days change only when a late check
lands, so their counts are read once and kept for a few minutes (`HistoryCache`); today's bar,
every status and every incident are read on each request.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final

from shiptrack_tui.core.days import DAY_SECONDS, DayCounts, day_of, pooled
from shiptrack_tui.core.model import Incident, IncidentState, IncidentStatus, TimelineKind
from shiptrack_tui.http.public import Entry, Publication, PublicStatus, badness, public_status
from shiptrack_tui.storage import Store

HISTORY_DAYS: Final = 90
RESOLVED_DAYS: Final = 7  # resolved incidents shown for this long
MAX_RESOLVED: Final = 20
HISTORY_TTL: Final = 300.0  # seconds completed days are kept before they are read again
PUBLIC_KINDS: Final = (TimelineKind.UPDATE,)  # the only timeline entries the public sees
_STATUSES: Final = frozenset(status.value for status in IncidentStatus)

Days = tuple[DayCounts | None, ...]  # one per day, oldest first; None: no check that day


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
    past: Days  # the completed days
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
    history: PastDays


@dataclass(slots=True)
class PastDays:
    """Completed days' counts for a set of monitors, as read at one moment."""

    first_day: int
    today: int
    counts: Mapping[str, Mapping[int, DayCounts]]
    read_at: float
    monitors: frozenset[str]
    strips: dict[tuple[str, ...], str] = field(default_factory=dict)  # members -> the renderer's HTML
    _pooled: dict[tuple[str, ...], tuple[Days, DayCounts]] = field(default_factory=dict)

    def days(self, members: tuple[str, ...]) -> tuple[Days, DayCounts]:
        """The members' pooled counts per completed day (oldest first), and their sum."""
        found = self._pooled.get(members)
        if found is None:
            per_member = [self.counts.get(name, {}) for name in members]
            days = tuple(pooled(counts.get(day) for counts in per_member)
                         for day in range(self.first_day, self.today))
            found = self._pooled[members] = (days, pooled(days) or DayCounts())
        return found


class HistoryCache:
    """Completed days per monitor, read again after `ttl` seconds, at a new day or for new monitors."""

    def __init__(self, ttl: float = HISTORY_TTL, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._current: PastDays | None = None

    def get(self, store: Store, monitors: frozenset[str], today: int) -> PastDays:
        with self._lock:
            current = self._current
            if (current is not None and current.today == today and current.monitors == monitors
                    and self._monotonic() - current.read_at < self._ttl):
                return current
            first_day = today - (HISTORY_DAYS - 1)
            counts = store.daily_counts(monitors, first_day, today)
            self._current = PastDays(first_day, today, counts, self._monotonic(), monitors)
            return self._current


def read_page(store: Store, publication: Publication, now: float, history: HistoryCache) -> PageView:
    """Everything the page shows, for `publication`, at `now`."""
    monitors = publication.monitors
    today = day_of(now)
    past = history.get(store, monitors, today)
    today_counts = store.daily_counts(monitors, today, today + 1)
    states = store.statuses(monitors)
    incidents = store.recent_incidents(monitors, now - RESOLVED_DAYS * DAY_SECONDS,
                                       len(monitors) + MAX_RESOLVED, PUBLIC_KINDS)
    open_incidents = [i for i in incidents if i.state is not IncidentState.RESOLVED]
    severities = {i.monitor: i.severity for i in open_incidents}
    open_by_monitor = {i.monitor: i.id for i in open_incidents}
    entries = []
    for entry in publication.entries:
        members = tuple((name, public_status((name,), states, severities, single=True))
                        for name in entry.members)
        status = public_status(entry.members, states, severities, single=not entry.is_service)
        days, past_total = past.days(entry.members)
        today_pooled = pooled(today_counts.get(name, {}).get(today) for name in entry.members)
        total = past_total if today_pooled is None else past_total.plus(today_pooled)
        entries.append(EntryView(
            entry=entry, status=status, members=members, past=days, today=today_pooled, uptime=total.uptime,
            incidents=tuple(open_by_monitor[name] for name in entry.members if name in open_by_monitor),
        ))
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
        history=past,
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
