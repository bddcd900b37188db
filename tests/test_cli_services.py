"""`shiptrack services` and `status --json`'s `services`, on a real database seeded through the Store."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from test_incident_severity import fold

from shiptrack_tui.cli import main
from shiptrack_tui.core.model import MonitorSpec, Severity
from shiptrack_tui.storage import Store

CONFIG = """
[[monitor]]
name = "api"
url = "http://127.0.0.1:9/"
tags = ["checkout"]
[[monitor]]
name = "payments"
url = "http://127.0.0.1:9/pay"
severity = "medium"
[[monitor]]
name = "search"
url = "http://127.0.0.1:9/search"
severity = "low"
[[service]]
name = "Checkout"
description = "Cart and payment"
monitors = ["payments"]
tags = ["checkout"]
[[service]]
name = "Payments"
monitors = ["payments"]
[[service]]
name = "Search"
monitors = ["search"]
"""
API = MonitorSpec(name="api", url="http://127.0.0.1:9/", tags=("checkout",))
PAYMENTS = MonitorSpec(name="payments", url="http://127.0.0.1:9/pay", severity=Severity.MEDIUM)
SEARCH = MonitorSpec(name="search", url="http://127.0.0.1:9/search", severity=Severity.LOW)


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path]:
    config, db, now = tmp_path / "shiptrack.toml", tmp_path / "st.db", time.time()
    config.write_text(CONFIG)
    store = Store.open(db)
    try:
        store.sync_monitors([API, PAYMENTS, SEARCH], now - 3600)
        fold(store, API, "uuddd", now - 600)  # open, high
        fold(store, PAYMENTS, "uuddd", now - 600)  # open, medium
        fold(store, SEARCH, "udddu" + "u" * 3, now - 900)  # resolved
    finally:
        store.close()
    return config, db


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_services_json_derives_each_status(setup: tuple[Path, Path],
                                           capsys: pytest.CaptureFixture[str]) -> None:
    config, db = setup
    code, out, _ = run(capsys, "services", "--json", "--config", str(config), "--db", str(db))
    assert code == 0
    rows = {row["name"]: row for row in json.loads(out)}
    assert [row["status"] for row in rows.values()] == ["outage", "degraded", "operational"]
    checkout = rows["Checkout"]
    assert checkout["description"] == "Cart and payment"
    assert checkout["monitors"] == [{"name": "payments", "state": "down"}, {"name": "api", "state": "down"}]
    assert [(i["monitor"], i["severity"], i["state"]) for i in checkout["open_incidents"]] == [
        ("payments", "medium", "open"), ("api", "high", "open")]
    assert set(checkout["open_incidents"][0]) == {"id", "monitor", "severity", "state", "opened_at"}
    assert rows["Search"]["open_incidents"] == []


def test_services_table(setup: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    config, db = setup
    code, out, _ = run(capsys, "services", "--config", str(config), "--db", str(db))
    lines = out.splitlines()
    assert code == 0 and lines[0].split() == ["STATUS", "SERVICE", "MONITORS", "OPEN", "INCIDENTS"]
    assert lines[1].startswith("outage") and "Checkout" in lines[1] and "api (high)" in lines[1]
    assert lines[2].startswith("degraded") and "payments (medium)" in lines[2]


def test_status_json_names_each_monitors_services(setup: tuple[Path, Path],
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    config, db = setup
    code, out, _ = run(capsys, "status", "--json", "--config", str(config), "--db", str(db))
    assert code == 0
    assert {row["name"]: row["services"] for row in json.loads(out)} == {
        "api": ["Checkout"], "payments": ["Checkout", "Payments"], "search": ["Search"]}


def test_a_broken_service_config_is_exit_2(setup: tuple[Path, Path],
                                           capsys: pytest.CaptureFixture[str]) -> None:
    config, db = setup
    config.write_text(CONFIG + '[[service]]\nname = "Search"\nmonitors = ["nope"]\n')
    code, out, err = run(capsys, "services", "--config", str(config), "--db", str(db))
    assert code == 2 and out == ""
    assert all(line.startswith(f"{config}:") for line in err.strip().splitlines())
