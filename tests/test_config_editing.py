"""Editing the config file: golden files prove every untouched byte survives (DESIGN §5, §9)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from shiptrack_tui.config import (
    ConfigConflict,
    ConfigEditor,
    ConfigError,
    MonitorNotFound,
    add_monitor,
    fields_from_spec,
    load_config,
    remove_monitor,
    update_monitor,
)

COMMENTED = """\
# ShipTrack config for the shop.
# Keep it tidy.

[defaults]
interval = "60s"   # once a minute
timeout = "10s"

[notify]
urls = [
    "json://127.0.0.1:9000/hook",  # the test receiver
]

# --- monitors ---------------------------------------------------------------

# The public API.
[[monitor]]
name = "api"        # never rename: history hangs on it
url = "https://api.example.com/health"
interval = "30s"    # tighter than the default
tags = [
    "prod",   # pages people
    "api",
]
# body_contains = "ok"

# The shop front.
[[monitor]]
name = "shop"
url = "https://shop.example.com/"
[monitor.headers]
Accept = "text/html"   # like a browser

# The database, over TCP.
[[monitor]]
name = "db"
url = "tcp://db.internal:5432"

# --- maintenance ------------------------------------------------------------

# Backups every night.
[[maintenance]]
at = "02:00"
duration = "30m"
"""

MONITORS_START = COMMENTED.index("# The public API.")
SHOP_START = COMMENTED.index("# The shop front.")
DB_START = COMMENTED.index("# The database, over TCP.")
MAINTENANCE_START = COMMENTED.index("# --- maintenance")


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(COMMENTED)
    path.chmod(0o640)
    return path


def test_add_goes_after_the_last_monitor(cfg: Path) -> None:
    config = add_monitor(cfg, {"url": "https://new.example.com", "name": "new", "interval": "15s",
                               "tags": ["prod", "new"], "headers": {"X-Key": "a b"}})
    assert cfg.read_text() == (
        COMMENTED[:MAINTENANCE_START]
        + "[[monitor]]\n"
        'name = "new"\n'
        'url = "https://new.example.com"\n'
        'interval = "15s"\n'
        'tags = ["prod", "new"]\n'
        'headers = { X-Key = "a b" }\n'
        "\n" + COMMENTED[MAINTENANCE_START:]
    )
    assert [spec.name for spec in config.monitors] == ["api", "shop", "db", "new"]
    assert config.digest == load_config(cfg).digest
    assert stat.S_IMODE(cfg.stat().st_mode) == 0o640


def test_update_replaces_values_in_place(cfg: Path) -> None:
    update_monitor(cfg, "api", {"interval": "45s", "tags": ["prod"], "timeout": "5s",
                                "url": "https://api2.example.com/health"})
    assert cfg.read_text() == COMMENTED.replace(
        'url = "https://api.example.com/health"\n'
        'interval = "30s"    # tighter than the default\n'
        'tags = [\n    "prod",   # pages people\n    "api",\n]\n',
        'url = "https://api2.example.com/health"\n'
        'interval = "45s"    # tighter than the default\n'
        'tags = ["prod"]\n'
        'timeout = "5s"\n',
    )


def test_update_with_none_removes_the_key(cfg: Path) -> None:
    update_monitor(cfg, "api", {"interval": None, "tags": None})
    assert cfg.read_text() == COMMENTED.replace(
        'interval = "30s"    # tighter than the default\n'
        'tags = [\n    "prod",   # pages people\n    "api",\n]\n',
        "",
    )


def test_update_turns_a_sub_table_into_one_line(cfg: Path) -> None:
    update_monitor(cfg, "shop", {"headers": {"Accept": "*/*"}, "body_contains": "Shop"})
    assert cfg.read_text() == COMMENTED.replace(
        '[monitor.headers]\nAccept = "text/html"   # like a browser\n',
        'headers = { Accept = "*/*" }\nbody_contains = "Shop"\n',
    )


@pytest.mark.parametrize(
    ("name", "start", "end"),
    [
        ("api", MONITORS_START - 1, SHOP_START - 1),  # the blank line before it goes too
        ("shop", SHOP_START, DB_START),
        ("db", DB_START, MAINTENANCE_START),
    ],
)
def test_remove_takes_the_monitor_and_its_own_comments(cfg: Path, name: str, start: int, end: int) -> None:
    config = remove_monitor(cfg, name)
    assert cfg.read_text() == COMMENTED[:start] + COMMENTED[end:]
    assert name not in [spec.name for spec in config.monitors]


def test_remove_every_monitor_then_add_one(cfg: Path) -> None:
    for name in ("api", "shop", "db"):
        remove_monitor(cfg, name)
    assert cfg.read_text() == COMMENTED[:MONITORS_START] + COMMENTED[MAINTENANCE_START:]
    add_monitor(cfg, {"name": "only", "url": "http://127.0.0.1:8787/steady"})
    assert cfg.read_text().endswith('duration = "30m"\n\n[[monitor]]\nname = "only"\n'
                                    'url = "http://127.0.0.1:8787/steady"\n')
    assert [spec.name for spec in load_config(cfg).monitors] == ["only"]


def test_add_creates_a_private_file(tmp_path: Path) -> None:
    path = tmp_path / "new" / "config.toml"
    add_monitor(path, {"name": "api", "url": "https://api.example.com", "tags": ["a"]})
    assert path.read_text() == '[[monitor]]\nname = "api"\nurl = "https://api.example.com"\ntags = ["a"]\n'
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_add_to_a_file_without_monitors_or_final_newline(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[defaults]\ninterval = 5  # seconds")
    add_monitor(path, {"name": "a", "url": "tcp://localhost:22"})
    assert path.read_text() == ('[defaults]\ninterval = 5  # seconds\n\n[[monitor]]\nname = "a"\n'
                                'url = "tcp://localhost:22"\n')


def test_windows_line_endings_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    original = '# crlf\r\n[[monitor]]\r\nname = "a"\r\nurl = "http://a"\r\n'
    path.write_bytes(original.encode())
    add_monitor(path, {"name": "b", "url": "http://b"})
    update_monitor(path, "a", {"interval": "5s"})
    assert path.read_bytes() == (
        b'# crlf\r\n[[monitor]]\r\nname = "a"\r\nurl = "http://a"\r\ninterval = "5s"\r\n'
        b'\r\n[[monitor]]\r\nname = "b"\r\nurl = "http://b"\r\n'
    )


def test_maintenance_lists_are_written_inline(cfg: Path) -> None:
    window = {"days": ["sat"], "at": "03:00", "duration": "1h"}
    update_monitor(cfg, "db", {"maintenance": [window]})
    assert 'maintenance = [{ days = ["sat"], at = "03:00", duration = "1h" }]\n' in cfg.read_text()
    assert len(load_config(cfg).maintenance) == 2


def test_an_invalid_result_is_not_written(cfg: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        update_monitor(cfg, "api", {"timeout": "40s"})
    assert caught.value.problems == [
        f'{cfg}:24: monitor "api": timeout "40s" must be below the interval (30s)'
    ]
    assert cfg.read_text() == COMMENTED


def test_a_duplicate_name_is_refused(cfg: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        add_monitor(cfg, {"name": "shop", "url": "https://x.example"})
    assert caught.value.problems == [
        f'{cfg}:28: a monitor named "shop" already exists; pick another name or edit that one'
    ]


def test_unknown_monitor(cfg: Path) -> None:
    with pytest.raises(MonitorNotFound) as caught:
        remove_monitor(cfg, "nope")
    assert str(caught.value) == f'no monitor named "nope" in {cfg}'
    assert isinstance(caught.value, LookupError)


def test_a_file_changed_since_loading_is_not_overwritten(cfg: Path) -> None:
    editor = ConfigEditor(cfg)
    editor.remove_monitor("db")
    cfg.write_text(COMMENTED + "\n# someone else's edit\n")
    with pytest.raises(ConfigConflict):
        editor.save()
    assert cfg.read_text().endswith("# someone else's edit\n")


def test_expected_digest_guards_the_whole_session(cfg: Path) -> None:
    loaded = load_config(cfg)
    cfg.write_text(COMMENTED.replace("60s", "90s"))
    with pytest.raises(ConfigConflict):
        add_monitor(cfg, {"name": "x", "url": "http://x"}, expected_digest=loaded.digest)
    add_monitor(cfg, {"name": "x", "url": "http://x"}, expected_digest=load_config(cfg).digest)


def test_a_split_monitor_array_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "split.toml"
    text = ('[[monitor]]\nname = "a"\nurl = "http://a"\n\n[notify]\nurls = []\n\n'
            '[[monitor]]\nname = "b"\nurl = "http://b"\n')
    path.write_text(text)
    for edit in (lambda: add_monitor(path, {"name": "c", "url": "http://c"}),
                 lambda: remove_monitor(path, "a"), lambda: update_monitor(path, "b", {"interval": 5})):
        with pytest.raises(ConfigError) as caught:
            edit()
        assert caught.value.problems == [
            f"{path}:8: the [[monitor]] tables are split by another table at line 5; move all [[monitor]] "
            "tables together, then edit again"
        ]
    assert path.read_text() == text


def test_a_syntax_error_is_reported_not_edited(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[[monitor]]\nname = "a\n')
    with pytest.raises(ConfigError) as caught:
        remove_monitor(path, "a")
    assert caught.value.problems[0].startswith(f"{path}:2: TOML syntax error")


def test_a_broken_monitor_can_still_be_removed(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[[monitor]]\nname = "ok"\nurl = "http://a"\n\n[[monitor]]\nname = "bad"\nurl = "ftp://x"\n')
    remove_monitor(path, "bad")
    assert path.read_text() == '[[monitor]]\nname = "ok"\nurl = "http://a"\n'


def test_symlinked_config_stays_a_symlink_and_no_temp_files_remain(tmp_path: Path) -> None:
    real = tmp_path / "real" / "config.toml"
    real.parent.mkdir()
    real.write_text(COMMENTED)
    link = tmp_path / "config.toml"
    link.symlink_to(real)
    remove_monitor(link, "db")
    assert link.is_symlink() and "tcp://db.internal" not in real.read_text()
    assert sorted(os.listdir(real.parent)) == ["config.toml"]


def test_fields_from_spec_round_trips(tmp_path: Path) -> None:
    from shiptrack_tui.demo.specs import demo_monitor_specs

    example = load_config(Path(__file__).resolve().parent.parent / "config" / "example.toml")
    specs = [*example.monitors, *demo_monitor_specs("http://127.0.0.1:8787")]
    path = tmp_path / "c.toml"
    path.write_text('[defaults]\ninterval = "30s"\n')
    defaults = load_config(path).defaults
    for spec in specs:
        add_monitor(path, fields_from_spec(spec, defaults))
    assert load_config(path).monitors == tuple(specs)
    assert fields_from_spec(specs[0]) == {
        "name": "api", "url": "https://api.example.com/health",
        "headers": {"Accept": "application/json", "Authorization": "Bearer change-me"},
        "expect_status": [200, "300-399"], "body_contains": "ok", "interval": "30s", "timeout": "5s",
        "failure_threshold": 2, "degraded_after": "800ms", "tags": ["prod", "api"],
    }
