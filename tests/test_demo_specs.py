"""The demo's monitors: short intervals, sane thresholds, and a config text that says the same."""

from __future__ import annotations

import tomllib
from pathlib import Path

from shiptrack_tui.core.durations import parse_duration
from shiptrack_tui.demo import demo_config_text, demo_monitor_specs

BASE = "http://127.0.0.1:9999"


def test_specs_cover_every_demo_target_on_the_given_port() -> None:
    specs = {s.name: s for s in demo_monitor_specs(BASE + "/")}
    assert {s.url for s in specs.values()} == {
        f"{BASE}/steady", f"{BASE}/slow", f"{BASE}/flaky", f"{BASE}/outage", "tcp://127.0.0.1:9999"}
    assert specs["tcp"].kind == "tcp"
    assert specs["slow"].degraded_after == 1.0
    for spec in specs.values():
        assert 2 <= spec.interval <= 5 and 1 <= spec.timeout <= 2 < spec.interval + 1
        assert spec.timeout < spec.interval
        assert (spec.failure_threshold, spec.recovery_threshold) == (3, 2)
        assert "demo" in spec.tags
    assert {"api", "web"} <= {t for s in specs.values() for t in s.tags}


def test_config_text_matches_the_specs() -> None:
    doc = tomllib.loads(demo_config_text(BASE))
    assert doc["defaults"] == {"failure_threshold": 3, "recovery_threshold": 2}
    specs = demo_monitor_specs(BASE)
    assert [m["name"] for m in doc["monitor"]] == [s.name for s in specs]
    for table, spec in zip(doc["monitor"], specs, strict=True):
        assert table["url"] == spec.url
        assert parse_duration(table["interval"]) == spec.interval
        assert parse_duration(table["timeout"]) == spec.timeout
        assert tuple(table["tags"]) == spec.tags
        assert table.get("body_contains") == spec.body_contains
        degraded = table.get("degraded_after")
        assert (parse_duration(degraded) if degraded else None) == spec.degraded_after


def test_config_text_passes_the_real_config_parser() -> None:
    from shiptrack_tui.config import parse_config

    config = parse_config(demo_config_text(BASE).encode(), Path("/tmp/demo.toml"))
    assert config.monitors == tuple(demo_monitor_specs(BASE))


def test_shipped_demo_config_points_at_the_same_targets() -> None:
    """config/demo.toml (for `python -m shiptrack_tui.demo --port 8787`) lists exactly the built-in
    targets, in order, at the port it documents: no target missing, none extra, none renamed."""
    shipped = Path(__file__).resolve().parents[1] / "config" / "demo.toml"
    monitors = tomllib.loads(shipped.read_text())["monitor"]
    specs = demo_monitor_specs("http://127.0.0.1:8787")
    assert [(m["name"], m["url"]) for m in monitors] == [(s.name, s.url) for s in specs]


def test_demo_services_load_and_cover_each_status() -> None:
    """The demo's services pass the config parser, in the text and in config/demo.toml, and their
    members' severities let one go `outage` (critical /outage) and one only `degraded` (low /flaky)."""
    from shiptrack_tui.config import load_config, parse_config
    from shiptrack_tui.core.model import MonitorStatus
    from shiptrack_tui.core.services import ServiceIndex, ServiceStatus
    from shiptrack_tui.demo import demo_service_specs

    config = parse_config(demo_config_text(BASE).encode(), Path("/tmp/demo.toml"))
    assert config.services == demo_service_specs()
    shipped = load_config(Path(__file__).resolve().parents[1] / "config" / "demo.toml")
    assert shipped.services == demo_service_specs()
    assert shipped.monitors == tuple(demo_monitor_specs("http://127.0.0.1:8787"))
    index = ServiceIndex.of(config.services, config.monitors)
    severity = {spec.name: spec.severity for spec in config.monitors}
    up = dict.fromkeys(severity, MonitorStatus.UP)
    assert set(index.derive_all(up, {}).values()) == {ServiceStatus.OPERATIONAL}
    outage = index.derive_all(up | {"outage": MonitorStatus.DOWN}, {"outage": severity["outage"]})
    assert outage == {"Checkout": ServiceStatus.OUTAGE, "Website": ServiceStatus.OUTAGE,
                      "Search": ServiceStatus.OPERATIONAL}
    flaky = index.derive_all(up | {"flaky": MonitorStatus.DOWN}, {"flaky": severity["flaky"]})
    assert flaky["Search"] is ServiceStatus.DEGRADED
