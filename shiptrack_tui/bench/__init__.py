"""`shiptrack bench`: the capacity benchmark of DESIGN §8, each figure beside a same-run baseline.

It starts the loopback targets in a separate process, runs one scenario (or all), and prints ONE
JSON object: every figure, its baseline, the ratio, the target and whether it was met. A short
human summary goes to stderr unless `--json-only`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shiptrack_tui.bench.measure import machine, rounded
from shiptrack_tui.core.durations import DurationError, parse_duration

__all__ = ["SCENARIOS", "main"]

SCENARIOS = ("pipeline", "schedule", "storage", "stats", "keys", "services", "status-page", "push", "http",
             "cluster")

# Per-scenario defaults; an option given on the command line applies to every scenario run.
DEFAULTS: dict[str, dict[str, Any]] = {
    "pipeline": {"monitors": 2000, "interval": 1.0, "duration": 10.0, "warmup": 3.0, "rounds": 2},
    "schedule": {"monitors": 10_000, "interval": 30.0, "duration": 60.0, "warmup": 5.0, "rounds": 1},
    "storage": {"monitors": 200, "interval": 60.0, "checks": 500_000, "steady_monitors": 10},
    "stats": {"monitors": 1000, "interval": 60.0, "days": 30.0, "raw_hours": 2.0, "repeat": 5},
    "keys": {"monitors": 1000, "interval": 30.0, "presses": 200, "duration": None},
    "services": {"monitors": 10_000, "services": 100, "changes": 500},
    "status-page": {"monitors": 1000, "services": 20, "repeat": 40},
    "push": {"monitors": 500, "duration": 10.0, "warmup": 2.0, "connections": 32},
    "http": {"monitors": 1000, "interval": 10.0, "duration": 30.0, "warmup": 12.0, "connections": 4,
             "metrics_monitors": 10_000, "repeat": 10},
    "cluster": {"monitors": 30_000, "interval": 60.0, "duration": 120.0, "warmup": 75.0, "nodes": 3,
                "lease": 20.0, "status_monitors": 1000, "days": 30.0},
}


def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except DurationError as error:
        raise argparse.ArgumentTypeError(str(error)) from error


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="shiptrack bench", description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=(*SCENARIOS, "all"), default="pipeline")
    parser.add_argument("--monitors", type=int, help="monitors to run or seed")
    parser.add_argument("--interval", type=_duration, help='check interval, e.g. "1s", "30s"')
    parser.add_argument("--duration", type=_duration, help='measured time per round, e.g. "5m"')
    parser.add_argument("--warmup", type=_duration, help="time before measuring (start-up spread)")
    parser.add_argument("--rounds", type=int, help="pipeline: baseline/engine round pairs")
    parser.add_argument("--days", type=float, help="stats: days of history to seed")
    parser.add_argument("--raw-hours", type=float,
                        help="stats: hours of raw checks to seed at the end (the rest is rollups)")
    parser.add_argument("--checks", type=int, help="storage: raw checks to write")
    parser.add_argument("--steady-monitors", type=int,
                        help="storage: monitors (at 30 s) in the steady-state size databases; 0 skips them")
    parser.add_argument("--repeat", type=int,
                        help="stats, status-page, http: timed repetitions (median reported); "
                             "http: requests per page")
    parser.add_argument("--presses", type=int,
                        help="keys: key presses per phase (ignored when --duration is given)")
    parser.add_argument("--services", type=int,
                        help="services, status-page: how many services over the monitors")
    parser.add_argument("--changes", type=int, help="services: changes, each followed by a full derive")
    parser.add_argument("--connections", type=int,
                        help="push: wrk's open connections; http: wrk connections per loaded path")
    parser.add_argument("--metrics-monitors", type=int, help="http: monitors behind the timed /metrics")
    parser.add_argument("--nodes", type=int, help="cluster: engine processes sharing the monitors")
    parser.add_argument("--lease", type=float, help="cluster: lease seconds ([cluster] lease)")
    parser.add_argument("--status-monitors", type=int,
                        help="cluster: monitors behind the timed status --json read (with --days of history)")
    parser.add_argument("--db", type=Path,
                        help="base path for the benchmark databases (kept); default a temp dir (removed)")
    parser.add_argument("--json-only", action="store_true", help="print only the JSON object")
    return parser


def _options(args: argparse.Namespace, scenario: str) -> dict[str, Any]:
    options = dict(DEFAULTS[scenario])
    for key in options:
        given = getattr(args, key, None)
        if given is not None:
            options[key] = given
    return options


def _runner(scenario: str) -> Callable[..., dict[str, Any]]:
    # Imported per scenario: the stats scenario pulls in Textual, the others must not pay for it.
    if scenario == "pipeline":
        from shiptrack_tui.bench import pipeline

        return pipeline.run
    if scenario == "schedule":
        from shiptrack_tui.bench import schedule

        return schedule.run
    if scenario == "storage":
        from shiptrack_tui.bench import storage

        return storage.run
    if scenario == "keys":
        from shiptrack_tui.bench import keys

        return keys.run
    if scenario == "services":
        from shiptrack_tui.bench import services

        return services.run
    if scenario == "status-page":
        from shiptrack_tui.bench import status_page

        return status_page.run
    if scenario == "push":
        from shiptrack_tui.bench import push

        return push.run
    if scenario == "http":
        from shiptrack_tui.bench import http_load

        return http_load.run
    if scenario == "cluster":
        from shiptrack_tui.bench import cluster

        return cluster.run
    from shiptrack_tui.bench import stats

    return stats.run


def run_scenario(scenario: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    from shiptrack_tui.bench.targets import TargetProcess

    options = _options(args, scenario)
    runner = _runner(scenario)
    if scenario in ("pipeline", "schedule", "http", "cluster"):
        with TargetProcess() as targets:
            return runner(targets, workdir=workdir, **options)
    return runner(workdir=workdir, **options)


def _summary(result: dict[str, Any]) -> str:
    verdict = ", ".join(f"{key} {'ok' if ok else 'MISSED'}" for key, ok in result.get("pass", {}).items())
    ratio = result.get("ratio")
    ratio_text = f" ratio {ratio:.2f}" if isinstance(ratio, float) else ""
    return f"{result['scenario']}:{ratio_text} {verdict} ({result.get('elapsed_s', 0):.0f} s)"


def main(argv: list[str]) -> int:
    if argv[:1] == ["--"]:  # `shiptrack bench -- --scenario ...` passes the separator through
        argv = argv[1:]
    args = build_parser().parse_args(argv)
    scenarios = SCENARIOS if args.scenario == "all" else (args.scenario,)
    keep = args.db is not None
    if keep:
        workdir = args.db.expanduser().resolve().parent
        workdir.mkdir(parents=True, exist_ok=True)
    else:
        workdir = Path(tempfile.mkdtemp(prefix="shiptrack-bench-"))
    prefix = args.db.stem if keep else "bench"
    report: dict[str, Any] = {"machine": machine(), "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                                  time.gmtime())}
    results: dict[str, Any] = {}
    try:
        for scenario in scenarios:
            scenario_dir = workdir / f"{prefix}-{scenario}"
            shutil.rmtree(scenario_dir, ignore_errors=True)
            scenario_dir.mkdir(parents=True)
            results[scenario] = run_scenario(scenario, args, scenario_dir)
            # Other processes on a shared machine move every figure: say how busy it was.
            results[scenario]["loadavg_after"] = list(os.getloadavg())
            if not args.json_only:
                print(_summary(results[scenario]), file=sys.stderr, flush=True)
    finally:
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
    if len(scenarios) == 1:
        report.update(results[scenarios[0]])
    else:
        report["scenarios"] = results
    print(json.dumps(rounded(report), indent=None if args.json_only else 2))
    return 0
