"""Scenario "keys": a key press reaching the screen with 1,000 monitors live (DESIGN §8, < 50 ms).

The database is seeded through the store's own batch write (every history folded through
`core.incidents.step`): `monitors` monitors with two hours of 60 s checks ending now, every 50th
one down. The real `ShipTrackApp` then runs in a pty, attached to a "daemon", at 130×36, and this
process presses j/k 50–150 ms apart (25 one way, 25 back). Latency is measured from the key's
bytes written to the pty until the first frame after the table's cursor moved is flushed to the
pty by Textual's output thread (the app child reports both the moment the frame was queued and
the moment it was flushed through a pipe; both clocks are CLOCK_MONOTONIC, shared by processes).
The app shows 100 services over the monitors (7 by tag, 93 by name), so the services strip is
derived live on every refresh the writer causes (DESIGN §10: the figure must not move).

Two phases, each with a fresh app on the same database: the baseline with nothing writing, then
"live" with a writer process committing `monitors / interval` checks/s (33/s for 1,000 monitors at
30 s) through `Store.commit_batch` every 0.1 s, the app attached to it, as the dashboard is to a
daemon. Every child (writer, app) is killed and reaped on exit and on error; each also exits by
itself when this process dies (the writer watches its parent, the app gets SIGHUP from its pty).
"""

from __future__ import annotations

import contextlib
import fcntl
import math
import os
import pty
import random
import select
import signal
import sqlite3
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shiptrack_tui.bench.disk import checkpoint_truncate
from shiptrack_tui.bench.measure import median, ratio

TARGET_MS = 50.0
SIZE = (130, 36)  # columns, rows
HISTORY_CHECKS = 120  # two hours at 60 s
HISTORY_INTERVAL = 60.0
PAUSE_RANGE_S = (0.05, 0.15)
KEY_TIMEOUT_S = 3.0  # a press with no frame by then counts as this long (and is reported as missed)
READY_TIMEOUT_S = 60.0
WARMUP_PRESSES = 6
SETTLE_S = 1.0
TEAMS = 7
PATTERNS = ("u" * 120, "u" * 119 + "d", "u" * 100 + "x" * 20, "u" * 110 + "x" * 10)


# -- seeding -------------------------------------------------------------------------------------
def monitor_name(index: int) -> str:
    return f"svc-{index:04d}"


def bench_services(monitors: int) -> Any:
    """100 services over the seeded monitors: one per team tag, the rest by name, 10 each."""
    from shiptrack_tui.core.services import ServiceIndex, ServiceSpec

    names = [monitor_name(i) for i in range(monitors)]
    specs = [ServiceSpec(f"team-{k}", tags=(f"team-{k}",)) for k in range(TEAMS)]
    specs += [ServiceSpec(f"service-{j}", monitors=tuple(names[j * 10:(j + 1) * 10]))
              for j in range(100 - TEAMS) if names[j * 10:(j + 1) * 10]]
    return ServiceIndex(specs, {name: (f"team-{i % TEAMS}",) for i, name in enumerate(names)})


def _latency(index: int, k: int) -> float:
    base = 20.0 + 7.0 * (index % 9)
    return round(base + 6.0 * math.sin(k / 3.0) + (k % 5), 1)


def seed_dashboard(db_path: Path, monitors: int, end: float) -> dict[str, Any]:
    """`monitors` monitors, each with HISTORY_CHECKS checks ending at `end`, every 50th one down,
    written as the engine would: results folded through `step`, stored by `Store.commit_batch`."""
    from shiptrack_tui.core.incidents import step
    from shiptrack_tui.core.model import CheckResult, MonitorSpec, MonitorState, Outcome, Policy
    from shiptrack_tui.storage.pipeline import PipelineWrite
    from shiptrack_tui.storage.store import Store

    started = time.perf_counter()
    policy = Policy(failure_threshold=3, recovery_threshold=2)
    outcomes = {"u": Outcome.UP, "d": Outcome.DEGRADED, "x": Outcome.DOWN}
    store = Store.open(db_path)
    try:
        specs = [MonitorSpec(monitor_name(i), f"https://{monitor_name(i)}.example.test/health",
                             interval=HISTORY_INTERVAL, tags=(f"team-{i % TEAMS}",)) for i in range(monitors)]
        store.sync_monitors(specs, end - 86400)
        writes: list[PipelineWrite] = []
        checks = 0
        for i in range(monitors):
            pattern = PATTERNS[(2 + i % 2) if i % 50 == 0 else i % 2]
            state = MonitorState()
            name = monitor_name(i)
            for k, char in enumerate(pattern):
                outcome = outcomes[char]
                down = outcome is Outcome.DOWN
                result = CheckResult(monitor=name, at=end - (len(pattern) - k) * HISTORY_INTERVAL,
                                     outcome=outcome, latency_ms=None if down else _latency(i, k),
                                     status_code=503 if down else 200,
                                     reason="HTTP 503 (expected 200-399)" if down else None)
                state, events = step(state, result, policy)
                writes.append(PipelineWrite(name, state, result=result, events=tuple(events)))
                checks += 1
            if len(writes) >= 2000:
                store.commit_batch(writes)
                writes = []
        store.commit_batch(writes)
    finally:
        store.close()
    checkpoint_truncate(db_path)
    return {"seconds": time.perf_counter() - started, "monitors": monitors, "checks": checks,
            "down_monitors": len(range(0, monitors, 50)), "db_bytes": db_path.stat().st_size}


# -- child processes -----------------------------------------------------------------------------
def writer_main(db: str, rate: float, parent: int) -> None:
    """The "daemon": commits `rate` checks/s round-robin over every monitor, a batch every 0.1 s."""
    from shiptrack_tui.core.incidents import step
    from shiptrack_tui.core.model import CheckResult, Outcome, Policy
    from shiptrack_tui.storage.pipeline import PipelineWrite
    from shiptrack_tui.storage.store import Store

    store = Store.open(Path(db))
    states = store.load_states()
    names = sorted(states)
    policy = Policy(failure_threshold=3, recovery_threshold=2)
    rng = random.Random(7)
    i, carry = 0, 0.0
    print("ready", flush=True)
    while os.getppid() == parent:  # the benchmark died: stop too
        carry += rate * 0.1
        n = int(carry)
        carry -= n
        now = time.time()
        writes = []
        for _ in range(n):
            name = names[i % len(names)]
            i += 1
            down = rng.random() < 0.01
            result = CheckResult(monitor=name, at=now, outcome=Outcome.DOWN if down else Outcome.UP,
                                 latency_ms=None if down else rng.uniform(5, 80),
                                 status_code=503 if down else 200, reason="HTTP 503" if down else None)
            states[name], events = step(states[name], result, policy)
            writes.append(PipelineWrite(name, states[name], result=result, events=tuple(events)))
        store.commit_batch(writes)
        time.sleep(max(0.0, 0.1 - (time.time() - now)))
    store.close()


def app_main(db: str, stamp_fd: int, attached_pid: int) -> None:
    """The real dashboard in this pty, reporting on `stamp_fd` each frame that follows a cursor move:
    "q <t>" when Textual queued it, "f <t>" when its output thread flushed it to the pty."""
    from textual.drivers import _writer_thread
    from textual.drivers.linux_driver import LinuxDriver

    from shiptrack_tui.tui import ShipTrackApp
    from shiptrack_tui.tui.widgets.monitor_table import MonitorTable

    moved: list[float] = []
    pending: set[int] = set()

    def stamp(kind: str) -> None:
        os.write(stamp_fd, f"{kind} {time.perf_counter()}\n".encode())

    original_watch = MonitorTable.watch_cursor_coordinate

    def watch(self: MonitorTable, old: Any, new: Any) -> Any:
        moved.append(time.perf_counter())
        return original_watch(self, old, new)

    MonitorTable.watch_cursor_coordinate = watch  # type: ignore[method-assign]

    original_write = LinuxDriver.write

    def write(self: LinuxDriver, data: str) -> None:
        if moved and data:
            moved.clear()
            pending.add(id(data))  # the queue holds `data` until flushed: its id stays unique
            stamp("q")
        original_write(self, data)

    LinuxDriver.write = write  # type: ignore[method-assign]

    class StampingFile:
        """The output thread's file: flushes and stamps right after writing a marked frame."""

        def __init__(self, file: Any) -> None:
            self._file = file

        def write(self, text: str) -> int:
            written: int = self._file.write(text)
            if id(text) in pending:
                pending.discard(id(text))
                self._file.flush()
                stamp("f")
            return written

        def flush(self) -> None:
            self._file.flush()

        def fileno(self) -> int:
            return int(self._file.fileno())

        def __getattr__(self, name: str) -> Any:
            return getattr(self._file, name)

    original_init = _writer_thread.WriterThread.__init__

    def init(self: _writer_thread.WriterThread, file: Any) -> None:
        original_init(self, StampingFile(file))

    _writer_thread.WriterThread.__init__ = init  # type: ignore[method-assign]
    with contextlib.closing(sqlite3.connect(db)) as conn:
        monitors = conn.execute("SELECT COUNT(*) FROM monitor").fetchone()[0]
    ShipTrackApp(Path(db), attached_pid=attached_pid, services=bench_services(monitors)).run()


# -- the driver side -----------------------------------------------------------------------------
@dataclass
class Phase:
    label: str
    flushed_ms: list[float] = field(default_factory=list)
    queued_ms: list[float] = field(default_factory=list)
    missed: int = 0
    ready_s: float | None = None


def _percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def summary(values: Sequence[float]) -> dict[str, Any]:
    return {"n": len(values), "median_ms": median(values), "p90_ms": _percentile(values, 0.90),
            "p95_ms": _percentile(values, 0.95), "p99_ms": _percentile(values, 0.99),
            "max_ms": max(values) if values else None}


def _kill(pid: int) -> None:
    """SIGTERM, then SIGKILL after 2 s; reap."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        try:
            done, _status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return
        if done:
            return
        time.sleep(0.02)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


@contextlib.contextmanager
def writer_process(db_path: Path, rate: float) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "shiptrack_tui.bench.keys", "writer", str(db_path), str(rate),
         str(os.getpid())],
        stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        assert process.stdout is not None
        if process.stdout.readline().strip() != b"ready":
            raise RuntimeError("the writer process did not start")
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=3)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


class AppInPty:
    """The dashboard in a fresh pty; `press` writes a key and waits for the frame that shows it."""

    def __init__(self, db_path: Path, attached_pid: int) -> None:
        self.stamp_read, stamp_write = os.pipe()
        self._buffer = b""
        self.tail = b""  # the last output, for the error message when the app dies
        pid, fd = pty.fork()
        if pid == 0:  # the child: exec the app with the pipe's write end
            try:
                os.close(self.stamp_read)
                os.set_inheritable(stamp_write, True)
                os.environ["TERM"] = "xterm-256color"
                os.environ.pop("TEXTUAL", None)
                os.execv(sys.executable, [sys.executable, "-m", "shiptrack_tui.bench.keys", "app",
                                          str(db_path), str(stamp_write), str(attached_pid)])
            finally:
                os._exit(127)
        os.close(stamp_write)
        self.pid, self.fd = pid, fd
        columns, rows = SIZE
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self.fd, b"q")
        end = time.monotonic() + 1.5
        while time.monotonic() < end:
            with contextlib.suppress(RuntimeError):
                self.pump(0.05)
            try:
                done, _status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                break
            if done:
                break
        _kill(self.pid)
        for fd in (self.fd, self.stamp_read):
            with contextlib.suppress(OSError):
                os.close(fd)

    def pump(self, seconds: float) -> list[tuple[str, float]]:
        """Drain the pty (a terminal must read, or the app blocks) and collect stamps for `seconds`."""
        stamps: list[tuple[str, float]] = []
        end = time.perf_counter() + seconds
        while True:
            timeout = max(0.0, min(0.01, end - time.perf_counter()))
            readable, _, _ = select.select([self.fd, self.stamp_read], [], [], timeout)
            if self.fd in readable:
                try:
                    self.tail = (self.tail + os.read(self.fd, 1 << 16))[-2000:]
                except OSError as error:  # EIO: the app is gone
                    raise RuntimeError(f"the app exited: {self.tail[-600:]!r}") from error
            if self.stamp_read in readable:
                chunk = os.read(self.stamp_read, 1 << 12)
                if not chunk:
                    raise RuntimeError(f"the app exited: {self.tail[-600:]!r}")
                self._buffer += chunk
                *lines, self._buffer = self._buffer.split(b"\n")
                for line in lines:
                    kind, at = line.split()
                    stamps.append((kind.decode(), float(at)))
            if time.perf_counter() >= end:
                return stamps

    def press(self, key: bytes) -> tuple[float, float] | None:
        """(queued ms, flushed ms) from writing `key` to its frame; None after KEY_TIMEOUT_S."""
        self.pump(0.0)  # stamps of anything before this press are not ours
        queued: float | None = None
        started = time.perf_counter()
        os.write(self.fd, key)
        while time.perf_counter() - started < KEY_TIMEOUT_S:
            for kind, at in self.pump(0.001):
                if kind == "q" and queued is None:
                    queued = at
                elif kind == "f" and queued is not None:
                    return (queued - started) * 1000, (at - started) * 1000
        return None


def run_phase(db_path: Path, label: str, attached_pid: int, presses: int, duration: float | None,
              seed: int) -> Phase:
    phase = Phase(label)
    rng = random.Random(seed)
    app = AppInPty(db_path, attached_pid)
    try:
        started = time.perf_counter()
        # Ready: the table exists and a press moves its cursor. Then a few presses and a pause.
        while app.press(b"j") is None:
            if time.perf_counter() - started > READY_TIMEOUT_S:
                raise RuntimeError(f"{label}: the dashboard never answered a key")
        phase.ready_s = time.perf_counter() - started
        for i in range(WARMUP_PRESSES - 1):
            app.press(b"k" if i % 2 == 0 else b"j")
            app.pump(0.1)
        app.pump(SETTLE_S)
        measuring = time.perf_counter()
        n = 0
        while (n < presses) if duration is None else (time.perf_counter() - measuring < duration):
            key = b"j" if (n // 25) % 2 == 0 else b"k"
            got = app.press(key)
            if got is None:
                phase.missed += 1
                phase.flushed_ms.append(KEY_TIMEOUT_S * 1000)
                phase.queued_ms.append(KEY_TIMEOUT_S * 1000)
            else:
                phase.queued_ms.append(got[0])
                phase.flushed_ms.append(got[1])
            n += 1
            app.pump(rng.uniform(*PAUSE_RANGE_S))
    finally:
        app.close()
    return phase


def _phase_report(phase: Phase) -> dict[str, Any]:
    return {**summary(phase.flushed_ms), "queued": summary(phase.queued_ms), "missed": phase.missed,
            "app_ready_s": phase.ready_s}


def run(*, monitors: int, interval: float, presses: int, duration: float | None,
        workdir: Path) -> dict[str, Any]:
    started = time.perf_counter()
    db_path = workdir / "keys.db"
    seeded = seed_dashboard(db_path, monitors, time.time())
    rate = monitors / interval
    baseline = run_phase(db_path, "idle", os.getpid(), presses, duration, seed=1)
    with writer_process(db_path, rate) as writer:
        live = run_phase(db_path, "live", writer.pid, presses, duration, seed=2)
        writer_alive = writer.poll() is None
    live_report, base_report = _phase_report(live), _phase_report(baseline)
    live_median, base_median = live_report["median_ms"], base_report["median_ms"]

    def meets(value: float | None) -> bool:
        return value is not None and value < TARGET_MS

    return {
        "scenario": "keys",
        "params": {"monitors": monitors, "interval_s": interval, "writer_checks_per_s": rate,
                   "presses": presses if duration is None else None, "duration_s": duration,
                   "terminal_size": list(SIZE), "pause_between_keys_s": list(PAUSE_RANGE_S),
                   "history_checks_per_monitor": HISTORY_CHECKS},
        "seeding": seeded,
        "figures": {**live_report, "writer_alive_at_end": writer_alive},
        "baseline": {"what": "the same presses on a fresh app with no writer running", **base_report},
        "ratio": ratio(live_median, base_median),
        "ratios": {key: ratio(live_report[key], base_report[key])
                   for key in ("median_ms", "p90_ms", "p95_ms", "p99_ms", "max_ms")},
        "target": {"key_to_frame_ms": TARGET_MS},
        "pass": {
            "median_ms": meets(live_median),
            "p95_ms": meets(live_report["p95_ms"]),
            "p99_ms": meets(live_report["p99_ms"]),
            "baseline_median_ms": meets(base_median),
            "baseline_p99_ms": meets(base_report["p99_ms"]),
            "no_missed_keys": live.missed == 0 and baseline.missed == 0,
        },
        "notes": [
            "latency: key bytes written to the pty -> the first frame after the cursor moved flushed to the "
            "pty by Textual's output thread (figures); 'queued' is when the app handed that frame to the "
            "output thread (the earlier /tmp/lat scripts' definition). A terminal's own drawing is not "
            "included",
            f"a press with no frame in {KEY_TIMEOUT_S:g} s counts as {KEY_TIMEOUT_S * 1000:g} ms "
            "and as missed",
            "percentiles are nearest-rank; the baseline phase runs first on the freshly seeded database",
            "the writer commits through Store.commit_batch every 0.1 s, not through the engine's Writer "
            "thread",
        ],
        "elapsed_s": time.perf_counter() - started,
    }


def _child(argv: list[str]) -> None:
    role, db, *rest = argv
    if role == "writer":
        writer_main(db, float(rest[0]), int(rest[1]))
    elif role == "app":
        app_main(db, int(rest[0]), int(rest[1]))
    else:
        raise SystemExit(f"unknown role {role!r}")


if __name__ == "__main__":
    _child(sys.argv[1:])
