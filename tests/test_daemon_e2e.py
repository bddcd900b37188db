"""End to end: a real daemon process against loopback targets that go down and come back."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from waiting import wait_for

from shiptrack_tui.cli import main
from shiptrack_tui.demo import DemoTargetsThread

CONFIG = """\
# A config like an operator's, comments and all.
[defaults]
interval = "1s"
timeout = "500ms"
failure_threshold = 2
recovery_threshold = 2

[[monitor]]
name = "api"
url = "{base}/t/api"
tags = ["prod"]

[[monitor]]
name = "db"
url = "{tcp}"
"""


@pytest.fixture
def workdir(tmp_path: Path, targets: DemoTargetsThread) -> Path:
    (tmp_path / "shiptrack.toml").write_text(CONFIG.format(base=targets.base_url, tcp=targets.tcp_url))
    return tmp_path


def shiptrack(workdir: Path, *args: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "shiptrack_tui", *args,
           "--config", str(workdir / "shiptrack.toml"), "--db", str(workdir / "st.db")]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


class Daemon:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.stderr_path = workdir / f"daemon-{time.monotonic_ns()}.log"
        self._stderr = self.stderr_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "shiptrack_tui", "--daemon",
             "--config", str(workdir / "shiptrack.toml"), "--db", str(workdir / "st.db")],
            stdout=subprocess.DEVNULL, stderr=self._stderr,
        )

    @property
    def log(self) -> str:
        return self.stderr_path.read_text()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(timeout)
        self._stderr.close()
        return code


@pytest.fixture
def daemon(workdir: Path) -> Iterator[Callable[[], Daemon]]:
    started: list[Daemon] = []

    def start() -> Daemon:
        started.append(Daemon(workdir))
        return started[-1]

    yield start
    for d in started:
        if d.proc.poll() is None:
            d.proc.kill()
            d.proc.wait()




def read(workdir: Path, *args: str) -> tuple[int, str, str]:
    """A reading command run in this process: the daemon under test is another process all the
    same, and polling through a new interpreter each time cost a core while every test waited."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([*args, "--config", str(workdir / "shiptrack.toml"), "--db", str(workdir / "st.db")])
    return code, out.getvalue(), err.getvalue()


def status(workdir: Path) -> dict[str, dict[str, Any]]:
    code, out, _ = read(workdir, "status", "--json")
    if code != 0:
        return {}
    return {row["name"]: row for row in json.loads(out)}


def incidents(workdir: Path) -> list[dict[str, Any]]:
    code, out, err = read(workdir, "incidents", "--json")
    assert code == 0, err
    return json.loads(out)


def iso_to_epoch(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def test_outage_opens_one_incident_at_the_first_failure_and_resolves(workdir: Path, targets, daemon) -> None:
    d = daemon()
    wait_for(lambda: status(workdir).get("api", {}).get("state") == "up", what="api up")
    assert wait_for(lambda: status(workdir).get("db", {}).get("state") == "up", what="tcp monitor up")

    went_down = time.time()
    targets.set_down("t/api")
    opened = wait_for(lambda: [i for i in incidents(workdir) if i["state"] == "open"], what="incident open")
    assert len(opened) == 1 and opened[0]["monitor"] == "api" and opened[0]["cause"] == "HTTP 503"
    started = iso_to_epoch(opened[0]["events"][0]["at"])
    assert opened[0]["events"][0]["kind"] == "opened"
    row = status(workdir)["api"]
    assert row["state"] == "down" and row["open_incident"] == opened[0]["id"]

    came_back = time.time()
    targets.set_up("t/api")
    resolved = wait_for(lambda: [i for i in incidents(workdir) if i["state"] == "resolved"], what="resolved")
    assert [i["id"] for i in incidents(workdir)] == [opened[0]["id"]]
    resolved_at = iso_to_epoch(resolved[0]["resolved_at"])
    assert came_back - 1 <= resolved_at <= came_back + 4  # two good checks at 1 s
    assert went_down - 1 <= started <= iso_to_epoch(opened[0]["opened_at"])
    assert [e["kind"] for e in resolved[0]["events"]][:1] == ["opened"]
    assert resolved[0]["events"][-1]["kind"] == "resolved"

    assert d.stop() == 0
    assert d.log.count("[OPEN] api") == 1
    assert d.log.count("[RESOLVED] api") == 1


def test_kill_9_mid_outage_continues_the_same_incident(workdir: Path, targets, daemon) -> None:
    first = daemon()
    wait_for(lambda: status(workdir).get("api", {}).get("state") == "up", what="api up")
    targets.set_down("t/api")
    opened = wait_for(lambda: [i for i in incidents(workdir) if i["state"] == "open"], what="incident open")
    first.proc.kill()
    first.proc.wait()

    second = daemon()
    time.sleep(3)  # three more failing checks in the restarted daemon
    again = incidents(workdir)
    assert [i["id"] for i in again] == [opened[0]["id"]]
    assert [e["kind"] for e in again[0]["events"]].count("opened") == 1
    assert "[OPEN] api" not in second.log

    targets.set_up("t/api")
    wait_for(lambda: incidents(workdir)[0]["state"] == "resolved", what="resolved after restart")
    assert len(incidents(workdir)) == 1
    assert second.stop() == 0


def test_second_daemon_on_the_same_database_exits_1_naming_the_pid(workdir: Path, daemon) -> None:
    first = daemon()
    wait_for(lambda: status(workdir).get("api"), what="first daemon running")
    out = shiptrack(workdir, "--daemon")
    assert out.returncode == 1
    assert f"pid {first.proc.pid}" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert first.stop() == 0


def test_ack_from_another_shell_lands_within_a_second(workdir: Path, targets, daemon) -> None:
    d = daemon()
    wait_for(lambda: status(workdir).get("api", {}).get("state") == "up", what="api up")
    targets.set_down("t/api")
    opened = wait_for(lambda: [i for i in incidents(workdir) if i["state"] == "open"], what="incident open")

    out = shiptrack(workdir, "ack", str(opened[0]["id"]), "--note", "on it, restarting the pool")
    assert out.returncode == 0, out.stderr
    assert "acknowledged" in out.stdout
    # The action lands within a second of being written (half a second more for a busy machine),
    # timed by the database's own stamps: the command's run time is mostly interpreter start-up.
    with sqlite3.connect(workdir / "st.db") as conn:
        [(written, applied)] = conn.execute("SELECT at, applied_at FROM action WHERE kind = 'ack'").fetchall()
    assert 0 <= applied - written < 1.0 + 0.5
    incident = incidents(workdir)[0]
    assert incident["state"] == "acknowledged" and incident["acknowledged_at"]
    ack = [e for e in incident["events"] if e["kind"] == "acknowledged"]
    assert ack and ack[0]["detail"] == "on it, restarting the pool"

    again = shiptrack(workdir, "ack", str(opened[0]["id"]))  # not an error: it already holds
    assert again.returncode == 0 and again.stderr == "" and "already acknowledged" in again.stdout
    assert d.stop() == 0
    assert d.log.count("[ACK] api") == 1


def test_sighup_reloads_and_an_invalid_edit_keeps_the_old_config(workdir: Path, targets, daemon) -> None:
    d = daemon()
    wait_for(lambda: status(workdir).get("api"), what="daemon running")
    config = workdir / "shiptrack.toml"
    added = f'\n[[monitor]]\nname = "web"\nurl = "{targets.base_url}/steady"\n'
    config.write_text(config.read_text() + added)
    d.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: status(workdir).get("web", {}).get("state") == "up", what="new monitor checked")

    config.write_text(config.read_text() + '\n[[monitor]]\nname = "broken"\nurl = "ftp://nope"\n')
    d.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "config not reloaded" in d.log, what="reload error logged")
    assert "shiptrack.toml:" in d.log  # the error names the file and line
    hits = targets.hits("/steady")
    wait_for(lambda: targets.hits("/steady") > hits, what="old config still checking")
    assert d.proc.poll() is None
    assert d.stop() == 0


def test_sigterm_stops_promptly_with_checks_in_flight(workdir: Path, targets, daemon) -> None:
    d = daemon()
    wait_for(lambda: status(workdir).get("api"), what="daemon running")
    targets.set_hang("t/api")  # a check is now stuck until its 500 ms deadline
    time.sleep(1.2)
    began = time.monotonic()
    assert d.stop() == 0
    assert time.monotonic() - began < 5
    assert "Traceback" not in d.log


def test_sigterm_while_starting_is_a_clean_exit(tmp_path: Path) -> None:
    """A stop asked for as soon as the daemon holds its lock (before its loop runs) is honoured:
    exit 0, no traceback, rather than the default handler killing it half-started."""
    config = tmp_path / "shiptrack.toml"
    config.write_text('[[monitor]]\nname = "api"\nurl = "http://127.0.0.1:9/"\n')
    db = tmp_path / "st.db"
    proc = subprocess.Popen([sys.executable, "-m", "shiptrack_tui", "--daemon", "--config", str(config),
                             "--db", str(db)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: (tmp_path / "st.db.lock").exists() or proc.poll() is not None, poll=0.001,
                 what="the daemon's lock")
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert b"Traceback" not in err


def test_bad_config_is_one_line_and_exit_2(workdir: Path) -> None:
    (workdir / "shiptrack.toml").write_text('[[monitor]]\nname = "api"\nurl = "http://x"\nintreval = "5s"\n')
    for args in (("--daemon",), ("check-config",)):
        out = shiptrack(workdir, *args)
        assert out.returncode == 2
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(str(workdir / "shiptrack.toml") + ":4:")
        assert "Traceback" not in out.stderr


def test_an_apprise_config_entry_apprise_cannot_use_stops_start_up(workdir: Path) -> None:
    (workdir / "apprise.txt").write_text("json://127.0.0.1:9/ok\nnosuchservice://host/s3cr3t\n")
    (workdir / "shiptrack.toml").write_text(
        '[notify]\napprise_config = "apprise.txt"\n\n[[monitor]]\nname = "api"\nurl = "http://127.0.0.1:9/"\n')
    for args in (("--daemon",), ("check-config",)):
        out = shiptrack(workdir, *args)
        assert out.returncode == 2
        (line,) = out.stderr.strip().splitlines()
        assert line.startswith(f"{workdir / 'shiptrack.toml'}:2: [notify] apprise_config")
        assert "line 2 (nosuchservice://host/***)" in line and "s3cr3t" not in out.stderr + out.stdout


def test_database_is_created_owner_only(workdir: Path, daemon) -> None:
    d = daemon()
    wait_for(lambda: status(workdir).get("api"), what="daemon running")
    wal_mode = os.stat(workdir / "st.db-wal").st_mode & 0o777  # while running, WAL mode keeps it
    assert d.stop() == 0
    for name in ("st.db", "st.db.lock"):
        assert os.stat(workdir / name).st_mode & 0o777 == 0o600, name
    assert wal_mode == 0o600


def test_a_config_edit_on_disk_is_picked_up_without_a_signal(workdir: Path, targets, daemon) -> None:
    d = daemon()
    wait_for(lambda: status(workdir).get("api"), what="daemon running")
    out = shiptrack(workdir, "monitor", "add", "--name", "web", "--url", f"{targets.base_url}/steady",
                    "--interval", "1s", "--tag", "edge")
    assert out.returncode == 0, out.stderr
    assert "# A config like an operator's, comments and all." in (workdir / "shiptrack.toml").read_text()
    wait_for(lambda: status(workdir).get("web", {}).get("state") == "up", what="added monitor checked")
    out = shiptrack(workdir, "monitor", "rm", "web", "--yes")  # it has history: rm asks first
    assert out.returncode == 0, out.stderr
    wait_for(lambda: "web" not in status(workdir), what="removed monitor gone from status")
    assert d.stop() == 0


def test_daemon_notifies_each_transition_once_in_order_through_a_receiver_outage(
    workdir: Path, targets, daemon
) -> None:
    from receiver import Receiver

    with Receiver() as rx:
        config = workdir / "shiptrack.toml"
        hook = rx.url("hook", userinfo="ops:s3cr3t-token")
        config.write_text(f'[notify]\nurls = ["{hook}"]\n\n' + config.read_text())
        d = daemon()
        wait_for(lambda: status(workdir).get("api", {}).get("state") == "up", what="api up")

        rx.down()  # the notifier is dead for the whole outage
        targets.set_down("t/api")
        opened = wait_for(lambda: [i for i in incidents(workdir) if i["state"] == "open"], what="open")
        assert shiptrack(workdir, "ack", str(opened[0]["id"]), "--note", "db failover").returncode == 0
        targets.set_up("t/api")
        wait_for(lambda: incidents(workdir)[0]["state"] == "resolved", what="resolved")
        assert rx.posts == []

        rx.up()
        posts = rx.wait_for(3, timeout=30)
        time.sleep(1.5)  # nothing more may follow
        assert [p.title for p in rx.posts] == [
            "[OPEN] api — HTTP 503", "[ACK] api — HTTP 503", rx.posts[2].title,
        ]
        assert rx.posts[2].title.startswith("[RESOLVED] api — down for ")
        assert [p.type for p in posts] == ["failure", "info", "success"]
        kinds = [e["kind"] for e in incidents(workdir)[0]["events"]]
        assert kinds.count("notified") == 3
        assert d.stop() == 0
        assert "s3cr3t-token" not in d.log
        assert "s3cr3t-token" not in json.dumps(incidents(workdir))


def test_demo_daemon_is_visible_to_status_and_incidents_in_another_shell(tmp_path: Path) -> None:
    """The README's first steps: no config, no --db, `--demo --daemon` here, `status` there."""

    def plain(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "shiptrack_tui", *args], capture_output=True,
                              text=True, timeout=20, cwd=tmp_path)

    demo = subprocess.Popen([sys.executable, "-m", "shiptrack_tui", "--demo", "--daemon"], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        def demo_rows() -> list[dict[str, Any]]:
            out = plain("status", "--json")
            rows = json.loads(out.stdout) if out.returncode == 0 else []
            return rows if rows and all(r["state"] != "unknown" for r in rows) else []

        rows = wait_for(demo_rows, what="demo monitors checked", poll=0.25)  # each poll is a new process
        assert {r["name"] for r in rows} == {"steady", "slow", "flaky", "outage", "tcp"}
        out = plain("incidents", "--json")
        assert out.returncode == 0 and isinstance(json.loads(out.stdout), list)
    finally:
        demo.terminate()
        assert demo.wait(10) == 0
