"""The loopback targets in a child process, so their CPU is never charged to the engine.

`python -m shiptrack_tui.demo --port 0` prints its base URL on the first line of stdout; we read
it, then keep a psutil handle on the child to report what serving cost (a target pinned near 100 %
of a core means the target, not the engine, set the pace).
"""

from __future__ import annotations

import selectors
import subprocess
import sys
from typing import Self

import psutil


class TargetProcess:
    """`with TargetProcess() as targets:` serves `targets.base_url` until the block ends."""

    def __init__(self, start_timeout: float = 20.0) -> None:
        self.start_timeout = start_timeout
        self.base_url = ""
        self._proc: subprocess.Popen[str] | None = None
        self._ps: psutil.Process | None = None

    def start(self) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "shiptrack_tui.demo", "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        assert self._proc.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self._proc.stdout, selectors.EVENT_READ)
            if not selector.select(self.start_timeout):
                self.stop()
                raise RuntimeError(f"demo targets did not start within {self.start_timeout:g} s")
        line = self._proc.stdout.readline().strip()
        if not line.startswith("http://"):
            self.stop()
            raise RuntimeError(f"demo targets printed {line!r} instead of their URL")
        self.base_url = line
        self._ps = psutil.Process(self._proc.pid)

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    def cpu_seconds(self) -> float:
        """User + system CPU the target process has used so far."""
        if self._ps is None:
            return 0.0
        times = self._ps.cpu_times()
        return float(times.user + times.system)

    def url(self, name: str) -> str:
        """A distinct target per name (`/t/{name}`)."""
        return f"{self.base_url}/t/{name}"

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        self._ps = None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        if proc.stdout is not None:
            proc.stdout.close()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

