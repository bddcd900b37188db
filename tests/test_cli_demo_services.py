"""With no config file, the reading commands beside `shiptrack --demo --daemon` know the demo's
services (they live in no file): `services`, `status --json` and `postmortem` name them."""

from __future__ import annotations

import json
import time

import pytest
from test_incident_severity import fold

from shiptrack_tui.cli import main
from shiptrack_tui.config import default_db_path
from shiptrack_tui.demo import demo_monitor_specs
from shiptrack_tui.storage import Store


def test_reading_the_demo_database_shows_the_demo_services(capsys: pytest.CaptureFixture[str]) -> None:
    demo_db = default_db_path(None).with_name("demo.db")  # in the test's own HOME (conftest)
    specs = {spec.name: spec for spec in demo_monitor_specs("http://127.0.0.1:8787")}
    now = time.time()
    store = Store.open(demo_db)
    try:
        store.sync_monitors(list(specs.values()), now - 3600)
        fold(store, specs["outage"], "uuddd", now - 600)  # critical: an outage
        fold(store, specs["flaky"], "uuddd", now - 600)  # low: degraded
        (outage,) = store.incidents(monitor="outage")
    finally:
        store.close()
    assert main(["services", "--json"]) == 0
    statuses = {row["name"]: row["status"] for row in json.loads(capsys.readouterr().out)}
    assert statuses == {"Checkout": "outage", "Website": "outage", "Search": "degraded"}
    assert main(["status", "--json"]) == 0
    rows = {row["name"]: row["services"] for row in json.loads(capsys.readouterr().out)}
    assert rows["outage"] == ["Checkout", "Website"] and rows["tcp"] == ["Search"]
    assert main(["postmortem", str(outage.id)]) == 0
    assert capsys.readouterr().out.startswith(f"# Postmortem: Checkout, Website — incident #{outage.id}\n")
