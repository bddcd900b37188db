"""Maintenance windows (core.maintenance): scope, one-off, recurring, midnight and DST."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from shiptrack_tui.config import load_config
from shiptrack_tui.core.maintenance import ALL_DAYS, MaintenanceWindow, in_maintenance, next_change

BERLIN = ZoneInfo("Europe/Berlin")
UTC = ZoneInfo("UTC")


def at(text: str, zone: ZoneInfo = UTC) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=zone).timestamp()


def recurring(clock: str, duration: float, days: set[int] | None = None,
              zone: str = "Europe/Berlin") -> MaintenanceWindow:
    hours, minutes = map(int, clock.split(":"))
    return MaintenanceWindow(minute=hours * 60 + minutes, duration=duration, timezone=zone,
                             days=ALL_DAYS if days is None else frozenset(days))


def test_a_window_crossing_midnight_covers_the_next_morning() -> None:
    friday_night = recurring("23:45", 30 * 60, days={4})  # Fridays only
    assert friday_night.active_at(at("2026-11-27T23:50", BERLIN))  # Friday
    assert friday_night.active_at(at("2026-11-28T00:14", BERLIN))  # Saturday morning: still Friday's
    assert not friday_night.active_at(at("2026-11-28T00:15", BERLIN))
    assert not friday_night.active_at(at("2026-11-28T23:50", BERLIN))  # Saturday night: not a Friday
    assert not friday_night.active_at(at("2026-11-27T23:44", BERLIN))


def test_the_local_time_holds_across_dst() -> None:
    nightly = recurring("02:00", 15 * 60)
    assert nightly.active_at(at("2026-01-15T01:05"))  # winter: 02:00 CET is 01:00 UTC
    assert not nightly.active_at(at("2026-07-15T01:05"))
    assert nightly.active_at(at("2026-07-15T00:05"))  # summer: 02:00 CEST is 00:00 UTC


def test_a_time_skipped_by_spring_forward_starts_when_the_clock_would_show_it() -> None:
    # 2026-03-29 in Berlin: 02:00 CET jumps to 03:00 CEST; 02:30 never happens.
    window = recurring("02:30", 30 * 60, days={6})
    assert not window.active_at(at("2026-03-29T01:20"))
    assert window.active_at(at("2026-03-29T01:40"))  # 03:40 CEST, the "02:30" + 10 min
    assert not window.active_at(at("2026-03-29T02:01"))


def test_duration_is_elapsed_time_over_spring_forward() -> None:
    window = recurring("01:00", 2 * 3600, days={6})  # 01:00 CET = 00:00 UTC, ends 02:00 UTC
    assert window.active_at(at("2026-03-29T01:59"))
    assert not window.active_at(at("2026-03-29T02:00"))  # 04:00 CEST: two real hours later


def test_an_ambiguous_time_on_fall_back_means_the_first_one() -> None:
    # 2026-10-25 in Berlin: 03:00 CEST falls back to 02:00 CET; 02:30 happens twice.
    window = recurring("02:30", 20 * 60, days={6})
    assert window.active_at(at("2026-10-25T00:40"))  # 02:40 CEST
    assert not window.active_at(at("2026-10-25T01:40"))  # 02:40 CET, the second time


def test_one_off_windows_are_half_open() -> None:
    window = MaintenanceWindow(start=1000.0, end=2000.0)
    assert [window.active_at(t) for t in (999.9, 1000.0, 1999.9, 2000.0)] == [False, True, True, False]


def test_scope_by_monitor_and_tag() -> None:
    everyone = MaintenanceWindow(name="all", start=0, end=10)
    named = MaintenanceWindow(name="db", start=0, end=10, monitors=frozenset({"db"}))
    tagged = MaintenanceWindow(name="prod", start=0, end=10, tags=frozenset({"prod"}))
    assert in_maintenance([named, tagged], "api", ("prod",), 5) is tagged
    assert in_maintenance([named, tagged], "db", (), 5) is named
    assert in_maintenance([named, tagged], "web", ("dev",), 5) is None
    assert in_maintenance([named, tagged, everyone], "web", ("dev",), 5) is everyone
    assert in_maintenance([everyone], "web", (), 10) is None


def test_next_change_finds_the_next_edge() -> None:
    nightly = recurring("02:00", 30 * 60, zone="UTC")
    one_off = MaintenanceWindow(start=at("2026-11-22T05:00"), end=at("2026-11-22T06:00"),
                                tags=frozenset({"x"}))
    now = at("2026-11-22T01:00")
    assert next_change([nightly, one_off], "api", ("x",), now) == at("2026-11-22T02:00")
    assert next_change([nightly, one_off], "api", ("x",), at("2026-11-22T02:10")) == at("2026-11-22T02:30")
    assert next_change([nightly, one_off], "api", ("x",), at("2026-11-22T03:00")) == at("2026-11-22T05:00")
    assert next_change([nightly, one_off], "api", (), at("2026-11-22T03:00")) == at("2026-11-23T02:00")
    assert next_change([one_off], "api", (), now) is None


@pytest.mark.parametrize(
    ("window", "moment", "active"),
    [
        ('{ start = 2026-11-22T02:00:00+01:00, end = "2026-11-22T03:00:00+01:00" }',
         "2026-11-22T01:30", True),
        ('{ start = 2026-11-22T02:00:00, end = 2026-11-22T03:00:00, timezone = "Europe/Berlin" }',
         "2026-11-22T01:30", True),
        ('{ start = 2026-11-22T02:00:00, end = 2026-11-22T03:00:00, timezone = "Europe/Berlin" }',
         "2026-11-22T02:30", False),
        ('{ days = ["sun"], at = "23:30", duration = "1h", timezone = "Europe/Berlin" }',
         "2026-11-22T23:00", True),  # Monday 00:00 in Berlin, Sunday's window
        ('{ at = 23:30:00, duration = 3600 }', "2026-11-25T00:20", True),
    ],
)
def test_windows_from_config(tmp_path: Path, window: str, moment: str, active: bool) -> None:
    path = tmp_path / "c.toml"
    path.write_text(f'[[monitor]]\nname = "api"\nurl = "http://a"\nmaintenance = [{window}]\n')
    (loaded,) = load_config(path).maintenance
    assert loaded.monitors == {"api"}
    assert (in_maintenance([loaded], "api", (), at(moment)) is loaded) is active
    assert in_maintenance([loaded], "other", (), at(moment)) is None
