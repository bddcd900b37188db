"""Push monitors end to end in one process: a real engine on its thread, the HTTP server beside it
as the daemon composes them, real loopback HTTP, a real SQLite file and real Apprise delivery."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from receiver import Receiver
from waiting import wait_for

from shiptrack_tui.cli import main
from shiptrack_tui.config import Config, NotifySettings
from shiptrack_tui.config.settings import HttpSettings
from shiptrack_tui.core.model import MonitorSpec, MonitorState, MonitorStatus, Outcome
from shiptrack_tui.engine import Engine, EngineThread
from shiptrack_tui.storage import Store
from shiptrack_tui.web import bind, start_http

API_TOKEN = "api-token-for-push-tests"
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


def job(name: str = "job", **changes: Any) -> MonitorSpec:
    fields: dict[str, Any] = {"name": name, "url": "push", "push": True, "interval": 60.0, "grace": 60.0,
                              "failure_threshold": 1, "recovery_threshold": 1}
    fields.update(changes)
    return MonitorSpec(**fields)


class PushRig:
    """An engine with push monitors and its HTTP server; `start()` runs them, `stop()` ends both."""

    def __init__(self, tmp_path: Path, *monitors: MonitorSpec, notify: NotifySettings | None = None) -> None:
        self.db = tmp_path / "push.db"
        self.http = HttpSettings(host="127.0.0.1", port=0, token=API_TOKEN, token_source="test")
        self.config = Config(path=tmp_path / "none.toml", monitors=monitors,
                             notify=notify or NotifySettings(), http=self.http)
        self.store = Store.open(self.db)
        self.client: httpx.Client | None = None

    def start(self) -> PushRig:
        self.engine = Engine(self.config, self.store)
        self.thread = EngineThread(self.engine)
        self.thread.start()
        self.server = start_http(bind("127.0.0.1", 0), self.http, self.db, config=lambda: self.engine.config,
                                 vitals=self.engine.vitals, wake=self.engine.wake)
        self.client = httpx.Client(base_url=self.server.url, timeout=10)
        pushed = {spec.name for spec in self.config.monitors if spec.push}
        wait_for(lambda: self.get("/health/ready").status_code == 200, what="the engine ready")
        wait_for(lambda: pushed <= set(self.store.push_tokens()), what="push tokens")
        return self

    def stop(self) -> None:
        if self.client is not None:
            self.client.close()
            self.thread.stop()
            self.server.stop()
            self.client = None

    def close(self) -> None:
        self.stop()
        self.store.close()

    def token(self, name: str = "job") -> str:
        token = self.store.push_token(name)
        assert token is not None
        return token

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        assert self.client is not None
        return self.client.get(path, **kwargs)

    def ping(self, suffix: str = "", name: str = "job", method: str = "GET", **kwargs: Any) -> httpx.Response:
        assert self.client is not None
        return self.client.request(method, f"/push/{self.token(name)}{suffix}", **kwargs)

    def state(self, name: str = "job") -> MonitorState:
        return self.store.load_states()[name]


@pytest.fixture
def rigs(tmp_path: Path) -> Iterator[list[PushRig]]:
    made: list[PushRig] = []
    yield made
    for rig in made:
        rig.close()


def test_a_missed_ping_opens_an_incident_and_a_ping_resolves_it(tmp_path: Path, rigs: list[PushRig]) -> None:
    with Receiver() as rx:
        rig = PushRig(tmp_path, job(interval=1.0, grace=1.0), notify=NotifySettings(urls=(rx.url(),)))
        rigs.append(rig)
        rig.start()
        opened = rx.wait_for(1)[0]
        assert opened.title.startswith("[OPEN] job") and opened.type == "failure"
        assert "no ping for 2s; expected every 1s" in opened.title + str(opened.payload["message"])
        [incident] = rig.store.incidents(open_only=True)
        assert incident.cause == "no ping for 2s; expected every 1s"
        assert rig.ping().json() == {"ok": True}
        resolved = rx.wait_for(2)[1]
        assert resolved.title.startswith("[RESOLVED] job") and resolved.type == "success"
        assert rig.store.incident(incident.id).resolved_at is not None  # type: ignore[union-attr]


def test_a_failure_with_a_message_is_down_with_that_reason(tmp_path: Path, rigs: list[PushRig]) -> None:
    rig = PushRig(tmp_path, job())
    rigs.append(rig)
    rig.start()
    assert rig.ping("/fail", method="POST", content=b"backup failed:\n  disk full\n").status_code == 200
    state = wait_for(lambda: (s := rig.state()).status is MonitorStatus.DOWN and s, what="down")
    assert state.last_error == "backup failed: disk full"
    [incident] = rig.store.incidents(open_only=True)
    assert incident.cause == "backup failed: disk full"
    assert rig.ping(params={"msg": "fine again"}).status_code == 200
    wait_for(lambda: rig.state().status is MonitorStatus.UP, what="up again")
    assert rig.ping("/fail", params={"msg": "quota exceeded"}).status_code == 200
    wait_for(lambda: rig.state().last_error == "quota exceeded", what="the second failure's reason")


def test_a_run_is_measured_from_its_start_and_can_be_degraded(tmp_path: Path, rigs: list[PushRig]) -> None:
    rig = PushRig(tmp_path, job(degraded_after=0.5))
    rigs.append(rig)
    rig.start()
    assert rig.ping("/start").json() == {"ok": True}
    started = wait_for(lambda: rig.state().run_started_at, what="the start applied")
    assert rig.state().status is MonitorStatus.UNKNOWN and not rig.store.recent_checks("job")  # no change
    rig.ping()
    quick = wait_for(lambda: rig.store.recent_checks("job"), what="the quick run's check")[0]
    assert quick.outcome is Outcome.UP and 0 < quick.latency_ms < 500  # type: ignore[operator]
    assert rig.state().run_started_at is None
    rig.ping("/start")
    started = wait_for(lambda: rig.state().run_started_at, what="the second start")
    wait_for(lambda: time.time() > started + 0.6, what="the job running past degraded_after")
    rig.ping()
    slow = wait_for(lambda: len(c := rig.store.recent_checks("job")) == 2 and c[0], what="the slow run")
    assert slow.outcome is Outcome.DEGRADED and slow.latency_ms > 600  # type: ignore[operator]
    assert slow.reason is not None
    assert slow.reason.startswith("slow run: ") and slow.reason.endswith(" over 0.5s")
    assert rig.state().status is MonitorStatus.DEGRADED


def test_pings_are_rate_limited_per_monitor(tmp_path: Path, rigs: list[PushRig]) -> None:
    rig = PushRig(tmp_path, job(), job("other"))
    rigs.append(rig)
    rig.start()
    # The bucket holds 20 and refills 10 a second: ping until refused (a slow machine refills a few
    # meanwhile), then every ping accepted is the burst plus at most what the elapsed time refilled.
    began = time.monotonic()
    answers = []
    while 429 not in answers and len(answers) < 200:
        answers.append(rig.ping().status_code)
    elapsed = time.monotonic() - began
    assert answers[:20] == [200] * 20 and answers[-1] == 429
    assert answers.count(200) <= 20 + 10 * elapsed + 1
    refused = rig.ping()
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert "too many pings" in refused.json()["error"]
    assert rig.ping(name="other").status_code == 200  # another monitor has its own bucket
    accepted = answers.count(200)
    wait_for(lambda: len(rig.store.recent_checks("job", limit=100)) == accepted, what="every accepted ping")


def test_wrong_tokens_paths_and_methods_are_json_errors_without_the_token(
        tmp_path: Path, rigs: list[PushRig]) -> None:
    rig = PushRig(tmp_path, job())
    rigs.append(rig)
    rig.start()
    token = rig.token()
    unknown = rig.get("/push/not-a-token-of-anyone-here")
    assert unknown.status_code == 404 and "no push monitor has this token" in unknown.json()["error"]
    for method, path, status in [("PUT", f"/push/{token}", 405), ("DELETE", f"/push/{token}/fail", 405),
                                 ("GET", f"/push/{token}/later", 404), ("GET", "/push/", 404)]:
        assert rig.client is not None
        answer = rig.client.request(method, path)
        assert answer.status_code == status, (method, path)
        assert answer.headers["content-type"] == "application/json" and token not in answer.text
    assert rig.ping(method="HEAD").status_code == 200


def test_the_token_never_reaches_a_log_or_another_response(
        tmp_path: Path, rigs: list[PushRig], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # the access log too
    rig = PushRig(tmp_path, job(), job("fixed", push_token="configured-token-0123456789"))
    rigs.append(rig)
    rig.start()
    tokens = [rig.token(), rig.token("fixed")]
    assert tokens[1] == "configured-token-0123456789"
    for name in ("job", "fixed"):
        rig.ping("/start", name=name)
        rig.ping("/fail", name=name, params={"msg": "boom"})
        rig.ping(name=name, method="POST", content=b"done")
    wait_for(lambda: len(rig.store.recent_checks("fixed")) == 2, what="the pings applied")
    answers = [rig.get(path, headers=AUTH).text for path in
               ("/api/v1/monitors", "/api/v1/monitors/job", "/api/v1/monitors/job/checks",
                "/api/v1/incidents", "/metrics", "/openapi.json", "/health/ready")]
    # Every record but the test client's own (httpx logs the URLs it requests, as a cron job's would).
    records = [f"{r.name} {r.getMessage()}" for r in caplog.records
               if not r.name.startswith(("httpx", "httpcore"))]
    assert any("/push/…" in line for line in records)  # the access log saw the pings, cut
    for token in tokens:
        assert not [text for text in answers if token in text]
        assert not [line for line in records if token in line]


def test_pings_and_starts_survive_a_restart_and_deadlines_count_from_the_last_check(
        tmp_path: Path, rigs: list[PushRig]) -> None:
    rig = PushRig(tmp_path, job(), job("stale", interval=3600.0, grace=600.0))
    rigs.append(rig)
    rig.start()
    rig.ping("/start")
    wait_for(lambda: rig.state().run_started_at, what="the start applied")
    rig.stop()
    # While no engine runs: pings received by another process wait in the database; a monitor's
    # last check, two hours old, is what its next deadline counts from.
    rig.store.add_pings([("job", time.time(), "success", None)])
    old = time.time() - 7200
    rig.store._conn().execute("UPDATE monitor SET last_check_at = ?, status = 'up' WHERE name = 'stale'",
                              (old,))
    rig.start()
    done = wait_for(lambda: rig.store.recent_checks("job"), what="the stored ping applied")[0]
    assert done.outcome is Outcome.UP and done.latency_ms is not None  # measured from the start before
    assert rig.store.pending_pings() == []
    missed = wait_for(lambda: rig.store.recent_checks("stale"), what="the stale monitor's miss", timeout=5)[0]
    assert missed.reason == "no ping for 1h 10m; expected every 1h"


def test_monitor_show_prints_the_token_and_urls(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "shiptrack.toml"
    config.write_text('[http]\nlisten = "127.0.0.1:8080"\n\n'
                      '[[monitor]]\nname = "nightly-backup"\npush = true\ninterval = "1d"\ngrace = "1h"\n')
    where = ["--config", str(config), "--db", str(tmp_path / "show.db")]
    assert main(["monitor", "show", "nightly-backup", *where]) == 0
    out = capsys.readouterr().out
    store = Store.open(tmp_path / "show.db")
    token = store.push_token("nightly-backup")
    store.close()
    assert token is not None and f"push token  {token}" in out
    assert f"success     http://127.0.0.1:8080/push/{token}\n" in out
    assert f"failure     http://127.0.0.1:8080/push/{token}/fail\n" in out
    assert "schedule    every 1d, grace 1h" in out
    assert main(["monitor", "show", "nightly-backup", *where]) == 0
    assert f"push token  {token}" in capsys.readouterr().out  # the same one, stored
    assert main(["monitor", "show", "nope", *where]) == 2
    assert "there is no monitor named 'nope'" in capsys.readouterr().err


def test_the_listening_socket_lets_asyncio_turn_nagle_off() -> None:
    """asyncio sets TCP_NODELAY on accepted connections only when the listening socket's protocol
    is IPPROTO_TCP; without it every answer on a kept-alive connection (a cron job's retries, wrk)
    waited ~40 ms for the client's delayed ACK between its two writes."""
    sock = bind("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP and sock.type == socket.SOCK_STREAM
    finally:
        sock.close()


def test_check_now_on_a_push_monitor_is_409_with_the_reason(tmp_path: Path, rigs: list[PushRig]) -> None:
    rig = PushRig(tmp_path, job())
    rigs.append(rig)
    rig.start()
    assert rig.client is not None
    refused = rig.client.post("/api/v1/monitors/job/check", headers=AUTH)
    assert refused.status_code == 409, refused.text
    assert "push monitor" in refused.json()["error"] and "nothing to check now" in refused.json()["error"]
