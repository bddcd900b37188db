"""Happy paths: every key parsed, defaults inherited, paths and digests, redaction, source lines."""

from __future__ import annotations

import hashlib
import os
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest
import tomlkit
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from shiptrack_tui.config import (
    Channel,
    Config,
    StorageSettings,
    default_config_path,
    default_db_path,
    load_config,
    redact_url,
)
from shiptrack_tui.config.sourcemap import SourceMap
from shiptrack_tui.core.maintenance import MaintenanceWindow
from shiptrack_tui.core.model import StatusRange

FULL = """\
[defaults]
interval = "30s"
timeout = 4
failure_threshold = 5
recovery_threshold = 3
degraded_after = "1.5s"

[storage]
path = "~/data/st.db"
keep_raw = "2d"
keep_hourly = "60d"
keep_daily = "730d"
keep_incidents = "90d"

[notify]
urls = ["json://127.0.0.1:9000/hook"]
apprise_config = "apprise.yml"
events = ["open", "resolve"]
remind_every = "1h"
give_up_after = "6h"

[[notify.channel]]
urls = ["json://127.0.0.1:9001/a", "json://127.0.0.1:9001/b"]
tags = ["prod"]

[[notify.channel]]
url = "json://127.0.0.1:9002/all"
events = ["ack"]

[[monitor]]
name = "full"
url = "https://user:pw@api.example.com:8443/health?x=1"
method = "post"
headers = { "Content-Type" = "application/json", Authorization = "Bearer t" }
body = '{"ping": true}'
expect_status = [200, "201-204"]
body_regex = '"ok":\\s*true'
interval = 10
timeout = "2s"
failure_threshold = 1
recovery_threshold = 1
degraded_after = "500ms"
tags = ["prod", "api"]
max_body = "512KiB"
maintenance = [{ days = ["sat", "sunday"], at = "23:30", duration = "1h", timezone = "Europe/Berlin" }]

[[monitor]]
name = "inherits"
url = "http://localhost/"
expect_status = "200-299"
body_contains = "ok"
max_body = 2048

[[monitor]]
name = "db"
url = "tcp://[::1]:5432"
tags = ["db"]

[[monitor.maintenance]]
start = "2026-03-01T02:00:00+01:00"
end = 2026-03-01T03:00:00Z

[[maintenance]]
name = "global"
days = ["mon"]
at = 02:00:00
duration = "15m"

[[maintenance]]
tags = ["db"]
monitors = ["full"]
timezone = "America/New_York"
start = 2026-07-04T09:00:00
end = "2026-07-04T10:00:00"
"""


@pytest.fixture
def full(tmp_path: Path) -> Config:
    (tmp_path / "apprise.yml").write_text("urls:\n  - json://127.0.0.1:9003/x\n")
    path = tmp_path / "cfg.toml"
    path.write_text(FULL)
    return load_config(path)


def ts(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def test_every_key_parses(full: Config, tmp_path: Path, isolated_home: Path) -> None:
    assert full.defaults.interval == 30 and full.defaults.timeout == 4
    assert (full.defaults.failure_threshold, full.defaults.recovery_threshold) == (5, 3)
    assert full.defaults.degraded_after == 1.5
    assert full.storage == StorageSettings(path=isolated_home / "data/st.db", keep_raw=2 * 86400,
                                           keep_hourly=60 * 86400, keep_daily=730 * 86400,
                                           keep_incidents=90 * 86400)
    notify = full.notify
    assert notify.urls == ("json://127.0.0.1:9000/hook",)
    assert notify.apprise_config == tmp_path / "apprise.yml"
    assert notify.events == {"open", "resolve"}
    assert (notify.remind_every, notify.give_up_after) == (3600, 6 * 3600)
    assert notify.channels == (
        Channel(
            ("json://127.0.0.1:9001/a", "json://127.0.0.1:9001/b"),
            frozenset({"prod"}),
            frozenset({"open", "resolve"}),
        ),
        Channel(("json://127.0.0.1:9002/all",), frozenset(), frozenset({"ack"})),
    )
    spec = full.monitors[0]
    assert spec.name == "full" and spec.url == "https://user:pw@api.example.com:8443/health?x=1"
    assert spec.method == "POST"
    assert spec.headers == (("Content-Type", "application/json"), ("Authorization", "Bearer t"))
    assert spec.body == '{"ping": true}'
    assert spec.expect_status == (StatusRange(200, 200), StatusRange(201, 204))
    assert spec.body_regex == '"ok":\\s*true' and spec.body_contains is None
    assert (spec.interval, spec.timeout, spec.failure_threshold, spec.recovery_threshold) == (10, 2, 1, 1)
    assert spec.degraded_after == 0.5 and spec.tags == ("prod", "api") and spec.max_body_bytes == 512 * 1024


def test_defaults_are_inherited(full: Config) -> None:
    spec = full.monitor("inherits")
    assert spec is not None
    assert (spec.interval, spec.timeout, spec.failure_threshold, spec.recovery_threshold) == (30, 4, 5, 3)
    assert spec.degraded_after == 1.5 and spec.method == "GET" and spec.headers == ()
    assert spec.expect_status == (StatusRange(200, 299),) and spec.body_contains == "ok"
    assert spec.max_body_bytes == 2048
    db = full.monitor("db")
    assert db is not None and db.kind == "tcp" and db.url == "tcp://[::1]:5432"


def test_maintenance_windows(full: Config) -> None:
    assert full.maintenance == (
        MaintenanceWindow(name="global", days=frozenset({0}), minute=120, duration=900),
        MaintenanceWindow(
            start=ts("2026-07-04T09:00:00-04:00"),
            end=ts("2026-07-04T10:00:00-04:00"),
            timezone="America/New_York",
            monitors=frozenset({"full"}),
            tags=frozenset({"db"}),
        ),
        MaintenanceWindow(
            days=frozenset({5, 6}),
            minute=23 * 60 + 30,
            duration=3600,
            timezone="Europe/Berlin",
            monitors=frozenset({"full"}),
        ),
        MaintenanceWindow(
            start=ts("2026-03-01T01:00:00+00:00"),
            end=ts("2026-03-01T03:00:00+00:00"),
            monitors=frozenset({"db"}),
        ),
    )


def test_an_empty_file_is_a_config_without_monitors(tmp_path: Path) -> None:
    path = tmp_path / "empty.toml"
    path.write_text("# nothing yet\n")
    config = load_config(path)
    assert config.monitors == () and config.notify.urls == () and config.maintenance == ()
    assert config.defaults.interval == 60 and config.defaults.timeout_for(60) == 10
    assert config.storage.keep_raw == 2 * 86400 and config.notify.give_up_after == 86400
    assert config.notify.events == {"open", "ack", "resolve", "reminder", "update"}
    assert config.digest == hashlib.sha256(b"# nothing yet\n").hexdigest()
    assert config.path == path


def test_an_implicit_timeout_fits_a_short_interval(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        '[defaults]\ninterval = "4s"\n[[monitor]]\nname = "a"\nurl = "http://x"\n'
        '[[monitor]]\nname = "b"\nurl = "http://x"\ninterval = "60s"\n'
    )
    a, b = load_config(path).monitors
    assert (a.interval, a.timeout) == (4, 2) and (b.interval, b.timeout) == (60, 10)


def test_relative_storage_path_is_beside_the_config(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[storage]\npath = "state/st.db"\n')
    config = load_config(path)
    assert config.storage.path == tmp_path / "state/st.db"
    assert default_db_path(config) == tmp_path / "state/st.db"


def test_default_paths(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert default_config_path() == isolated_home / ".config/shiptrack/config.toml"
    assert default_db_path() == isolated_home / ".local/share/shiptrack/shiptrack.db"
    assert default_db_path(Config(path=Path("x"))) == isolated_home / ".local/share/shiptrack/shiptrack.db"
    monkeypatch.setenv("SHIPTRACK_CONFIG", "~/elsewhere.toml")
    assert default_config_path() == isolated_home / "elsewhere.toml"


def test_the_digest_changes_with_the_file(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[defaults]\n")
    first = load_config(path).digest
    path.write_text("[defaults]\n\n")
    assert load_config(os.fspath(path)).digest != first


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("slack://T000/B000/XXXX", "slack://T000/***"),
        ("json://user:pw@127.0.0.1:9000/hook?token=x", "json://user:***@127.0.0.1:9000/***"),
        ("json://127.0.0.1:9000", "json://127.0.0.1:9000"),
        ("json://127.0.0.1:9000/", "json://127.0.0.1:9000/"),
        ("mailtos://me:app-password@gmail.com", "mailtos://me:***@gmail.com"),
        ("tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/-100123", "tgram://123456789:***/***"),
        ("discord://4174216298/JHMHI8qBe7bk2ZwO5U711o3dV_js", "discord://4174216298/***"),
        ("pover://u7KcP5Yq2Lm9Nx4Rt8Wv3Zs6@a1b2c3d4e5f6g7h8i9j0k", "pover://***@***"),
        ("ntfy://ntfy.sh/mytopic?priority=high#x", "ntfy://ntfy.sh/***"),
        ("gotify://[::1]:8080/token", "gotify://[::1]:8080/***"),
        ("not a url", "***"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_source_map_follows_every_kind_of_table() -> None:
    text = (
        "# comment [not] a table\n"  # 1
        "top = 1\n"  # 2
        '[a . "b.c"]\n'  # 3
        "d.e = 'x' # trailing\n"  # 4
        "[[arr]]\n"  # 5
        "k = '''\n"  # 6
        "multi = [line]\n"  # 7
        "'''\n"  # 8
        "[[arr]]\n"  # 9
        "k = [ { x = 1 },\n"  # 10
        "      { y = 2, z = [3,\n"  # 11
        "        4] } ]\n"  # 12
        "[arr.sub]\n"  # 13
        "when = 1979-05-27 07:32:00Z\n"  # 14
        "after = true\n"  # 15
        '"quoted key" = "a \\" quote"\n'  # 16
    )
    source = SourceMap.of(text)
    expected = {
        ("top",): 2,
        ("a", "b.c"): 3,
        ("a", "b.c", "d", "e"): 4,
        ("arr", 0): 5,
        ("arr", 0, "k"): 6,
        ("arr", 1): 9,
        ("arr", 1, "k", 0, "x"): 10,
        ("arr", 1, "k", 1): 11,
        ("arr", 1, "k", 1, "z", 1): 12,
        ("arr", 1, "sub"): 13,
        ("arr", 1, "sub", "when"): 14,
        ("arr", 1, "sub", "after"): 15,
        ("arr", 1, "sub", "quoted key"): 16,
    }
    assert {path: source.line(path) for path in expected} == expected
    assert source.line(("arr", 1, "sub", "missing")) == 13
    assert source.line(("multi",)) == 1  # inside a string: not a key
    assert source.split_arrays() == []


def test_source_map_finds_a_split_array_of_tables() -> None:
    text = "[[monitor]]\nname = 'a'\n[[monitor.maintenance]]\nat='1'\n[notify]\nx=1\n[[monitor]]\nname='b'\n"
    assert SourceMap.of(text).split_arrays() == [(("monitor",), 5, 7)]


def test_windows_use_utc_by_default() -> None:
    window = MaintenanceWindow(days=frozenset({0}), minute=120, duration=900)
    monday = datetime(2026, 11, 23, 2, 5, tzinfo=UTC).timestamp()
    assert window.active_at(monday) and not window.active_at(monday + 900)


# -- the source map against arbitrary documents -------------------------------------------------
KEYS = st.sampled_from(["a", "b-c", "d_1", "a b", "x.y", "#k", "[t]", "q'"])
SCALARS = st.one_of(
    st.integers(-(10**6), 10**6),
    st.booleans(),
    st.text(alphabet='ab #"\'\\[]{}=,\n\t.', max_size=8),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(KEYS, inner, min_size=1, max_size=3),
        st.lists(st.dictionaries(KEYS, inner, min_size=1, max_size=3), min_size=1, max_size=3),
    ),
    max_leaves=12,
)


def leaf_paths(value: object, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    if isinstance(value, dict):
        return [path] * bool(path) + [p for k, v in value.items() for p in leaf_paths(v, (*path, k))]
    if isinstance(value, list):
        return [path] * bool(path) + [p for i, v in enumerate(value) for p in leaf_paths(v, (*path, i))]
    return [path]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(KEYS, VALUES, min_size=1, max_size=4))
def test_source_map_finds_every_key_and_value(data: dict[str, object]) -> None:
    text = tomlkit.dumps(data)
    assume(tomllib.loads(text) == data)
    source = SourceMap.of(text)
    lines = text.splitlines()
    for path in leaf_paths(data):
        assert path in source.lines, (path, text)
        if isinstance(path[-1], str):
            assert path[-1] in lines[source.lines[path] - 1], (path, text)
    for statement in source.statements:
        expected: object = data
        for part in statement.path:
            expected = expected[part]  # type: ignore[index]
        raw = text[statement.value_start : statement.value_end]
        assert tomllib.loads(f"v = {raw}")["v"] == expected, (statement, text)
