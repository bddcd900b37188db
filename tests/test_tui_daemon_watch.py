"""DaemonWatch: what an attached dashboard says as daemons stop, hang and start (table of steps)."""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path

from shiptrack_tui.core.model import ActionKind
from shiptrack_tui.heartbeat import EngineHealth, Heartbeat
from shiptrack_tui.lock import EngineLock, lock_path_for, running_engine_pid
from shiptrack_tui.tui.daemon_watch import NO_ENGINE, DaemonWatch, queued_summary


def beat(pid: int, at: float) -> Heartbeat:
    return Heartbeat(pid=pid, at=at, monitors=1, up=1, down=0, queue=0)


def test_stop_hang_and_restart_as_the_header_tells_them() -> None:
    watch = DaemonWatch(42, now=100.0)
    steps = [
        # (health, now) -> (mode, problem, live, followed)
        (EngineHealth(42, beat(42, 101.0), 102.0), 102.0, ("attached to daemon (pid 42)", "", True, False)),
        (None, 281.0, ("daemon stopped 3m ago", NO_ENGINE, False, False)),  # since its last heartbeat
        (None, 342.0, ("daemon stopped 4m 1s ago", NO_ENGINE, False, False)),
        (EngineHealth(77, None, 350.0), 350.0, ("attached to daemon (pid 77)", "", True, True)),
        (EngineHealth(77, beat(77, 351.0), 352.0), 352.0, ("attached to daemon (pid 77)", "", True, False)),
    ]
    for health, now, expected in steps:
        view = watch.observe(health, now)
        assert (view.mode, view.problem, view.live, view.followed) == expected, (health, now)
    hung = watch.observe(EngineHealth(77, beat(77, 351.0), 400.0), 400.0)
    assert not hung.live and "has not written a heartbeat for 49s" in hung.problem


def test_a_dashboard_that_never_saw_a_daemon_follows_the_first_one() -> None:
    watch = DaemonWatch(None, now=10.0)
    assert watch.observe(None, 15.0).mode == "no daemon running"
    view = watch.observe(EngineHealth(9, None, 20.0), 20.0)
    assert view.followed and view.mode == "attached to daemon (pid 9)"


def test_queued_actions_say_what_waits() -> None:
    assert queued_summary(ActionKind.CHECK_NOW, "api", None) == (
        "No engine is running: the check of api is queued; it applies when the daemon or `shiptrack` starts.")
    assert "the acknowledgement of incident #7 is queued" in queued_summary(ActionKind.ACK, "api", 7)


def test_a_daemon_starting_while_a_dashboard_probes_the_lock_still_gets_it(tmp_path: Path) -> None:
    """An attached dashboard probes the lock every second with a shared flock; a daemon that starts
    at that very moment must not take the probe for a running engine."""
    db = tmp_path / "st.db"
    lock = EngineLock(db)
    lock.acquire()
    lock.release()  # the file exists, as after any earlier run
    probe = os.open(lock_path_for(db), os.O_RDONLY)
    fcntl.flock(probe, fcntl.LOCK_SH | fcntl.LOCK_NB)  # the probe, caught in the act
    timer = threading.Timer(0.03, lambda: os.close(probe))  # ...and over a moment later
    timer.start()
    try:
        with EngineLock(db):
            assert running_engine_pid(db) == os.getpid()
    finally:
        timer.join()
    assert running_engine_pid(db) is None
