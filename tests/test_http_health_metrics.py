"""`/health/*` and `/metrics` over loopback against a real engine: readiness follows a storage
stall and recovers; the metrics parse with prometheus-client's own parser and say what happened."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from http_rig import AUTH, Rig
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector
from waiting import wait_for

from shiptrack_tui.config import Config
from shiptrack_tui.core.model import MonitorSpec
from shiptrack_tui.core.vitals import EngineVitals
from shiptrack_tui.demo import DemoTargetsThread
from shiptrack_tui.storage import Store
from shiptrack_tui.web.context import WebContext
from shiptrack_tui.web.exposition import Family, render
from shiptrack_tui.web.metrics import Scrape, ShipTrackCollector


def test_ready_is_503_with_the_reason_while_storage_is_stalled(tmp_path: Path,
                                                                targets: DemoTargetsThread) -> None:
    rig = Rig(tmp_path, targets, busy_timeout=0.05)  # the engine's commits fail fast instead of waiting
    try:
        ready = rig.get("/health/ready")
        assert ready.status_code == 200 and ready.json()["status"] == "ok"
        hog = sqlite3.connect(rig.db, timeout=0.05, isolation_level=None)
        hog.execute("BEGIN IMMEDIATE")  # another writer holds the database, as another process would
        try:
            stalled = wait_for(lambda: (r := rig.get("/health/ready")).status_code == 503 and r,
                               what="ready to turn 503")
            body = stalled.json()
            assert body["status"] == "unavailable"
            assert body["reason"].startswith("storage stalled for ")
            assert "database is locked" in body["reason"]
            assert rig.get("/health/live").status_code == 200  # the loops still answer
            metrics = rig.get("/metrics", headers=AUTH).text
            assert float(_sample(metrics, "shiptrack_storage_stalled_seconds")) > 0
        finally:
            hog.execute("ROLLBACK")
            hog.close()
        wait_for(lambda: rig.get("/health/ready").status_code == 200, what="ready again")
    finally:
        rig.close()


def test_not_ready_before_the_engine_runs_a_config(tmp_path: Path, targets: DemoTargetsThread) -> None:
    rig = Rig(tmp_path, targets, start_engine=False)
    try:
        early = rig.get("/health/ready")
        assert early.status_code == 503 and "starting" in early.json()["reason"]
        assert rig.get("/health/live").status_code == 200
        rig.start()
        assert rig.get("/health/ready").json()["scheduler_age_s"] < 5
    finally:
        rig.close()


def _sample(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    raise AssertionError(f"no sample {name} {labels}")


def test_metrics_parse_and_say_what_the_engine_did(tmp_path: Path, targets: DemoTargetsThread) -> None:
    rig = Rig(tmp_path, targets)
    try:
        rig.open_incident()
        wait_for(lambda: _sample(rig.get("/metrics", headers=AUTH).text, "shiptrack_monitor_checks_total",
                                 monitor="web", outcome="up") >= 2, what="two checks of web counted")
        response = rig.get("/metrics", headers=AUTH)
        assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
        text = response.text
        families = {f.name: f for f in text_string_to_metric_families(text)}
        assert {"shiptrack_build_info", "shiptrack_monitor_up", "shiptrack_monitor_state",
                "shiptrack_monitor_latency_seconds", "shiptrack_monitor_checks", "shiptrack_incidents_open",
                "shiptrack_outbox_pending", "shiptrack_outbox_failed", "shiptrack_schedule_lateness_seconds",
                "shiptrack_storage_queue_writes", "shiptrack_storage_commit_seconds",
                "shiptrack_storage_batch_writes", "process_resident_memory_bytes"} <= set(families)
        assert _sample(text, "shiptrack_monitor_up", monitor="api") == 0
        assert _sample(text, "shiptrack_monitor_up", monitor="web") == 1
        assert _sample(text, "shiptrack_monitor_state", monitor="api") == 4  # down
        assert _sample(text, "shiptrack_monitor_checks_total", monitor="api", outcome="down") >= 1
        assert _sample(text, "shiptrack_incidents_open", severity="high") == 1
        assert _sample(text, "shiptrack_schedule_lateness_seconds_count") >= 3
        assert _sample(text, "shiptrack_schedule_lateness_seconds_bucket", le="+Inf") == _sample(
            text, "shiptrack_schedule_lateness_seconds_count")
        assert _sample(text, "shiptrack_build_info") == 1
        per_monitor = [s for f in families.values() for s in f.samples if "monitor" in s.labels]
        assert {tuple(sorted(s.labels)) for s in per_monitor} <= {("monitor",), ("monitor", "outcome")}
    finally:
        rig.close()


class _Families(Collector):
    def __init__(self, families: list[Family]) -> None:
        self.families = families

    def collect(self):  # type: ignore[no-untyped-def]
        return [f.metric() for f in self.families]


def test_the_fast_renderer_writes_what_generate_latest_writes() -> None:
    names = ["api", 'we"ird\\name\nx', "ünïcode"]
    gauge = Family("g", "help with \\ and \n newline", "gauge", ("monitor",))
    counter = Family("c", "counts", "counter", ("monitor", "outcome"))
    other = Family("o", "order", "gauge", ("zone", "monitor"))
    for i, name in enumerate(names):
        for value in (0, 1, 7, 0.25, 1234567.0, 1.79e9, float("nan"), float("inf"), -3.5, 10**7):
            gauge.add((name,), value)
        counter.add((name, "up"), i * 1000)
        other.add(("eu", name), i)
    families = [gauge, counter, other]
    assert render(families).encode() == generate_latest(_Families(families))


def _big_store(path: Path, monitors: int) -> Store:
    """`monitors` monitors with a state, a latency and a certificate each, written the cheap way."""
    store = Store.open(path)
    specs = [MonitorSpec(name=f"m{i:05d}", url=f"https://h{i}.example/") for i in range(monitors)]
    store.sync_monitors(specs, time.time())
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE monitor SET status = 'up', last_latency_ms = 12.5 + id, cert_days_left = 30, "
                     "last_check_at = ?", (time.time(),))
    return store


def test_metrics_for_10000_monitors_carry_every_monitor(tmp_path: Path) -> None:
    """Its speed is a bench figure (`shiptrack bench --scenario http`), not a timed test."""
    store = _big_store(tmp_path / "big.db", 10_000)
    outcomes = {f"m{i:05d}": (100, 2, 1) for i in range(10_000)}

    def vitals(detail: bool) -> EngineVitals:
        return EngineVitals(at=1.0, started_at=0.0, last_tick=1.0, config_loaded=True, monitors=10_000,
                            checks=103, outcomes=outcomes if detail else {})

    scrape = Scrape(WebContext(store=store, config=lambda: Config(path=tmp_path / "x"), vitals=vitals))
    try:
        body = scrape.text()
        assert body.count(b"\n") > 60_000
        assert body.count(b'shiptrack_monitor_up{monitor="') == 10_000
    finally:
        store.close()


def test_the_collector_alone_yields_every_family_for_other_tools(tmp_path: Path) -> None:
    store = _big_store(tmp_path / "small.db", 3)
    try:
        ctx = WebContext(store=store, config=lambda: Config(path=tmp_path / "x"))
        whole = {f.name for f in ShipTrackCollector(ctx, everything=True).collect()}
        assert {"shiptrack_monitor_up", "shiptrack_monitor_state", "shiptrack_monitors"} <= whole
    finally:
        store.close()
