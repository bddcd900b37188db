"""`[[maintenance]]` and per-monitor `maintenance = [...]` tables, read into core windows."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shiptrack_tui.config.checker import Checker, Scope
from shiptrack_tui.config.values import Bad, as_duration, as_str, as_str_list, kind, show
from shiptrack_tui.core.maintenance import ALL_DAYS, MaintenanceWindow, day_number

GLOBAL_KEYS: Final = ("name", "monitors", "tags", "start", "end", "days", "at", "duration", "timezone")
MONITOR_KEYS: Final = ("name", "start", "end", "days", "at", "duration", "timezone")
_ONE_OFF: Final = ("start", "end")
_RECURRING: Final = ("days", "at", "duration")
_CLOCK: Final = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")
_MAX_DURATION: Final = 7 * 86400.0


def as_zone(value: object) -> str:
    name = as_str(value, '"Europe/Berlin"')
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Bad(f'{show(value)} is not a known time zone; expected an IANA name like "Europe/Berlin" '
                  'or "UTC"') from None
    return name


def as_clock(value: object) -> int:
    """Minutes after midnight from "02:00" or a TOML local time."""
    if isinstance(value, time):
        return value.hour * 60 + value.minute
    if isinstance(value, str) and (match := _CLOCK.match(value)):
        hour, minute = int(match.group(1)), int(match.group(2))
        if hour < 24 and minute < 60:
            return hour * 60 + minute
    raise Bad(f'{show(value)} is not a time of day; expected "HH:MM" like "02:00"')


def as_days(value: object) -> frozenset[int]:
    names = as_str_list(value, '["mon", "tue"]')
    if not names:
        raise Bad('[] names no day; expected days like ["sat", "sun"] (leave days out for every day)')
    numbers = set()
    for index, name in enumerate(names):
        number = day_number(name)
        if number is None:
            raise Bad(f'contains {show(name)}; expected day names mon, tue, wed, thu, fri, sat, sun',
                      at=(index,))
        numbers.add(number)
    return frozenset(numbers)


def as_instant(value: object, zone: str | None) -> float:
    """POSIX seconds from a TOML datetime or an ISO 8601 string; needs an offset or a timezone."""
    moment: datetime | None = None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            moment = None
    elif isinstance(value, date):
        raise Bad(f"{show(value)} is a date without a time; expected a date and time like "
                  "2026-11-22T02:00:00+01:00")
    if moment is None:
        raise Bad(f"{show(value)} must be a date and time like 2026-11-22T02:00:00+01:00, not {kind(value)}")
    if moment.tzinfo is None:
        if zone is None:
            raise Bad(f"{show(value)} has no UTC offset; add one (2026-11-22T02:00:00+01:00) or set "
                      'timezone = "Europe/Berlin"')
        moment = moment.replace(tzinfo=ZoneInfo(zone))
    return moment.timestamp()


def read_window(ck: Checker, scope: Scope, table: dict[str, Any], allowed: tuple[str, ...],
                monitors: frozenset[str] = frozenset()) -> MaintenanceWindow | None:
    """One window, or None after reporting what is wrong with it."""
    ck.known_keys(scope, table, allowed)
    name = ck.read(scope, table, "name", lambda v: as_str(v, '"database upgrade"'))
    zone = ck.read(scope, table, "timezone", as_zone)
    tags = ck.read(scope, table, "tags", lambda v: as_str_list(v, '["prod"]'))
    named = ck.read(scope, table, "monitors", lambda v: as_str_list(v, '["api", "db"]'))
    one_off = [key for key in _ONE_OFF if key in table]
    recurring = [key for key in _RECURRING if key in table]
    if one_off and recurring:
        ck.report(scope.path, f"{scope.label}: set either start and end (a one-off window) or days, at "
                              "and duration (a recurring one), not both")
        return None
    base = MaintenanceWindow(name=name, timezone=zone or "UTC",
                             monitors=monitors | frozenset(named or ()), tags=frozenset(tags or ()))
    if one_off:
        return _one_off(ck, scope, table, base, zone)
    if recurring:
        return _recurring(ck, scope, table, base)
    ck.report(scope.path, f"{scope.label} has no time; set start and end (a one-off window) or at and "
                          'duration, optionally days (a recurring one: at = "02:00", duration = "30m")')
    return None


def _one_off(ck: Checker, scope: Scope, table: dict[str, Any], base: MaintenanceWindow,
             zone: str | None) -> MaintenanceWindow | None:
    start = ck.read(scope, table, "start", lambda v: as_instant(v, zone))
    end = ck.read(scope, table, "end", lambda v: as_instant(v, zone))
    for key in _ONE_OFF:
        if key not in table:
            ck.report(scope.path, f"{scope.label} has no {key}; a one-off window needs both start and end")
    if start is None or end is None:
        return None
    if end <= start:
        ck.report((*scope.path, "end"),
                  f"{scope.subject('end')} {show(table['end'])} must be after start {show(table['start'])}")
        return None
    return MaintenanceWindow(base.name, start, end, monitors=base.monitors, tags=base.tags,
                             timezone=base.timezone)


def _recurring(ck: Checker, scope: Scope, table: dict[str, Any],
               base: MaintenanceWindow) -> MaintenanceWindow | None:
    days = ck.read(scope, table, "days", as_days)
    minute = ck.read(scope, table, "at", as_clock)
    duration = ck.read(scope, table, "duration", as_duration)
    for key in ("at", "duration"):
        if key not in table:
            example = 'at = "02:00"' if key == "at" else 'duration = "30m"'
            ck.report(scope.path, f"{scope.label} has no {key}; a recurring window needs {example}")
    if duration is not None and duration >= _MAX_DURATION:
        ck.report((*scope.path, "duration"),
                  f"{scope.subject('duration')} {show(table['duration'])} must be shorter than a week")
        return None
    if minute is None or duration is None or "days" in scope.invalid:
        return None
    return MaintenanceWindow(base.name, days=days or ALL_DAYS, minute=minute, duration=duration,
                             timezone=base.timezone, monitors=base.monitors, tags=base.tags)


def window_label(table: dict[str, Any], number: int, owner: str | None = None) -> str:
    """'maintenance "db upgrade"' or '[[maintenance]] #2', or 'monitor "api" maintenance #1'."""
    if owner is not None:
        return f"{owner} maintenance #{number}"
    name = table.get("name")
    if isinstance(name, str) and name.strip():
        return f'maintenance "{name}"'
    return f"[[maintenance]] #{number}"



