"""Small measuring tools shared by the scenarios: CPU windows, peak RSS, medians, ratios, sizes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

_SELF = psutil.Process()


def cpu_seconds() -> float:
    """User + system CPU of this process (every thread: event loop, writer, to_thread workers)."""
    times = _SELF.cpu_times()
    return float(times.user + times.system)


def rss_mb() -> float:
    return _SELF.memory_info().rss / 2**20


@dataclass
class CpuWindow:
    """CPU used by this process (and optionally another) between `start()` and `stop()`."""

    other: Callable[[], float] | None = None
    wall: float = 0.0
    own: float = 0.0
    others: float = 0.0
    _t0: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def start(self) -> CpuWindow:
        self._t0 = (time.perf_counter(), cpu_seconds(), self.other() if self.other else 0.0)
        return self

    def stop(self) -> CpuWindow:
        wall0, own0, other0 = self._t0
        self.wall = time.perf_counter() - wall0
        self.own = cpu_seconds() - own0
        self.others = (self.other() if self.other else 0.0) - other0
        return self

    @property
    def own_percent(self) -> float:
        """Percent of one core this process used over the window."""
        return 100.0 * self.own / self.wall if self.wall > 0 else 0.0

    @property
    def other_percent(self) -> float:
        return 100.0 * self.others / self.wall if self.wall > 0 else 0.0


@dataclass
class RssSampler:
    """Peak resident memory of this process, sampled on a background thread."""

    every: float = 0.25
    peak_mb: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> RssSampler:
        self.peak_mb = rss_mb()
        self._thread = threading.Thread(target=self._run, name="bench-rss", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.peak_mb = max(self.peak_mb, rss_mb())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.peak_mb = max(self.peak_mb, rss_mb())


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def rounded(value: Any, digits: int = 3) -> Any:
    """Round floats (also inside dicts and lists) for a readable JSON report."""
    if isinstance(value, float):
        return round(value, digits)
    if isinstance(value, dict):
        return {key: rounded(item, digits) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [rounded(item, digits) for item in value]
    return value


def file_bytes(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def db_files_bytes(path: Path) -> dict[str, int]:
    """Sizes of the database, its WAL and its shared-memory file."""
    return {
        "db": file_bytes(path),
        "wal": file_bytes(Path(f"{path}-wal")),
        "shm": file_bytes(Path(f"{path}-shm")),
    }


def table_bytes(path: Path) -> dict[str, int]:
    """Bytes on disk per table and index (SQLite's dbstat), read on a private connection."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall()
    except sqlite3.OperationalError:
        return {}
    finally:
        conn.close()
    return {str(name): int(size) for name, size in rows}


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return {
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
        "loadavg_at_start": [round(x, 2) for x in load],
        "code": _code_version(),
    }


def _code_version() -> dict[str, Any]:
    """The commit measured, and which package files differed from it (a tree being worked on)."""
    root = Path(__file__).resolve().parents[2]
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,
                              text=True, timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "shiptrack_tui"], cwd=root,
                               capture_output=True, text=True, timeout=5).stdout.split("\n")
    except (OSError, subprocess.SubprocessError):
        return {}
    return {"commit": head, "uncommitted": sorted(line[3:] for line in dirty if line.strip())}


class LoopLag:
    """How late this event loop wakes a 20 ms sleeper: stalls here delay every check's start.

    Stalls over `stall_ms` are kept with their offset from `start()` so they can be lined up
    with periodic work (housekeeping runs every 60 s) or with noise from other processes.
    """

    def __init__(self, every: float = 0.02, stall_ms: float = 100.0, keep: int = 30) -> None:
        self.every = every
        self.stall_ms = stall_ms
        self.keep = keep
        self.lags_ms: list[float] = []
        self.stalls: list[tuple[float, float]] = []  # (seconds since start, lag ms)
        self.peak_in_flight = 0
        self._task: asyncio.Task[None] | None = None
        self._in_flight: Callable[[], int] | None = None

    def start(self, in_flight: Callable[[], int] | None = None) -> LoopLag:
        self._in_flight = in_flight
        self._task = asyncio.get_running_loop().create_task(self._run(), name="bench-loop-lag")
        return self

    async def _run(self) -> None:
        started = time.perf_counter()
        while True:
            before = time.perf_counter()
            await asyncio.sleep(self.every)
            lag_ms = (time.perf_counter() - before - self.every) * 1000
            self.lags_ms.append(lag_ms)
            if lag_ms > self.stall_ms and len(self.stalls) < self.keep:
                self.stalls.append((round(before - started, 1), round(lag_ms)))
            if self._in_flight is not None:
                self.peak_in_flight = max(self.peak_in_flight, self._in_flight())

    async def stop(self) -> dict[str, Any]:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        ordered = sorted(self.lags_ms)
        p99 = ordered[max(0, int(len(ordered) * 0.99) - 1)] if ordered else None
        return {"loop_lag_p99_ms": p99, "loop_lag_max_ms": ordered[-1] if ordered else None,
                "stalls_over_100ms": sum(1 for lag in ordered if lag > self.stall_ms),
                "stalls_first": self.stalls, "peak_in_flight": self.peak_in_flight}
