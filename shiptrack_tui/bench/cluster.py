"""Scenario "cluster": several engines on one PostgreSQL share 30,000 monitors at 60 s (DESIGN §12).

Baseline, same run, same targets: ONE engine on SQLite checking all the monitors (the
single-machine figure); the cluster's engine CPU per check is compared with it. Then `nodes`
node processes (bench/cluster_node.py: the real engine joined to the cluster) and a throwaway
PostgreSQL server (bench/pg_server.py) on this same machine: checks stored in the common window
against the grid's slots (nothing skipped), start lateness over every node's checks, engine and
PostgreSQL CPU per check, PostgreSQL bytes per stored check of the live tail (raw rows); then one
node is killed with -9 and the takeover of its monitors is timed. Last, `status --json`'s read
(`monitor_summaries` on a fresh Store) over `status_monitors` monitors with `days` of history, on
SQLite and on a PostgreSQL copy of the same file, whose bytes per stored check at rest (closed
hours packed into blocks) are the `pg_bytes_per_check` figure.
"""

from __future__ import annotations

import asyncio
import json
import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Final

import psutil
import psycopg

from shiptrack_tui.bench.engine_run import bench_specs, run_engine
from shiptrack_tui.bench.measure import median, ratio
from shiptrack_tui.bench.pg_server import PostgresServer
from shiptrack_tui.bench.schedule import expected_slots
from shiptrack_tui.bench.seed import SeedPlan, seed
from shiptrack_tui.bench.targets import TargetProcess
from shiptrack_tui.core.model import MonitorSpec
from shiptrack_tui.core.schedule import stable_offset
from shiptrack_tui.core.stats import exact_percentile
from shiptrack_tui.storage import Store
from shiptrack_tui.storage.copy import copy_history

TARGETS = {"lateness_p99_ms": 500.0, "cpu_per_check_ratio": 1.3, "pg_bytes_per_check": 60.0,
           "takeover_s": 20.0, "status_json_ms": 300.0}
NODE_START_TIMEOUT = 120.0
KEEP_RAW_HOURS = 48.0  # `[storage] keep_raw`'s default


def _config_text(node: int, url: str, specs: list[tuple[str, str]], interval: float, lease: float) -> str:
    lines = ["[storage]", f'url = "{url}"', "", "[cluster]", f'node = "n{node}"', 'location = "here"',
             f"lease = {lease:g}", "", "[defaults]", f'interval = "{interval:g}s"',
             f'timeout = "{min(10.0, interval * 0.9):g}s"', ""]
    for name, target in specs:
        lines += ["[[monitor]]", f'name = "{name}"', f'url = "{target}"', ""]
    return "\n".join(lines)


def _postgres_cpu(server: PostgresServer) -> float:
    """CPU seconds used so far by the server's processes (the postmaster and its backends)."""
    pid_file = server.data / "postmaster.pid"
    try:
        postmaster = psutil.Process(int(pid_file.read_text().split()[0]))
        processes = [postmaster, *postmaster.children(recursive=True)]
    except (OSError, ValueError, psutil.Error):
        return 0.0
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
            total += times.user + times.system + times.children_user + times.children_system
        except psutil.Error:
            continue
    return total


def _read_figures(procs: list[subprocess.Popen[str]], timeout: float) -> list[dict[str, Any]]:
    figures: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        for proc in procs:
            assert proc.stdout is not None
            selector.register(proc.stdout, selectors.EVENT_READ, proc)
        while len(figures) < len(procs):
            left = deadline - time.monotonic()
            ready = selector.select(max(0.0, left))
            if not ready:
                raise RuntimeError("a cluster node did not report its figures in time")
            for key, _events in ready:
                line = key.fileobj.readline()  # type: ignore[union-attr]
                if not line:
                    raise RuntimeError("a cluster node exited before reporting (see its .log)")
                figures.append(json.loads(line))
                selector.unregister(key.fileobj)
    return figures


def _covered_slots(url: str, specs: tuple[MonitorSpec, ...], t0: float, t1: float,
                   late_s: float = 10.0) -> tuple[int, int]:
    """(grid slots due in [t0, t1) that have a stored check, checks beyond one per such slot).

    A check is stored at its start, a few ms after its slot: counting stored starts in [t0, t1)
    would move the checks of slots due just before t0 into the window and those due just before
    t1 out of it (off by a few either way). Each stored check is mapped back to the slot it ran
    for instead (the nearest one: lateness is far below the interval)."""
    grid = {spec.name: (stable_offset(spec.name, spec.interval), spec.interval) for spec in specs}
    with psycopg.connect(url) as conn:
        rows = conn.execute('SELECT m.name, c.at_ms FROM "check" AS c '
                            "JOIN monitor AS m ON m.id = c.monitor_id WHERE c.at_ms >= %s AND c.at_ms < %s",
                            (round((t0 - late_s) * 1000), round((t1 + late_s) * 1000))).fetchall()
    covered: set[tuple[str, int]] = set()
    doubled = 0
    for name, at_ms in rows:
        offset, interval = grid[name]
        slot = round((at_ms / 1000 - offset) / interval)
        if t0 <= offset + slot * interval < t1:
            if (name, slot) in covered:
                doubled += 1
            covered.add((name, slot))
    return len(covered), doubled


def _bytes(url: str) -> dict[str, int]:
    """Sizes of the stored checks: the `check` table (raw rows) and `check_block` (packed), each
    with its indexes and TOAST (pg_total_relation_size), and how many checks each holds."""
    with psycopg.connect(url) as conn:
        check_table, blocks, database = conn.execute(
            "SELECT pg_total_relation_size('\"check\"'), pg_total_relation_size('check_block'), "
            "pg_database_size(current_database())").fetchone()
        rows, packed = conn.execute('SELECT (SELECT count(*) FROM "check"), '
                                    "(SELECT COALESCE(sum(n), 0) FROM check_block)").fetchone()
    return {"check_table": int(check_table), "check_block_table": int(blocks), "database": int(database),
            "checks": int(rows), "packed_checks": int(packed)}


def _per_check(sizes: dict[str, int]) -> float | None:
    """Bytes per stored check, raw and packed together."""
    checks = sizes["checks"] + sizes["packed_checks"]
    return (sizes["check_table"] + sizes["check_block_table"]) / checks if checks else None


def _takeover(url: str, victim: str, killed_at: float, limit: float) -> float | None:
    """Seconds from the kill until no monitor's owner lease is held by `victim` any more."""
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() - killed_at < limit:
            row = conn.execute("SELECT count(*) FROM lease WHERE slot = '' AND node = %s",
                               (victim,)).fetchone()
            if row is not None and int(row[0]) == 0:
                return time.monotonic() - killed_at
            time.sleep(0.1)
    return None


def _run_cluster(targets: TargetProcess, url: str, server: PostgresServer, *, monitors: int, interval: float,
                 duration: float, warmup: float, nodes: int, lease: float, workdir: Path) -> dict[str, Any]:
    names = [(f"m{i:05d}", targets.url(f"m{i:05d}")) for i in range(monitors)]
    procs: list[subprocess.Popen[str]] = []
    logs = []
    try:
        for node in range(nodes):
            config = workdir / f"node{node}.toml"
            config.write_text(_config_text(node, url, names, interval, lease))
            os.chmod(config, 0o600)
            log = (workdir / f"node{node}.log").open("w")
            logs.append(log)
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "shiptrack_tui.bench.cluster_node", str(config), str(warmup),
                 str(duration)], stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL, text=True))
        time.sleep(warmup)
        pg_cpu0, targets_cpu0 = _postgres_cpu(server), targets.cpu_seconds()
        figures = _read_figures(procs, duration + NODE_START_TIMEOUT)
        pg_cpu, targets_cpu = _postgres_cpu(server) - pg_cpu0, targets.cpu_seconds() - targets_cpu0
        time.sleep(1.0)  # the nodes' writers commit what they checked in the window (250 ms batches)
        t0, t1 = max(f["t0"] for f in figures), min(f["t1"] for f in figures)
        specs = bench_specs(targets, monitors, interval)
        stored_window, doubled = _covered_slots(url, specs, t0, t1)
        expected = expected_slots(specs, t0, t1)
        lateness = sorted(s for f in figures for s in f.pop("lateness_s"))
        checks = sum(f["checks"] for f in figures)
        cpu = sum(f["cpu_s"] for f in figures)
        victim = next(f["node"] for f in figures if f["pid"] == procs[0].pid)  # figures come in report order
        killed_at = time.monotonic()
        procs[0].send_signal(signal.SIGKILL)
        takeover = _takeover(url, victim, killed_at, 6 * lease + 30)
        sizes = _bytes(url)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        for log in logs:
            log.close()
    return {
        "nodes": figures, "window_s": t1 - t0, "expected_slots": expected, "stored_in_window": stored_window,
        "doubled_in_window": doubled,
        "skipped": max(0, expected - stored_window), "checks": checks, "engine_cpu_s": cpu,
        "engine_cpu_ms_per_check": 1000 * cpu / checks if checks else None,
        "postgres_cpu_s": pg_cpu, "postgres_cpu_ms_per_check": 1000 * pg_cpu / checks if checks else None,
        "targets_cpu_ms_per_check": 1000 * targets_cpu / checks if checks else None,
        # What the nodes, PostgreSQL and the targets need at the configured rate, in cores: above
        # this machine's count, slots are skipped whatever the design.
        "cores_needed": (cpu + pg_cpu + targets_cpu) / checks * monitors / interval if checks else None,
        "lateness_p50_ms": _ms(exact_percentile(lateness, 0.5)),
        "lateness_p99_ms": _ms(exact_percentile(lateness, 0.99)),
        "lateness_max_ms": _ms(exact_percentile(lateness, 1.0)),
        "overlapping": sum(f["overlapping"] for f in figures),
        "owned": {f["node"]: f["owned"] for f in figures},
        "takeover_s": takeover, "killed": victim,
        "bytes": sizes,
        "pg_tail_bytes_per_check": _per_check(sizes),
    }


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000


# `status --json` runs in a process of its own: so is each timed read here. In the scenario's own
# process (millions of seeded rows and the nodes' figures behind it) the same read took 40 % longer.
_SUMMARIES_TIMER: Final = (
    "import sys, time\n"
    "from shiptrack_tui.storage import Store\n"
    "store = Store.open(sys.argv[1])\n"
    "started = time.perf_counter()\n"
    "store.monitor_summaries(float(sys.argv[2]))\n"
    "print((time.perf_counter() - started) * 1000)\n"
    "store.close()\n"
)


def _summaries_ms(target: str | Path, now: float, repeat: int) -> float | None:
    """Median time of `monitor_summaries(now)` on a freshly opened Store in a fresh interpreter
    (the start and imports not counted): what `status --json` reads."""
    runs = []
    for _ in range(repeat):
        done = subprocess.run([sys.executable, "-c", _SUMMARIES_TIMER, str(target), repr(now)],
                              capture_output=True, text=True, check=True, timeout=120)
        runs.append(float(done.stdout.split()[-1]))
    return median(runs)


def _status_reads(server: PostgresServer, *, monitors: int, days: float, interval: float,
                  workdir: Path, repeat: int = 5) -> dict[str, Any]:
    db_path = workdir / "status.db"
    # Raw checks for the default keep_raw (2 days), as a run leaves them at rest.
    plan = SeedPlan(monitors=monitors, interval=interval, days=days, raw_hours=2.0, now=time.time(),
                    keep_raw_hours=min(KEEP_RAW_HOURS, days * 24))
    store = Store.open(db_path)
    seed(store, db_path, plan, url="http://127.0.0.1:9")
    url = server.create_database("status")
    target = Store.open(url)
    try:
        copy_started = time.perf_counter()
        report = copy_history(store, target)  # packs the closed periods as it copies
        copy_s = time.perf_counter() - copy_started
    finally:
        target.close()
        store.close()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")  # what autovacuum does after a bulk load
    sizes = _bytes(url)
    return {"monitors": monitors, "days": days, "keep_raw_hours": plan.keep_raw_hours,
            "copied_rows": sum(t.source for t in report.counts), "copy_s": copy_s, "bytes": sizes,
            "pg_bytes_per_check": _per_check(sizes),
            "pg_packed_bytes_per_check": (sizes["check_block_table"] / sizes["packed_checks"]
                                          if sizes["packed_checks"] else None),
            "sqlite_ms": _summaries_ms(db_path, plan.now, repeat),
            "postgresql_ms": _summaries_ms(url, plan.now, repeat)}


def run(targets: TargetProcess, *, monitors: int, interval: float, duration: float, warmup: float,
        nodes: int, lease: float, status_monitors: int, days: float, workdir: Path) -> dict[str, Any]:
    started = time.perf_counter()
    specs = bench_specs(targets, monitors, interval)
    single = asyncio.run(run_engine(targets, specs, workdir / "single.db", warmup, duration))
    single_cpu_s = single.cpu_percent / 100 * single.window_s
    single_ms_per_check = 1000 * single_cpu_s / single.checks if single.checks else None
    # A second baseline: one engine on SQLite with one node's share of the monitors, so checking
    # at a node's rate. A process's CPU per check falls as its rate rises (its fixed work is
    # shared by more checks), so this one tells the cluster's own cost from that effect.
    share = asyncio.run(run_engine(targets, specs[:max(1, monitors // nodes)], workdir / "share.db", warmup,
                                   duration))
    share_cpu_s = share.cpu_percent / 100 * share.window_s
    share_ms_per_check = 1000 * share_cpu_s / share.checks if share.checks else None
    server = PostgresServer()
    server.start()
    try:
        url = server.create_database("shiptrack")
        Store.open(url).close()  # the schema, once, before the nodes race to it
        cluster = _run_cluster(targets, url, server, monitors=monitors, interval=interval, duration=duration,
                               warmup=warmup, nodes=nodes, lease=lease, workdir=workdir)
        status = _status_reads(server, monitors=status_monitors, days=days, interval=60.0, workdir=workdir)
    finally:
        server.destroy()
    cpu_ratio = ratio(cluster["engine_cpu_ms_per_check"], single_ms_per_check)
    same_rate_ratio = ratio(cluster["engine_cpu_ms_per_check"], share_ms_per_check)
    return {
        "scenario": "cluster",
        "params": {"monitors": monitors, "interval_s": interval, "duration_s": duration, "warmup_s": warmup,
                   "nodes": nodes, "lease_s": lease, "status_monitors": status_monitors, "days": days},
        "figures": {**cluster, "status_json": status, "pg_bytes_per_check": status["pg_bytes_per_check"]},
        "baseline": {
            "what": "one engine on SQLite checking every monitor (same targets, same run)",
            "checks": single.checks, "window_s": single.window_s, "skipped": single.skipped,
            "cpu_percent": single.cpu_percent, "engine_cpu_ms_per_check": single_ms_per_check,
            "lateness_p99_ms": single.lateness_p99_ms,
        },
        "same_rate_baseline": {
            "what": "one engine on SQLite checking one node's share of the monitors (same targets, same run)",
            "monitors": max(1, monitors // nodes), "checks": share.checks, "skipped": share.skipped,
            "engine_cpu_ms_per_check": share_ms_per_check,
        },
        "ratio": cpu_ratio,
        "same_rate_ratio": same_rate_ratio,
        "target": TARGETS,
        "pass": {
            "nothing_skipped": cluster["skipped"] == 0,
            "lateness_p99_ms": (cluster["lateness_p99_ms"] or 0) < TARGETS["lateness_p99_ms"],
            "cpu_per_check_ratio": cpu_ratio is not None and cpu_ratio <= TARGETS["cpu_per_check_ratio"],
            "pg_bytes_per_check": (status["pg_bytes_per_check"] or 1e9) <= TARGETS["pg_bytes_per_check"],
            "takeover_s": (cluster["takeover_s"] or 1e9) <= TARGETS["takeover_s"],
            "status_json_ms": all(v is not None and v < TARGETS["status_json_ms"]
                                  for v in (status["sqlite_ms"], status["postgresql_ms"])),
        },
        "notes": [
            "every node, PostgreSQL (fsync off: a throwaway server) and the targets share this machine's "
            "cores; on separate machines each node has its own",
            "takeover_s: from the kill -9 until no monitor's owner lease names the killed node any more "
            "(its monitors' next checks then start on their own slots)",
            "pg_bytes_per_check: at rest, on the status_json history copied to PostgreSQL (keep_raw_hours of "
            "raw checks, the closed hours packed into check_block as `db copy` and the compaction chore pack "
            "them): check and check_block with their indexes and TOAST (pg_total_relation_size) over every "
            "stored check; pg_tail_bytes_per_check: the same over the cluster run's own checks, all of them "
            "still raw rows (a few minutes old: nothing is packed before its hour closed an hour ago)",
        ],
        "elapsed_s": time.perf_counter() - started,
    }
