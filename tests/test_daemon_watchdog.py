"""The daemon speaks systemd: READY=1, STATUS=, and WATCHDOG=1 only while healthy.

A unix datagram socket bound by the test stands in for systemd's NOTIFY_SOCKET (an abstract
'@name', as systemd itself uses); the daemon is the real one, in a subprocess, on loopback targets.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from waiting import wait_for

from shiptrack_tui.demo import DemoTargetsThread
from shiptrack_tui.heartbeat import heartbeat_path
from shiptrack_tui.systemd import SystemdNotifier

CONFIG = """\
[defaults]
interval = "1s"
timeout = "500ms"

[[monitor]]
name = "api"
url = "{base}/t/api"

[[monitor]]
name = "db"
url = "{tcp}"
"""


class FakeSystemd:
    """Receives notify datagrams on an abstract unix socket, with their arrival times."""

    def __init__(self) -> None:
        self.name = f"shiptrack-test-{uuid.uuid4().hex}"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(b"\0" + self.name.encode())
        self.sock.settimeout(0.2)
        self.messages: list[tuple[float, str]] = []
        self._lock = threading.Lock()
        self._running = True
        self._thread = threading.Thread(target=self._receive, daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        while self._running:
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.messages.extend((time.monotonic(), line) for line in data.decode().splitlines())

    def lines(self, prefix: str, since: float = 0.0) -> list[str]:
        with self._lock:
            return [line for at, line in self.messages if line.startswith(prefix) and at >= since]

    def last(self, prefix: str) -> float | None:
        with self._lock:
            times = [at for at, line in self.messages if line.startswith(prefix)]
        return times[-1] if times else None

    def close(self) -> None:
        self._running = False
        self._thread.join()
        self.sock.close()


@pytest.fixture
def systemd() -> Iterator[FakeSystemd]:
    fake = FakeSystemd()
    yield fake
    fake.close()


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    targets = DemoTargetsThread()
    targets.start()
    (tmp_path / "shiptrack.toml").write_text(CONFIG.format(base=targets.base_url, tcp=targets.tcp_url))
    yield tmp_path
    targets.stop()




def shiptrack(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "shiptrack_tui", *args,
           "--config", str(workdir / "shiptrack.toml"), "--db", str(workdir / "st.db")]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30)


def test_watchdog_pings_stop_while_storage_is_stalled_and_resume_after(workdir: Path,
                                                                        systemd: FakeSystemd) -> None:
    db = workdir / "st.db"
    env = {**os.environ, "NOTIFY_SOCKET": f"@{systemd.name}", "WATCHDOG_USEC": "2000000"}
    log_path = workdir / "daemon.log"
    with log_path.open("w") as stderr:
        daemon = subprocess.Popen([sys.executable, "-m", "shiptrack_tui", "--daemon",
                                   "--config", str(workdir / "shiptrack.toml"), "--db", str(db)],
                                  stdout=subprocess.DEVNULL, stderr=stderr, env=env)
    try:
        wait_for(lambda: systemd.lines("READY=1"), 20, "READY=1")
        wait_for(lambda: len(systemd.lines("WATCHDOG=1")) >= 3, 10, "watchdog pings")
        status = wait_for(lambda: systemd.lines("STATUS=2 monitors"), 10, "a STATUS= summary")[-1]
        assert "writes queued" in status and "stalled" not in status

        hog = sqlite3.connect(db, isolation_level=None)
        hog.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        stalled = wait_for(lambda: [s for s in systemd.lines("STATUS=") if "storage stalled for" in s],
                           20, "the stall in STATUS=")
        assert "writes waiting" in stalled[-1]
        # No WATCHDOG=1 for 3 s (the interval is 2 s): systemd would restart the daemon now.
        wait_for(lambda: time.monotonic() - (systemd.last("WATCHDOG=1") or 0) > 3, 15, "the pings to stop")
        assert daemon.poll() is None  # the engine itself runs on

        report = shiptrack(workdir, "status")
        assert report.returncode == 0, report.stderr
        first = report.stdout.splitlines()[0]
        assert first.startswith("⚠ storage stalled for") and "writes waiting" in first
        rows = json.loads(shiptrack(workdir, "status", "--json").stdout)
        stall = rows[0]["engine"]["storage_stall"]
        assert stall is not None and stall["seconds"] >= 3 and stall["writes_waiting"] >= 1

        hog.execute("ROLLBACK")
        hog.close()
        released = time.monotonic()
        wait_for(lambda: systemd.lines("WATCHDOG=1", since=released), 20, "the pings to resume")
        assert shiptrack(workdir, "status").stdout.startswith("  ")  # the table, no warning line
    finally:
        daemon.send_signal(signal.SIGTERM)
        code = daemon.wait(30)
    log = log_path.read_text()
    assert code == 0, log
    assert "storage stalled for" in log and "storage recovered after" in log
    assert "no more systemd watchdog pings" in log
    assert systemd.lines("STOPPING=1")
    assert not heartbeat_path(db).exists()


def test_the_notifier_sends_to_a_socket_path_and_heeds_watchdog_pid(tmp_path: Path) -> None:
    path = tmp_path / "notify.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(str(path))
    server.settimeout(5)
    notifier = SystemdNotifier({"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "30000000",
                                "WATCHDOG_PID": str(os.getpid())})
    assert notifier.enabled and notifier.watchdog_seconds == 30.0
    notifier.send("READY=1", "STATUS=1 monitors: 1 up, 0 down; 0 writes queued")
    assert server.recv(4096).decode() == "READY=1\nSTATUS=1 monitors: 1 up, 0 down; 0 writes queued"
    notifier.close()
    server.close()
    assert SystemdNotifier({"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "30000000",
                            "WATCHDOG_PID": "1"}).watchdog_seconds is None  # meant for another process
    silent = SystemdNotifier({})
    assert not silent.enabled and silent.watchdog_seconds is None
    silent.send("READY=1")  # outside systemd: nothing happens, nothing raises
