"""How numbers, durations and times read for people: one style for the dashboard and the CLI.

Uptime `99.95%` / `100%` (trailing zeros trimmed, never rounded up to 100), latency `0.4 ms`,
`12 ms`, `1.1 s`, times in the display zone (the machine's local zone unless `[display]
timezone` names another). JSON is not formatted here: it stays UTC with `Z`.
"""

from __future__ import annotations

import math
from datetime import datetime, tzinfo
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shiptrack_tui.core.durations import format_duration
from shiptrack_tui.core.model import MonitorState, MonitorStatus

NO_DATA: Final = "—"
MUTED_MARK: Final = "⊘"
"""Beside a monitor whose notifications a silence mutes (dashboard and `status`)."""

STATE_SYMBOLS: Final = {
    MonitorStatus.UP: "●",
    MonitorStatus.DEGRADED: "◐",
    MonitorStatus.PENDING: "▲",
    MonitorStatus.DOWN: "✖",
    MonitorStatus.PAUSED: "‖",
    MonitorStatus.MAINTENANCE: "⚒",
    MonitorStatus.UNKNOWN: "?",
}


def fmt_ms(value: float | None) -> str:
    """A latency in milliseconds: `0.4 ms`, `12 ms`, `1.1 s`, `12 s`; None is `—`."""
    if value is None:
        return NO_DATA
    if round(value, 1) < 10:
        return f"{value:.1f} ms"
    if round(value) < 1000:
        return f"{value:.0f} ms"
    if round(value / 1000, 1) < 10:
        return f"{value / 1000:.1f} s"
    return f"{value / 1000:.0f} s"


def fmt_uptime(value: float | None) -> str:
    """`100%`, `99.95%`, `99.9%`, `87%`: two decimals at most, cut (not rounded) so that a
    monitor that failed once never reads 100%; None is `—`."""
    if value is None:
        return NO_DATA
    if value >= 100.0:
        return "100%"
    cut = math.floor(value * 100 + 1e-9) / 100
    return f"{cut:.2f}".rstrip("0").rstrip(".") + "%"


def last_latency(state: MonitorState) -> str:
    """The LAST column: the last check's latency, `—` when it failed (a 503's speed is no news)."""
    return fmt_ms(None if state.last_error is not None else state.last_latency_ms)


def fmt_ago(now: float, at: float | None) -> str:
    """`4.2s`, `3m 20s`: how long ago; `never` for None."""
    if at is None:
        return "never"
    return format_duration(max(0.0, now - at))


def fmt_age(now: float, at: float | None) -> str:
    """A coarse age for tables (`40s`, `5m`, `3h`, `2d`; `never`): it changes rarely, so cells stay put."""
    if at is None:
        return "never"
    seconds = max(0.0, now - at)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds // 5 * 5)}s"  # 5 s steps: 1,000 rows must not all change every second


# ---- times in the display zone -----------------------------------------------------------------

_display_zone: tzinfo | None = None
"""The zone `[display] timezone` named; None: the machine's local zone (TZ is honoured)."""


class UnknownZone(ValueError):
    """A time zone name the zone database does not know."""


def zone_named(name: str) -> ZoneInfo:
    """The IANA zone called `name` (`Europe/Berlin`, `UTC`); UnknownZone otherwise."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise UnknownZone(f"unknown time zone {name!r}: expected an IANA name such as "
                          "\"Europe/Berlin\" or \"UTC\"") from error


def set_display_zone(zone: tzinfo | None) -> None:
    """Show times in `zone` from now on (None: the machine's local zone). Set once at start-up."""
    global _display_zone
    _display_zone = zone


def local_time(at: float, zone: tzinfo | None = None) -> datetime:
    """`at` (epoch seconds) as an aware datetime in `zone`, else the display zone."""
    zone = zone or _display_zone
    moment = datetime.fromtimestamp(at, zone) if zone is not None else datetime.fromtimestamp(at).astimezone()
    return moment


def zone_abbreviation(at: float, zone: tzinfo | None = None) -> str:
    """`CET`, `UTC`, `+0530`: how the display zone is called at `at`."""
    return local_time(at, zone).strftime("%Z") or local_time(at, zone).strftime("%z")


def fmt_time(at: float | None, zone: tzinfo | None = None) -> str:
    """`11-18 10:00:00`: a compact wall-clock time in the display zone."""
    if at is None:
        return NO_DATA
    return local_time(at, zone).strftime("%m-%d %H:%M:%S")


def fmt_clock(at: float, now: float, zone: tzinfo | None = None) -> str:
    """`HH:MM:SS` when `at` is on the same day as `now` (in the display zone), else `MM-DD HH:MM`."""
    moment = local_time(at, zone)
    if moment.date() == local_time(now, zone).date():
        return moment.strftime("%H:%M:%S")
    return moment.strftime("%m-%d %H:%M")


def fmt_datetime(at: float | None, zone: tzinfo | None = None) -> str:
    """`2026-11-18 11:00:00 CET`: a full time for CLI tables, in the display zone."""
    if at is None:
        return NO_DATA
    return local_time(at, zone).strftime("%Y-%m-%d %H:%M:%S %Z").rstrip()
