"""The dashboard driving a real engine: in-process, and attached to a real daemon process."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

from loopback_http import LoopbackTarget
from test_tui_seed import settled, wait_until

from shiptrack_tui.config import Config, operator
from shiptrack_tui.core.model import IncidentState, MonitorSpec
from shiptrack_tui.demo import DemoTargetsThread
from shiptrack_tui.engine import Engine, EngineThread
from shiptrack_tui.lock import EngineLock
from shiptrack_tui.storage import Store
from shiptrack_tui.tui import ShipTrackApp
from shiptrack_tui.tui.messages import ActionWritten
from shiptrack_tui.tui.modals.note_modal import NoteModal
from shiptrack_tui.tui.widgets.status_bar import StatusBar

WIDE = (160, 40)


def incident_state(db: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT i.state, COALESCE(t.detail, '') FROM incident i "
                            "LEFT JOIN timeline t ON t.incident_id = i.id AND t.kind = 'acknowledged'"
                            ).fetchall()


def stored_checks(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT COUNT(*) FROM \"check\"").fetchone()[0]


async def test_ack_from_the_dashboard_reaches_the_in_process_engine_and_quit_flushes(
    tmp_path: Path, targets: DemoTargetsThread
) -> None:
    db = tmp_path / "live.db"
    spec = MonitorSpec(name="api", url=f"{targets.base_url}/t/api", interval=1.0, timeout=0.5,
                       failure_threshold=2, recovery_threshold=2)
    store = Store.open(db)
    engine = Engine(Config(path=tmp_path / "none.toml", monitors=(spec,)), store)
    handle = EngineThread(engine)
    app = ShipTrackApp(db, engine=handle)
    try:
        async with app.run_test(size=WIDE) as pilot:
            await settled(pilot)
            targets.set_down("t/api")
            await wait_until(pilot, lambda: bool(incident_state(db)), seconds=10)
            await wait_until(pilot, lambda: app.screen.query_one(StatusBar).counts["down"] == 1, seconds=5)
            await pilot.press("a")
            assert isinstance(app.screen, NoteModal)
            await pilot.press(*"paging the dba", "enter")
            await wait_until(pilot, lambda: incident_state(db) == [("acknowledged", "paging the dba")],
                             seconds=5)
            (acked,) = [e for e in store.incidents()[0].events if e.kind == "acknowledged"]
            assert acked.by == operator("dashboard") and acked.by.endswith(" (dashboard)")
            assert acked.text() == f"acknowledged by {acked.by}: paging the dba"
            await pilot.press("q")
            await wait_until(pilot, lambda: not handle.running, seconds=10)
        assert stored_checks(db) == engine.counters.checks  # every check the engine made was flushed
    finally:
        handle.stop()
        store.close()


async def test_dashboard_attached_to_a_daemon_acknowledges_what_the_daemon_opened(
    tmp_path: Path, targets: DemoTargetsThread
) -> None:
    config = tmp_path / "shiptrack.toml"
    config.write_text(f'[[monitor]]\nname = "api"\nurl = "{targets.base_url}/t/api"\ninterval = "1s"\n'
                      'timeout = "500ms"\nfailure_threshold = 2\n')
    db = tmp_path / "st.db"
    daemon = subprocess.Popen([sys.executable, "-m", "shiptrack_tui", "--daemon", "--config", str(config),
                               "--db", str(db)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        targets.set_down("t/api")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not (db.exists() and _has_incident(db)):
            time.sleep(0.1)
        assert _has_incident(db), "the daemon never opened the incident"

        app = ShipTrackApp(db, attached_pid=daemon.pid)
        async with app.run_test(size=WIDE) as pilot:
            await settled(pilot)
            bar = app.screen.query_one(StatusBar)
            assert f"attached to daemon (pid {daemon.pid})" in str(bar.render())
            await pilot.press("a", *"seen from the viewer", "enter")
            await wait_until(pilot, lambda: incident_state(db) == [("acknowledged", "seen from the viewer")],
                             seconds=5)
        assert [row[0] for row in incident_state(db)] == [IncidentState.ACKNOWLEDGED.value]
    finally:
        daemon.terminate()
        assert daemon.wait(10) == 0


def _has_incident(db: Path) -> bool:
    try:
        return bool(incident_state(db))
    except sqlite3.OperationalError:  # the daemon has not created its schema yet
        return False


async def test_the_header_shows_a_storage_stall_while_it_lasts(tmp_path: Path) -> None:
    db = tmp_path / "live.db"
    with LoopbackTarget() as target, EngineLock(db):  # held as launch.py holds it: an engine runs here
        spec = MonitorSpec(name="api", url=target.url("api"), interval=1.0, timeout=0.5)
        store = Store.open(db, busy_timeout=0.1)  # the engine's commits fail fast while locked
        handle = EngineThread(Engine(Config(path=tmp_path / "none.toml", monitors=(spec,)), store))
        app = ShipTrackApp(db, engine=handle)
        try:
            async with app.run_test(size=WIDE) as pilot:
                await settled(pilot)
                bar = app.screen.query_one(StatusBar)
                await wait_until(pilot, lambda: stored_checks(db) >= 1, seconds=10)
                hog = sqlite3.connect(db, isolation_level=None)
                hog.execute("BEGIN IMMEDIATE")  # another process holds the write lock
                await wait_until(pilot, lambda: "storage stalled for" in str(bar.render()), seconds=10)
                assert "database is locked" in str(bar.render()) and bar.has_class("-trouble")
                hog.execute("ROLLBACK")
                hog.close()
                await wait_until(pilot, lambda: "storage stalled" not in str(bar.render()), seconds=10)
                assert not bar.has_class("-trouble")
                await pilot.press("q")
        finally:
            handle.stop()
            store.close()


def _start_daemon(config: Path, db: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "shiptrack_tui", "--daemon", "--config", str(config),
                             "--db", str(db)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _any_check(db: Path) -> bool:
    try:
        with closing(sqlite3.connect(db)) as conn:
            return conn.execute('SELECT COUNT(*) FROM "check"').fetchone()[0] > 0
    except sqlite3.OperationalError:  # no schema yet
        return False


async def test_a_stopped_daemon_shows_in_the_header_and_a_new_one_is_followed(
    tmp_path: Path, targets: DemoTargetsThread
) -> None:
    config = tmp_path / "shiptrack.toml"
    config.write_text(f'[[monitor]]\nname = "api"\nurl = "{targets.base_url}/t/api"\ninterval = "1s"\n'
                      'timeout = "500ms"\n')
    db = tmp_path / "st.db"
    first = _start_daemon(config, db)
    second: subprocess.Popen[bytes] | None = None
    written: list[ActionWritten] = []
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not _any_check(db):
            time.sleep(0.05)
        assert _any_check(db), "the first daemon never checked"
        app = ShipTrackApp(db, attached_pid=first.pid)
        hook = lambda message: written.append(message) if isinstance(message, ActionWritten) else None  # noqa: E731
        async with app.run_test(size=WIDE, message_hook=hook) as pilot:
            await settled(pilot)
            bar = app.screen.query_one(StatusBar)
            assert f"attached to daemon (pid {first.pid})" in str(bar.render())
            first.terminate()
            assert first.wait(10) == 0
            await wait_until(pilot, lambda: "daemon stopped" in str(bar.render()), seconds=5)
            header = str(bar.render())
            assert "no engine: actions are queued" in header and f"pid {first.pid}" not in header
            assert bar.has_class("-trouble")
            await pilot.press("c")  # check now: written, but nobody applies it yet
            await wait_until(pilot, lambda: bool(written), seconds=5)
            assert written[-1].queued and "queued" in written[-1].summary
            assert "Checking" not in written[-1].summary

            started = time.time()
            second = _start_daemon(config, db)
            await wait_until(pilot, lambda: f"attached to daemon (pid {second.pid})" in str(bar.render()),
                             seconds=15)
            assert "no engine" not in str(bar.render())
            # Live again: the new daemon's checks reach the table.
            await wait_until(pilot, lambda: any(
                (s.state.last_check_at or 0) >= started for s in app.screen.overview.summaries), seconds=10)
            assert not bar.has_class("-trouble")
            await pilot.press("c")
            await wait_until(pilot, lambda: len({m.action_id for m in written}) == 2, seconds=5)
            assert not written[-1].queued and written[-1].summary == "Checking api now."
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                assert proc.wait(10) == 0
