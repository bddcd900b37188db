# ruff: noqa: E501  (the table holds exact one-line messages; wrapping them would hide them)
"""Broken configs, each with the exact one-line problem it must produce (DESIGN §5)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shiptrack_tui.config import ConfigError, ConfigNotFound, load_config

M = '[[monitor]]\nname = "api"\nurl = "https://example.com/health"\n'


def refuse_slack(url: str) -> str | None:
    """Stands in for the notify layer's Apprise check."""
    return f"Apprise cannot parse it ({url})" if url.startswith("slack") else None


def problems_of(text: str | bytes, folder: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.chdir(folder)
    data = text.encode() if isinstance(text, str) else text
    (folder / "cfg.toml").write_bytes(data)
    with pytest.raises(ConfigError) as caught:
        load_config("cfg.toml", check_notify_url=refuse_slack)
    assert str(caught.value) == "\n".join(caught.value.problems)
    return caught.value.problems


BROKEN = [
    pytest.param(
        "a = 1\n[defaults]\ninterval =\n",
        'cfg.toml:3: TOML syntax error: invalid value; strings need quotes ("10s"), lists brackets ([1, 2]), booleans are true/false (column 11)',
        id="syntax_missing_value",
    ),
    pytest.param(
        '[[monitor]]\nname = "api"\nurl = "https://x"\ntags = ["a",\n"b"\n\n',
        'cfg.toml:4: TOML syntax error: a list is not closed; add the missing "]"',
        id="syntax_unclosed_array",
    ),
    pytest.param(
        '[defaults]\ninterval = "5s"\ninterval = "6s"\n',
        "cfg.toml:3: TOML syntax error: this key is already set; each key may appear once per table (column 16)",
        id="syntax_dup_key",
    ),
    pytest.param(
        "[defaults]\n[storage]\n[defaults]\n",
        "cfg.toml:3: TOML syntax error: this table is already declared; merge the two into one (use [[...]] for a list of tables) (column 10)",
        id="syntax_dup_table",
    ),
    pytest.param(
        'x = 1\n[[monitor]]\nname = "api\n',
        'cfg.toml:3: TOML syntax error: a string is not closed before the end of the line; add the missing quote (use """ for text over several lines) (column 12)',
        id="syntax_unterminated",
    ),
    pytest.param(
        '[defaults]\ninterval = "5s" timeout = "1s"\n',
        "cfg.toml:2: TOML syntax error: unexpected text after a value; write one key = value per line (column 17)",
        id="syntax_trailing",
    ),
    pytest.param(
        "monitors = []\n",
        'cfg.toml:1: unknown key "monitors" in the file; expected one of defaults, storage, notify, monitor, maintenance, display, service, http, status_page (did you mean "monitor"?)',
        id="unknown_top",
    ),
    pytest.param(
        '[display]\n\ntimezone = "Europe/Berlln"\n',
        'cfg.toml:3: [display] timezone "Europe/Berlln" is not a time zone the zone database knows; expected an '
        'IANA name such as "Europe/Berlin", "America/New_York" or "UTC"',
        id="unknown_timezone",
    ),
    pytest.param(
        '[defaults]\nintreval = "5s"\n',
        'cfg.toml:2: unknown key "intreval" in [defaults]; expected one of interval, timeout, failure_threshold, recovery_threshold, degraded_after, severity (did you mean "interval"?)',
        id="unknown_defaults",
    ),
    pytest.param(
        '[storage]\nkeep = "1d"\n',
        'cfg.toml:2: unknown key "keep" in [storage]; expected one of path, url, password_file, keep_raw, keep_hourly, keep_daily, keep_incidents (did you mean "keep_raw"?)',
        id="unknown_storage",
    ),
    pytest.param(
        '[notify]\nurl = ["json://x/y"]\n',
        'cfg.toml:2: unknown key "url" in [notify]; expected one of urls, apprise_config, events, remind_every, give_up_after, channel (did you mean "urls"?)',
        id="unknown_notify",
    ),
    pytest.param(
        '[[notify.channel]]\nurl = "json://x/y"\ntag = ["prod"]\n',
        'cfg.toml:3: unknown key "tag" in [[notify.channel]] #1; expected one of url, urls, tags, events (did you mean "tags"?)',
        id="unknown_channel",
    ),
    pytest.param(
        M + 'timout = "5s"\n',
        'cfg.toml:4: unknown key "timout" in monitor "api"; expected one of name, url, method, headers, body, expect_status, body_contains, body_regex, interval, timeout, failure_threshold, recovery_threshold, degraded_after, tags, max_body, maintenance, severity, push (did you mean "timeout"?)',
        id="unknown_monitor",
    ),
    pytest.param(
        '[[maintenance]]\nat = "02:00"\nduration = "1h"\nzone = "UTC"\n',
        'cfg.toml:4: unknown key "zone" in [[maintenance]] #1; expected one of name, monitors, tags, start, end, days, at, duration, timezone (did you mean "timezone"?)',
        id="unknown_maint",
    ),
    pytest.param(
        "[defaults]\ninterval = true\n",
        'cfg.toml:2: [defaults] interval true is not a duration; expected a string like "500ms", "30s", "5m", "1h", "7d" or a number of seconds',
        id="wrong_type_interval",
    ),
    pytest.param(
        M + 'failure_threshold = "3"\n',
        'cfg.toml:4: monitor "api": failure_threshold "3" must be a whole number of at least 1, not a string',
        id="wrong_type_threshold",
    ),
    pytest.param(
        "[defaults]\nrecovery_threshold = 0\n",
        "cfg.toml:2: [defaults] recovery_threshold 0 must be at least 1",
        id="zero_threshold",
    ),
    pytest.param(
        M + 'tags = "prod"\n',
        'cfg.toml:4: monitor "api": tags "prod" must be a list of strings like ["prod"], not a string',
        id="tags_not_list",
    ),
    pytest.param(
        M + 'interval = "10s"\ntimeout = "20s"\n',
        'cfg.toml:5: monitor "api": timeout "20s" must be below the interval (10s)',
        id="timeout_ge_interval",
    ),
    pytest.param(
        '[defaults]\ntimeout = "2m"\n',
        'cfg.toml:2: [defaults] timeout "2m" must be below the interval (1m, the default)',
        id="timeout_ge_default_interval",
    ),
    pytest.param(
        '[defaults]\ntimeout = "10s"\n\n[[monitor]]\nname = "api"\nurl = "https://example.com/health"\ninterval = "5s"\n',
        'cfg.toml:7: monitor "api": interval "5s" must be above the timeout (10s, from [defaults]); set a shorter timeout for this monitor',
        id="interval_vs_default_timeout",
    ),
    pytest.param(
        M + 'interval = "500ms"\n',
        'cfg.toml:4: monitor "api": interval "500ms" is below the minimum of 1s; use "1s" or more',
        id="interval_too_short",
    ),
    pytest.param(
        M + "\n" + M,
        'cfg.toml:6: monitor "api" is defined twice (first at line 2); monitor names must be unique',
        id="dup_names",
    ),
    pytest.param(
        '[[monitor]]\nurl = "https://x.example"\n',
        'cfg.toml:1: monitor #1 has no name; add name = "..." (unique; it identifies the monitor across restarts)',
        id="no_name",
    ),
    pytest.param(
        '[[monitor]]\nname = ""\nurl = "https://x.example"\n',
        'cfg.toml:2: monitor #1: name "" must not be empty; expected a string like "api"',
        id="empty_name",
    ),
    pytest.param(
        '[[monitor]]\nname = "api "\nurl = "http://a"\n',
        'cfg.toml:2: monitor #1: name "api " must be one line without leading or trailing spaces, like "api"',
        id="name_with_space",
    ),
    pytest.param(
        '[[monitor]]\nname = "api"\n',
        'cfg.toml:1: monitor "api" has no url; add url = "https://..." or "tcp://host:port"',
        id="no_url",
    ),
    pytest.param(
        '[[monitor]]\nname = "api"\nurl = "ftp://example.com"\n',
        'cfg.toml:3: monitor "api": url "ftp://example.com" must start with http://, https:// or tcp://',
        id="bad_scheme",
    ),
    pytest.param(
        '[[monitor]]\nname = "db"\nurl = "tcp://db.internal"\n',
        'cfg.toml:3: monitor "db": url "tcp://db.internal" has no port; expected tcp://host:port like "tcp://db.internal:5432"',
        id="tcp_no_port",
    ),
    pytest.param(
        '[[monitor]]\nname = "db"\nurl = "tcp://db.internal:5432"\nmethod = "GET"\n',
        'cfg.toml:4: monitor "db": method applies to HTTP monitors only; remove it (a tcp:// monitor only opens a connection)',
        id="tcp_http_key",
    ),
    pytest.param(
        M + 'method = "FETCH"\n',
        'cfg.toml:4: monitor "api": method "FETCH" is not a supported method; expected one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS',
        id="bad_method",
    ),
    pytest.param(
        M + 'expect_status = [200, "299-200"]\n',
        'cfg.toml:4: monitor "api": expect_status contains "299-200", a range that runs backwards; write it low-high like "200-299"',
        id="bad_status_range",
    ),
    pytest.param(
        M + "expect_status = 700\n",
        'cfg.toml:4: monitor "api": expect_status contains 700; HTTP status codes run from 100 to 599',
        id="bad_status_code",
    ),
    pytest.param(
        M + 'expect_status = ["2xx"]\n',
        'cfg.toml:4: monitor "api": expect_status contains "2xx"; expected status codes like 200 or ranges like "200-299"',
        id="bad_status_word",
    ),
    pytest.param(
        M + 'body_contains = "ok"\nbody_regex = "o+k"\n',
        'cfg.toml:5: monitor "api": set body_contains or body_regex, not both',
        id="both_bodies",
    ),
    pytest.param(
        M + 'body_regex = "(ok"\n',
        'cfg.toml:4: monitor "api": body_regex "(ok" is not a valid regular expression (missing ), unterminated subpattern at position 0)',
        id="bad_regex",
    ),
    pytest.param(
        M + 'max_body = "lots"\n',
        'cfg.toml:4: monitor "api": max_body "lots" is not a size; expected a number of bytes or a string like "512KiB" or "1MiB"',
        id="bad_max_body",
    ),
    pytest.param(
        M + "headers = { X-Retry = 3 }\n",
        'cfg.toml:4: monitor "api": headers X-Retry must be a string, not an integer; quote it like "3"',
        id="header_not_string",
    ),
    pytest.param(
        '[notify]\nevents = ["open", "close"]\n',
        'cfg.toml:2: [notify] events ["open", "close"] contains "close"; expected a list drawn from "open", "ack", "resolve", "reminder", "update"',
        id="bad_events",
    ),
    pytest.param(
        '[notify]\nurls = "json://x/y"\n',
        'cfg.toml:2: [notify] urls "json://x/y" must be a list of strings like ["json://127.0.0.1:9000/hook"], not a string',
        id="notify_urls_string",
    ),
    pytest.param(
        '[notify]\nurls = [\n  "json://ok/hook",\n  "slack://T000/B000/XXXX",\n]\n',
        'cfg.toml:4: [notify] urls "slack://T000/***" cannot be used: Apprise cannot parse it (slack://T000/***)',
        id="notify_url_check",
    ),
    pytest.param(
        '[notify]\napprise_config = "nope.yml"\n',
        'cfg.toml:2: [notify] apprise_config "nope.yml" does not exist; point it at an Apprise config file or remove the key',
        id="apprise_config_missing",
    ),
    pytest.param(
        '[storage]\nkeep_raw = "10m"\n',
        'cfg.toml:2: [storage] keep_raw "10m" is below the minimum of 1h; use "1h" or more',
        id="keep_raw_short",
    ),
    pytest.param(
        '[storage]\nkeep_hourly = "7d"\n',
        'cfg.toml:2: [storage] keep_hourly "7d" is below the minimum of 32d; use "32d" or more',
        id="keep_hourly_short",
    ),
    pytest.param(
        '[storage]\nkeep_hourly = "90d"\nkeep_daily = "60d"\n',
        'cfg.toml:3: [storage] keep_daily (60d) is shorter than keep_hourly (90d); keep day rollups at least '
        'as long as hour ones',
        id="keep_daily_below_hourly",
    ),
    pytest.param(
        '[storage]\nkeep_incidents = "forever"\n',
        'cfg.toml:2: [storage] keep_incidents "forever" is not a duration; expected a string like "500ms", '
        '"30s", "5m", "1h", "7d" or a number of seconds',
        id="keep_incidents_bad",
    ),
    pytest.param(
        '[[maintenance]]\nname = "x"\n',
        'cfg.toml:1: maintenance "x" has no time; set start and end (a one-off window) or at and duration, optionally days (a recurring one: at = "02:00", duration = "30m")',
        id="maint_no_time",
    ),
    pytest.param(
        '[[maintenance]]\nstart = 2026-01-01T00:00:00Z\nat = "02:00"\nduration = "1h"\n',
        "cfg.toml:1: [[maintenance]] #1: set either start and end (a one-off window) or days, at and duration (a recurring one), not both",
        id="maint_both",
    ),
    pytest.param(
        '[[maintenance]]\ndays = ["mon", "funday"]\nat = "02:00"\nduration = "1h"\n',
        'cfg.toml:2: [[maintenance]] #1: days contains "funday"; expected day names mon, tue, wed, thu, fri, sat, sun',
        id="maint_bad_day",
    ),
    pytest.param(
        '[[maintenance]]\nat = "25:00"\nduration = "1h"\n',
        'cfg.toml:2: [[maintenance]] #1: at "25:00" is not a time of day; expected "HH:MM" like "02:00"',
        id="maint_bad_at",
    ),
    pytest.param(
        '[[maintenance]]\nat = "02:00"\nduration = "1h"\ntimezone = "Mars/Base"\n',
        'cfg.toml:4: [[maintenance]] #1: timezone "Mars/Base" is not a known time zone; expected an IANA name like "Europe/Berlin" or "UTC"',
        id="maint_bad_tz",
    ),
    pytest.param(
        "[[maintenance]]\nstart = 2026-01-02T00:00:00Z\nend = 2026-01-01T00:00:00Z\n",
        "cfg.toml:3: [[maintenance]] #1: end 2026-01-01T00:00:00+00:00 must be after start 2026-01-02T00:00:00+00:00",
        id="maint_end_before",
    ),
    pytest.param(
        "[[maintenance]]\nstart = 2026-01-01T00:00:00\nend = 2026-01-01T01:00:00Z\n",
        'cfg.toml:2: [[maintenance]] #1: start 2026-01-01T00:00:00 has no UTC offset; add one (2026-11-22T02:00:00+01:00) or set timezone = "Europe/Berlin"',
        id="maint_naive",
    ),
    pytest.param(
        M + '\n[[maintenance]]\nmonitors = ["apii"]\nat = "02:00"\nduration = "1h"\n',
        'cfg.toml:6: [[maintenance]] #1: monitors names "apii", which is not a configured monitor; expected one of the [[monitor]] names',
        id="maint_unknown_monitor",
    ),
    pytest.param(
        M
        + 'maintenance = [\n  { at = "02:00", duration = "1h" },\n  { at = "03:00", duration = "forever" },\n]\n',
        'cfg.toml:6: monitor "api" maintenance #2: duration "forever" is not a duration; expected a string like "500ms", "30s", "5m", "1h", "7d" or a number of seconds',
        id="monitor_maint_inline",
    ),
    pytest.param(
        M + 'maintenance = [{ at = "02:00", duration = "1h", tags = ["x"] }]\n',
        'cfg.toml:4: unknown key "tags" in monitor "api" maintenance #1; expected one of name, start, end, days, at, duration, timezone',
        id="monitor_maint_tags",
    ),
    pytest.param(
        '[monitor]\nname = "api"\n',
        "cfg.toml:1: [monitor] must be an array of tables; write [[monitor]] (double brackets) before each monitor",
        id="monitor_as_table",
    ),
    pytest.param(
        "[defaults]\ndegraded_after = -1\n",
        'cfg.toml:2: [defaults] degraded_after -1 cannot be negative; expected a duration like "30s"',
        id="negative_duration",
    ),
]


@pytest.mark.parametrize(("text", "expected"), BROKEN)
def test_broken_config_gives_exactly_one_line(
    text: str, expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert problems_of(text, tmp_path, monkeypatch) == [expected]


def test_every_problem_is_reported_in_file_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = (
        "[defaults]\n"  # 1
        'intreval = "5s"\n'  # 2
        "\n"
        "[[monitor]]\n"  # 4
        'name = "api"\n'  # 5
        'url = "ftp://example.com"\n'  # 6
        'timeout = "soon"\n'  # 7
        "\n"
        "[[monitor]]\n"  # 9
        'name = "api"\n'  # 10
        'url = "tcp://db"\n'  # 11
        "[notify]\n"  # 12
        'events = ["open", "nope"]\n'  # 13
    )
    assert problems_of(text, tmp_path, monkeypatch) == [
        'cfg.toml:2: unknown key "intreval" in [defaults]; expected one of interval, timeout, failure_threshold, recovery_threshold, degraded_after, severity (did you mean "interval"?)',
        'cfg.toml:6: monitor "api": url "ftp://example.com" must start with http://, https:// or tcp://',
        'cfg.toml:7: monitor "api": timeout "soon" is not a duration; expected a string like "500ms", "30s", "5m", "1h", "7d" or a number of seconds',
        'cfg.toml:10: monitor "api" is defined twice (first at line 5); monitor names must be unique',
        'cfg.toml:11: monitor "api": url "tcp://db" has no port; expected tcp://host:port like "tcp://db:5432"',
        'cfg.toml:13: [notify] events ["open", "nope"] contains "nope"; expected a list drawn from "open", "ack", "resolve", "reminder", "update"',
    ]


def test_lines_inside_multiline_arrays_and_inline_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (
        M  # lines 1-3
        + "expect_status = [\n"  # 4
        + "  200,\n"  # 5
        + '  "3xx",  # a comment with ] and { in it\n'  # 6
        + "]\n"
        + 'headers = { "X-One" = "1", X-Two = 2 }\n'  # 8
        + '[[monitor]]\nname = "b"\nurl = """https://b.example"""\n'  # 9-11
        + "[monitor.headers]\n"  # 12
        + 'Accept = "text/plain"\n'  # 13
        + "X-Count = 7\n"  # 14
    )
    assert problems_of(text, tmp_path, monkeypatch) == [
        'cfg.toml:6: monitor "api": expect_status contains "3xx"; expected status codes like 200 or ranges like "200-299"',
        'cfg.toml:8: monitor "api": headers X-Two must be a string, not an integer; quote it like "2"',
        'cfg.toml:14: monitor "b": headers X-Count must be a string, not an integer; quote it like "7"',
    ]


def test_a_missing_file_is_one_line_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.toml"
    with pytest.raises(ConfigNotFound) as caught:
        load_config(missing)
    (line,) = caught.value.problems
    assert line.startswith(f"{missing}: no config file here")
    assert "config/example.toml" in line and "shiptrack --demo" in line


def test_text_that_is_not_utf8(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert problems_of(b"[defaults]\n# caf\xe9\n", tmp_path, monkeypatch) == [
        "cfg.toml:2: the file is not UTF-8 text; save it as UTF-8"
    ]


def test_notify_errors_never_show_the_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = '[notify]\nurls = ["slack://T000/B000/s3cr3tT0ken"]\n[[notify.channel]]\nurl = "slack://T1/B1/hunter2"\n'
    problems = problems_of(text, tmp_path, monkeypatch)
    assert problems == [
        'cfg.toml:2: [notify] urls "slack://T000/***" cannot be used: Apprise cannot parse it (slack://T000/***)',
        'cfg.toml:4: [[notify.channel]] #1: url "slack://T1/***" cannot be used: Apprise cannot parse it (slack://T1/***)',
    ]


def test_lines_with_crlf_and_spaced_headers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = '# x\r\n[ defaults ]\r\n\r\n[[ monitor ]]  # one\r\nname = "api"\r\n "url" = "https://a"\r\ninterval = "0s"\r\n'
    assert problems_of(text, tmp_path, monkeypatch) == [
        'cfg.toml:7: monitor "api": interval "0s" must be longer than 0; expected a duration like "30s"'
    ]
