"""Plain `shiptrack` with no config file: guidance (exit 2), or the one engine already running."""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

from shiptrack_tui.config import default_db_path
from shiptrack_tui.lock import running_engine_pid


def test_no_config_and_no_engine_says_what_to_do_and_exits_2() -> None:
    out = subprocess.run([sys.executable, "-m", "shiptrack_tui"], capture_output=True, text=True,
                         stdin=subprocess.DEVNULL, timeout=20)
    assert out.returncode == 2
    assert out.stderr.startswith("No config file at ") and "nothing to watch yet" in out.stderr
    for hint in ("shiptrack --demo", "shiptrack monitor add --name", "cp config/example.toml"):
        assert hint in out.stderr
    assert "Fix the lines" not in out.stderr + out.stdout and "Traceback" not in out.stderr
    assert len(out.stderr.splitlines()) <= 4


ESCAPES = re.compile(rb"\x1b\[[0-9;?<>=$]*[a-zA-Z~]")


def _read_until(fd: int, wanted: re.Pattern[str], seconds: float) -> str:
    """Drain the pty (the app blocks if nobody reads) until `wanted` matches the text drawn,
    escape sequences left out, or time runs out."""
    seen = b""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        readable, _, _ = select.select([fd], [], [], 0.1)
        if readable:
            try:
                seen += os.read(fd, 1 << 16)
            except OSError:  # EIO: the app exited
                break
            if wanted.search(ESCAPES.sub(b"", seen).decode(errors="replace")):
                break
    return ESCAPES.sub(b"", seen).decode(errors="replace")


def test_no_config_with_the_demo_daemon_running_attaches_to_it(tmp_path: Path) -> None:
    demo_db = default_db_path(None).with_name("demo.db")  # in the test's own HOME (conftest)
    log = tmp_path / "daemon.log"  # shown if it does not stop: what it was still doing
    with log.open("w") as err:
        daemon = subprocess.Popen([sys.executable, "-m", "shiptrack_tui", "--demo", "--daemon"],
                                  stdout=subprocess.DEVNULL, stderr=err)
    child = None
    try:
        deadline = time.monotonic() + 15
        while running_engine_pid(demo_db) != daemon.pid and time.monotonic() < deadline:
            time.sleep(0.05)
        assert running_engine_pid(demo_db) == daemon.pid, "the demo daemon did not start"
        child, fd = pty.fork()
        if child == 0:  # the dashboard, as an operator types it: no arguments, no config
            try:
                os.environ["TERM"] = "xterm-256color"
                fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
                os.execv(sys.executable, [sys.executable, "-m", "shiptrack_tui"])
            finally:
                os._exit(127)
        # The header: "attached to daemon (pid N)", or "daemon N" where the terminal is narrower.
        attached = re.compile(rf"attached to daemon \(pid {daemon.pid}\)|│ daemon {daemon.pid} ")
        screen = _read_until(fd, attached, 20)
        assert attached.search(screen), screen[-2000:]
        os.write(fd, b"q")
        _read_until(fd, re.compile("^never$"), 5)  # drain until it exits
        _, status = os.waitpid(child, 0)
        child = None
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        if child is not None:
            with contextlib.suppress(OSError):
                os.kill(child, 9)
                os.waitpid(child, 0)
        daemon.terminate()
        try:
            code = daemon.wait(30)  # it finishes in-flight checks first: slow on a loaded machine
        except subprocess.TimeoutExpired:
            daemon.kill()
            tail = log.read_text()[-3000:]
            raise AssertionError(f"the demo daemon did not stop within 30 s:\n{tail}") from None
        assert code == 0, log.read_text()[-3000:]
