"""The shipped config files load, and the systemd unit says what DESIGN promises."""

from __future__ import annotations

from pathlib import Path

from shiptrack_tui.config import load_config

ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = ROOT / "config"


def test_example_loads_with_every_section() -> None:
    config = load_config(CONFIG_DIR / "example.toml")
    names = [spec.name for spec in config.monitors]
    assert names == ["api", "postgres"]
    assert config.notify.channels and config.maintenance
    api = config.monitor("api")
    assert api is not None and api.interval == 30.0 and api.timeout == 5.0


def test_example_mentions_every_key() -> None:
    from shiptrack_tui.config.loader import CHANNEL_KEYS, DEFAULTS_KEYS, NOTIFY_KEYS, STORAGE_KEYS
    from shiptrack_tui.config.monitors import MONITOR_KEYS
    from shiptrack_tui.config.windows import GLOBAL_KEYS

    text = (CONFIG_DIR / "example.toml").read_text()
    for key in {*DEFAULTS_KEYS, *STORAGE_KEYS, *NOTIFY_KEYS, *CHANNEL_KEYS, *MONITOR_KEYS, *GLOBAL_KEYS}:
        assert f"{key} =" in text or f"{key}]" in text or f"{key} = " in text, key


def test_demo_loads_on_the_demo_port() -> None:
    config = load_config(CONFIG_DIR / "demo.toml")
    urls = {spec.name: spec.url for spec in config.monitors}
    assert urls == {
        "steady": "http://127.0.0.1:8787/steady",
        "slow": "http://127.0.0.1:8787/slow",
        "flaky": "http://127.0.0.1:8787/flaky",
        "outage": "http://127.0.0.1:8787/outage",
        "tcp": "tcp://127.0.0.1:8787",
    }
    assert all(2 <= spec.interval <= 5 for spec in config.monitors)


def test_demo_matches_the_built_in_demo_specs() -> None:
    from shiptrack_tui.demo.specs import demo_monitor_specs, demo_status_page

    config = load_config(CONFIG_DIR / "demo.toml")
    assert list(config.monitors) == demo_monitor_specs("http://127.0.0.1:8787")
    assert config.status_page == demo_status_page()  # the shipped file publishes what --demo does


def test_service_unit_is_hardened() -> None:
    unit = (CONFIG_DIR / "shiptrack.service").read_text()
    for line in (
        "ExecStart=/opt/shiptrack/.venv/bin/shiptrack --daemon --config /etc/shiptrack/config.toml "
        "--db /var/lib/shiptrack/shiptrack.db",
        "User=shiptrack", "StateDirectory=shiptrack", "UMask=0077",
        "ProtectSystem=strict", "NoNewPrivileges=yes",
        "Restart=on-failure", "KillSignal=SIGTERM", "ExecReload=/bin/kill -HUP $MAINPID",
        "Type=notify", "NotifyAccess=main", "WatchdogSec=30s",
    ):
        assert line in unit.splitlines(), line
