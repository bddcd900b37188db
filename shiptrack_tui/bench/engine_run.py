"""Run the real engine against the loopback targets for a while and read its counters.

Shared by the pipeline and schedule scenarios: monitors `/t/m00000`, `/t/m00001`, ... on one
interval, a fresh database, notifications off (no URLs), and figures taken over the steady part
only (after `warmup` seconds) so start-up spreading does not count.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from shiptrack_tui.bench.measure import CpuWindow, LoopLag, RssSampler, rss_mb
from shiptrack_tui.bench.targets import TargetProcess
from shiptrack_tui.config import Config
from shiptrack_tui.core.model import MonitorSpec
from shiptrack_tui.engine import Engine
from shiptrack_tui.storage import Store


def bench_specs(targets: TargetProcess, count: int, interval: float) -> tuple[MonitorSpec, ...]:
    """`count` distinct HTTP monitors on one interval; the timeout stays below the interval."""
    timeout = min(10.0, interval * 0.9)
    return tuple(
        MonitorSpec(name=f"m{i:05d}", url=targets.url(f"m{i:05d}"), interval=interval, timeout=timeout)
        for i in range(count)
    )


@dataclass
class EngineRun:
    """What one engine run did over its measured window."""

    t0: float = 0.0  # wall-clock start and end of the measured window
    t1: float = 0.0
    window_s: float = 0.0
    checks: int = 0
    stored_in_window: int = 0
    stored_total: int = 0
    overlapping: int = 0
    skipped: int = 0
    lateness_p50_ms: float | None = None
    lateness_p99_ms: float | None = None
    lateness_max_ms: float | None = None
    lateness_samples: int = 0
    cpu_percent: float = 0.0
    target_cpu_percent: float = 0.0
    rss_peak_mb: float = 0.0
    rss_before_mb: float = 0.0
    writer_pending_at_end: int = 0
    writer_batches: int = 0
    down_checks: int = 0
    loop: dict[str, object] = field(default_factory=dict)  # event-loop lag and checks in flight

    @property
    def checks_per_s(self) -> float:
        return self.checks / self.window_s if self.window_s > 0 else 0.0


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000


async def run_engine(targets: TargetProcess, specs: tuple[MonitorSpec, ...], db_path: Path,
                     warmup: float, duration: float) -> EngineRun:
    """Start an engine on a fresh database, measure `duration` s after `warmup` s, stop, flush."""
    rss_before = rss_mb()
    store = await asyncio.to_thread(Store.open, db_path)
    config = Config(path=Path("<bench>"), monitors=specs)
    engine = Engine(config, store, send_notifications=False)
    result = EngineRun(rss_before_mb=rss_before)
    with RssSampler() as rss:
        task = asyncio.create_task(engine.run(), name="bench-engine")
        await asyncio.sleep(warmup)
        counters = engine.counters
        counters.lateness.reset()
        schedule = engine._schedule  # read-only: Schedule.skipped is the figure DESIGN §8 names
        checks0, overlapping0, skipped0 = counters.checks, counters.overlapping, schedule.skipped
        t0 = time.time()
        cpu = CpuWindow(other=targets.cpu_seconds).start()
        lag = LoopLag().start(lambda: len(engine._in_flight))
        await asyncio.sleep(duration)
        cpu.stop()
        result.loop = await lag.stop()
        t1 = time.time()
        result.checks = counters.checks - checks0
        result.overlapping = counters.overlapping - overlapping0
        result.skipped = schedule.skipped - skipped0
        result.lateness_samples = len(counters.lateness)
        result.lateness_p50_ms = _ms(counters.lateness.percentile(0.5))
        result.lateness_p99_ms = _ms(counters.lateness.percentile(0.99))
        result.lateness_max_ms = _ms(counters.lateness.percentile(1.0))
        writer = engine._writer
        result.writer_pending_at_end = writer.pending if writer is not None else 0
        engine.request_stop()
        await task
        result.writer_batches = writer.batches if writer is not None else 0
    await asyncio.to_thread(store.close)
    result.t0, result.t1, result.window_s = t0, t1, cpu.wall
    result.cpu_percent = cpu.own_percent
    result.target_cpu_percent = cpu.other_percent
    result.rss_peak_mb = rss.peak_mb
    result.stored_in_window, result.stored_total, result.down_checks = _count_stored(db_path, t0, t1)
    return result


def _count_stored(db_path: Path, t0: float, t1: float) -> tuple[int, int, int]:
    """(checks stored with a start inside [t0, t1), all checks stored, checks stored as down)."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        in_window = conn.execute('SELECT COUNT(*) FROM "check" WHERE at_ms >= ? AND at_ms < ?',
                                 (round(t0 * 1000), round(t1 * 1000))).fetchone()[0]
        total = conn.execute('SELECT COUNT(*) FROM "check"').fetchone()[0]
        down = conn.execute('SELECT COUNT(*) FROM "check" WHERE code & 3 = 2').fetchone()[0]
    finally:
        conn.close()
    return int(in_window), int(total), int(down)
