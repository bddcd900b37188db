"""`shiptrack bench` smoke runs: every scenario at toy size prints one JSON object with every figure.

These prove the benchmark works end to end (targets in a child process, engine, baselines, seeding,
first paint), not that the figures meet their targets: that is the full-size run's job.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from shiptrack_tui.bench import main

COMMON_KEYS = {"machine", "scenario", "params", "figures", "baseline", "ratio", "target", "pass", "notes",
               "elapsed_s"}


def bench(capsys: pytest.CaptureFixture[str], tmp_path: Path, *argv: str) -> dict[str, Any]:
    assert main([*argv, "--json-only", "--db", str(tmp_path / "bench.db")]) == 0
    out = capsys.readouterr().out
    report = json.loads(out)  # exactly one JSON object on stdout
    assert report.keys() >= COMMON_KEYS
    assert report["ratio"] is not None and report["ratio"] > 0
    assert set(report["pass"]) and all(isinstance(ok, bool) for ok in report["pass"].values())
    # The targets ran in a child process that is gone again.
    assert not psutil.Process().children(recursive=True)
    return report


def test_pipeline(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # 50 checks/s with a 1.8 s timeout, measured after a second: at 300/s with 0.9 s after half a
    # second, a busy machine (the suite's parallel workers) timed checks out, or none had finished
    # when the window opened; `down_checks == 0` is the proof that the targets answer.
    report = bench(capsys, tmp_path, "--scenario", "pipeline", "--monitors", "100", "--interval", "2s",
                   "--duration", "2s", "--warmup", "1s", "--rounds", "1")
    figures, baseline = report["figures"], report["baseline"]
    assert figures["engine_checks_per_s"] > 0 and baseline["checks_per_s"] > 0
    engine = figures["engine_rounds"][0]
    assert engine["checks"] > 0 and engine["down_checks"] == 0
    assert engine["stored_per_s"] > 0
    assert baseline["rounds"][0]["errors"] == 0
    expected = figures["engine_checks_per_s"] / baseline["checks_per_s"]
    assert report["ratio"] == pytest.approx(expected, rel=0.01, abs=0.0005)  # the report rounds to 3 places
    same_client = report["same_client_baseline"]
    assert same_client["checks_per_s"] > 0 and same_client["rounds"][0]["errors"] == 0
    expected = figures["engine_checks_per_s"] / same_client["checks_per_s"]
    assert report["same_client_ratio"] == pytest.approx(expected, rel=0.01, abs=0.0005)


def test_schedule(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # 50 checks/s: at 150/s a busy machine (the suite's parallel workers) timed checks out.
    report = bench(capsys, tmp_path, "--scenario", "schedule", "--monitors", "100", "--interval", "2s",
                   "--duration", "2s", "--warmup", "0.5s")
    figures = report["figures"]
    for key in ("checks_expected", "checks_started", "overlapping", "skipped", "lateness_p50_ms",
                "lateness_p99_ms", "cpu_percent", "rss_peak_mb", "bytes_per_check"):
        assert figures[key] is not None, key
    # At toy size the schedule is easy to keep: every slot starts, none overlaps or is skipped, and
    # no check starts anywhere near a whole interval late (that is where skipping begins).
    assert figures["skipped"] == 0 and figures["overlapping"] == 0 and figures["down_checks"] == 0
    assert figures["checks_expected"] > 0
    assert figures["checks_started"] >= 0.9 * figures["checks_expected"]
    assert figures["checks_completed"] > 0
    assert 0 <= figures["lateness_p50_ms"] <= figures["lateness_p99_ms"] < 2000
    assert 0 < figures["cpu_percent"] < 400 and figures["rss_peak_mb"] > 10
    assert 10 < figures["bytes_per_check"] < report["baseline"]["naive_bytes_per_check"]
    assert report["baseline"]["checks_done"] > 0


def test_storage(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    report = bench(capsys, tmp_path, "--scenario", "storage", "--checks", "6000", "--monitors", "20",
                   "--steady-monitors", "2")
    figures, baseline = report["figures"], report["baseline"]
    assert figures["disk"]["checks"] == 6000
    assert 10 < figures["bytes_per_check"] < baseline["naive_bytes_per_check"]
    # Raw checks go by whole hours: of 5 hours (20 a minute), those before the hour that began
    # 2.5 to 3.5 hours ago.
    assert figures["prune_deleted"] == baseline["naive_prune_deleted"]
    assert 1500 <= figures["prune_deleted"] <= 3000
    # Steady state: both databases really built, today's defaults smaller than the old ones.
    new, old = figures["steady"], baseline["old_defaults_steady"]
    # Two days of raw checks at 30 s plus the hour under way (up to 120 more a monitor): the figure
    # depends on the minute the test runs at, so both ends are bounds, each with the 2 % slack.
    assert 0.98 * 2 * 2 * 2880 <= new["rows"]["check"] <= 1.02 * 2 * (2 * 2880 + 120)
    assert old["rows"]["check"] == pytest.approx(2 * 30 * 2880, rel=0.01)
    assert old["rows"]["rollup span 1"] > 2 * 399 * 24 > 2 * 33 * 24 > new["rows"]["rollup span 1"]
    assert 0 < figures["steady_bytes_per_monitor"] < baseline["old_defaults_steady_bytes_per_monitor"] / 3
    assert figures["writer_checks_per_s"] > 0 and baseline["bare_executemany_checks_per_s"] > 0
    assert figures["wal_peak_bytes_writing"] > 0


def test_stats(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    report = bench(capsys, tmp_path, "--scenario", "stats", "--monitors", "20", "--days", "1",
                   "--raw-hours", "1", "--repeat", "1")
    figures, seeding = report["figures"], report["seeding"]
    assert seeding["checks_represented"] == pytest.approx(20 * 1440, abs=20)
    assert seeding["raw_tail_checks"] == pytest.approx(20 * 60, abs=20)
    assert figures["summaries_ms"] > 0 and report["baseline"]["naive_ms"] > 0
    assert figures["accuracy"]["monitors_sampled"] == 1
    assert figures["accuracy"]["worst_percentile_error_percent"] <= 2.0
    assert figures["first_paint_ms"] is not None and figures["first_paint"]["bare_datatable_ms"] is not None
    assert figures["profile_top_own_time"]


def test_bad_duration_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--scenario", "pipeline", "--duration", "soon"])
    assert exit_info.value.code == 2
    assert "duration" in capsys.readouterr().err


def test_keys(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    started = time.perf_counter()
    report = bench(capsys, tmp_path, "--scenario", "keys", "--monitors", "50", "--presses", "20")
    # Presses, not a duration, end it: 15 s alone, up to 20 s beside the suite's parallel workers.
    assert time.perf_counter() - started < 45
    assert report["seeding"]["monitors"] == 50 and report["seeding"]["checks"] == 50 * 120
    for phase in (report["figures"], report["baseline"]):
        assert phase["n"] == 20
        for key in ("median_ms", "p90_ms", "p95_ms", "p99_ms", "max_ms"):
            assert phase[key] is not None and phase[key] > 0, key
        assert phase["median_ms"] <= phase["p90_ms"] <= phase["p95_ms"] <= phase["p99_ms"] <= phase["max_ms"]
        assert phase["queued"]["median_ms"] <= phase["median_ms"]
        assert phase["missed"] == 0
    assert report["figures"]["writer_alive_at_end"] is True
    assert report["params"]["writer_checks_per_s"] == pytest.approx(50 / 30, rel=0.01)
    assert {"median_ms", "p95_ms", "p99_ms", "baseline_median_ms", "no_missed_keys"} <= set(report["pass"])


def test_keys_cleans_up_on_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from shiptrack_tui.bench import keys

    def boom(self: keys.AppInPty, key: bytes) -> tuple[float, float] | None:
        assert psutil.Process().children(recursive=True)  # the writer and the app are running
        raise RuntimeError("boom")

    monkeypatch.setattr(keys.AppInPty, "press", boom)
    monkeypatch.setattr(keys, "run_phase", _live_only(keys.run_phase))
    with pytest.raises(RuntimeError, match="boom"):
        keys.run(monitors=20, interval=30.0, presses=5, duration=None, workdir=tmp_path)
    assert not psutil.Process().children(recursive=True)


def _live_only(run_phase: Any) -> Any:
    """Skip the idle phase so the failure happens with the writer running too."""
    def wrapped(db_path: Path, label: str, *args: Any, **kwargs: Any) -> Any:
        if label == "idle":
            from shiptrack_tui.bench.keys import Phase

            return Phase(label)
        return run_phase(db_path, label, *args, **kwargs)
    return wrapped


def test_services(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    report = bench(capsys, tmp_path, "--scenario", "services", "--monitors", "1000", "--services", "10",
                   "--changes", "50")
    assert report["params"]["monitors"] == 1000 and report["params"]["services"] == 10
    figures = report["figures"]
    assert 0 < figures["derive_per_change_ms"] <= figures["derive_per_change_p99_ms"]
    assert figures["derive_every_service_ms"] > 0 and report["baseline"]["scan_ms"] > 0
    assert set(report["pass"]) == {"derive_per_change_p99_ms"}


def test_status_page(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    report = bench(capsys, tmp_path, "--scenario", "status-page", "--monitors", "40", "--services", "4",
                   "--repeat", "4")
    assert report["params"]["monitors"] == 40 and report["params"]["day_rows"] == 40 * 91
    for page, entries in (("services_page", 4), ("monitors_page", 40)):
        figures = report["figures"][page]
        assert 0 < figures["warm_p50_ms"] <= figures["warm_p95_ms"] <= figures["warm_max_ms"]
        assert figures["cold_ms"] > 0 and figures["bytes"] > entries * 90 * 40  # 90 bars per entry
    assert report["figures"]["monitors_page"]["bytes"] > report["figures"]["services_page"]["bytes"]
    assert set(report["pass"]) == {"services_page_warm_p95_ms"}


def test_push(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # Enough monitors that a fast second of wrk stays under each one's rate limit (10/s, burst 20):
    # with 50, a quiet machine sent ~30 a monitor and some were rightly refused with 429.
    report = bench(capsys, tmp_path, "--scenario", "push", "--monitors", "500", "--duration", "1s",
                   "--warmup", "0s", "--connections", "4")
    figures, baseline = report["figures"], report["baseline"]["health_live"]
    assert figures["accepted"] > 0 and baseline["requests"] > 0 and figures["non_2xx"] == 0
    assert report["pass"]["every_ping_stored"] and figures["pings_waiting"] == 0
    assert figures["accepted"] <= figures["stored_checks"] <= figures["accepted"] + 4
    assert report["ratio"] == pytest.approx(figures["pings_per_s"] / baseline["per_s"], rel=0.01)


def test_http(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    report = bench(capsys, tmp_path, "--scenario", "http", "--monitors", "100", "--interval", "2s",
                   "--duration", "2s", "--warmup", "2.5s", "--connections", "2", "--metrics-monitors", "300",
                   "--repeat", "2")
    figures, baseline = report["figures"], report["baseline"]
    for window in (figures["under_load"], baseline):
        assert window["checks_started"] > 0 and window["lateness_p99_ms"] is not None
        assert window["skipped"] == 0 and window["overlapping"] == 0
    assert [run["path"] for run in figures["wrk"]] == ["/api/v1/monitors", "/metrics"]
    for run in figures["wrk"]:
        assert run["requests"] > 0 and run["errors"] == 0 and run["latency_ms"]["p99"] > 0
    assert figures["pages"]["api_monitors"]["status"] == 200
    assert figures["metrics_ms"]["status"] == 200 and figures["metrics_ms"]["median_ms"] > 0
    assert figures["metrics_build_ms"]["median_ms"] > 0
    assert figures["baseline_generate_latest_ms"]["median_ms"] > 0
    # The status page is measured once a build serves one at /; until then its figure is null.
    page = figures["pages"]["status_page"]
    assert (figures["status_page_ms"] is None) == (page["status"] != 200)
    assert {"nothing_skipped_under_load", "lateness_p99_ms_under_load", "metrics_ms"} <= set(report["pass"])


def test_cluster(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    report = bench(capsys, tmp_path, "--scenario", "cluster", "--monitors", "150", "--interval", "2s",
                   "--warmup", "8s", "--duration", "4s", "--nodes", "3", "--lease", "5",
                   "--status-monitors", "20", "--days", "1")
    figures = report["figures"]
    assert len(figures["nodes"]) == 3 and figures["checks"] > 0 and figures["expected_slots"] > 0
    assert figures["stored_in_window"] > 0 and figures["lateness_p99_ms"] is not None
    assert figures["doubled_in_window"] == 0
    assert sum(figures["owned"].values()) == 150  # every monitor owned once, by the live nodes
    assert figures["takeover_s"] is not None and figures["takeover_s"] < 6 * 5 + 30
    assert 0 < figures["pg_tail_bytes_per_check"] < 1000
    status = figures["status_json"]
    assert status["sqlite_ms"] > 0 and status["postgresql_ms"] > 0 and status["copied_rows"] > 0
    # At rest: the copied day of raw checks is mostly packed, and the figure reported is that one.
    assert status["bytes"]["packed_checks"] > status["bytes"]["checks"] > 0
    at_rest = figures["pg_bytes_per_check"]
    assert 0 < at_rest == status["pg_bytes_per_check"] < figures["pg_tail_bytes_per_check"]
    assert report["baseline"]["checks"] > 0
    assert report["same_rate_baseline"]["checks"] > 0 and report["same_rate_ratio"] is not None
