"""PostgreSQL outages (DESIGN §12, issue #14): the engine keeps checking while the server is away,
holds results in bounded memory, writes them when it is back, loses nothing and doubles nothing;
readiness says so meanwhile. And a connection lost during COMMIT is retried exactly once.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import psycopg
import pytest
from pg_proxy import PgProxy
from postgres_server import PostgresServer
from receiver import Receiver
from storage_helpers import T0, Feed, check
from waiting import wait_for

from shiptrack_tui.config import Config, NotifySettings
from shiptrack_tui.config.settings import HttpSettings
from shiptrack_tui.core.model import MonitorSpec, Outcome, TimelineKind
from shiptrack_tui.core.vitals import EngineVitals, StorageVitals
from shiptrack_tui.demo import DemoTargetsThread
from shiptrack_tui.engine import Engine, EngineThread
from shiptrack_tui.engine.liveness import Liveness
from shiptrack_tui.heartbeat import Heartbeat, StorageStall, read_heartbeat, write_heartbeat
from shiptrack_tui.notify import NotificationSender
from shiptrack_tui.storage import PipelineWrite, Store, Writer
from shiptrack_tui.storage.outage import is_transient, is_unreachable
from shiptrack_tui.web import bind, start_http
from shiptrack_tui.web.health import not_ready


@pytest.fixture
def proxied(pg_url: str, postgres_server: PostgresServer) -> Iterator[tuple[Store, PgProxy]]:
    """A store whose connections go through a proxy that can cut one after its COMMIT."""
    proxy = PgProxy(postgres_server.host, postgres_server.port)
    store = Store.open(proxy.url(pg_url))
    try:
        yield store, proxy
    finally:
        store.close()
        proxy.close()


def _count(store: Store, sql: str, *params: object) -> int:
    with store.connection_context():
        return int(store._conn().execute(sql, params).fetchone()[0])


def _opened_incident(store: Store) -> tuple[Feed, PipelineWrite]:
    """An incident opened and stored (with its OPEN outbox row), and the feed that opened it."""
    feed = Feed("api", urls=("json://127.0.0.1:9/hook",))
    writes = [feed.write(check("api", T0 + i, Outcome.DOWN)) for i in range(2)]
    store.commit_batch(writes)
    assert feed.state.incident is not None
    return feed, writes[-1]


def _note_write(feed: Feed, at: float) -> PipelineWrite:
    """A check and a note on the open incident: rows that a second apply would double."""
    write = feed.write(check("api", at, Outcome.DOWN))
    return PipelineWrite(write.monitor, write.state, result=write.result,
                         timeline_notes=((at, "looking into it"),))


def test_calls_fail_fast_while_the_server_is_down_and_reconnect_after(
        pg_url: str, postgres_server: PostgresServer) -> None:
    store = Store.open(pg_url)
    try:
        _opened_incident(store)
        assert len(store.incidents()) == 1  # this thread's connection is open, and idle
        postgres_server.restart()
        assert len(store.incidents()) == 1  # the first call after a restart already succeeds
        postgres_server.stop()
        started = time.monotonic()
        for call in (store.incidents, store.load_states, lambda: store.commit_batch([_note_write(
                Feed("api"), T0 + 20)])):
            with pytest.raises(Exception) as away:
                call()
            assert is_unreachable(away.value) and is_transient(away.value), away.value
        assert time.monotonic() - started < 5  # refused at once, not hung
        postgres_server.start()
        assert len(store.incidents()) == 1
    finally:
        if not postgres_server.running:
            postgres_server.start()
        store.close()


def _terminate_sessions(server: PostgresServer, url: str) -> None:
    with psycopg.connect(server.url(), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
                      "AND pid <> pg_backend_pid()", (url.rsplit("/", 1)[1],))


def test_a_read_only_server_after_a_failover_holds_writes_until_it_takes_them(
        pg_url: str, postgres_server: PostgresServer) -> None:
    """Failed over to a server that is still a standby (read only): writes are held and retried,
    never split up and dropped as if the database had refused them."""
    store = Store.open(pg_url)
    name = pg_url.rsplit("/", 1)[1]
    try:
        feed, _ = _opened_incident(store)
        with psycopg.connect(postgres_server.url(), autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
        _terminate_sessions(postgres_server, pg_url)
        writer = Writer(store)
        writer.submit(_note_write(feed, T0 + 10))
        writer.submit(_note_write(feed, T0 + 11))
        stall = wait_for(lambda: (found := writer.stall()) is not None and found.unreachable and found,
                         what="the writer to report the read-only server")
        assert "read-only" in (stall.error or "") and stall.waiting == 2
        with psycopg.connect(postgres_server.url(), autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = off')
        _terminate_sessions(postgres_server, pg_url)  # promoted: sessions start over
        writer.close(timeout=30)
        assert writer.dropped == 0 and writer.retries >= 1
        assert _count(store, "SELECT COUNT(*) FROM timeline WHERE kind = ?", TimelineKind.NOTE.value) == 2
    finally:
        store.close()


class _Systemd:
    """Takes the notify messages Liveness sends (what systemd's socket would get)."""

    watchdog_seconds = 0.6

    def __init__(self) -> None:
        self.sent: list[tuple[float, str]] = []

    def send(self, *assignments: str) -> None:
        self.sent.extend((time.monotonic(), line) for line in assignments)


def test_an_unreachable_server_never_stops_the_watchdog(pg_url: str, postgres_server: PostgresServer) -> None:
    """systemd restarts a daemon whose storage stalls past WatchdogSec; not for a PostgreSQL that is
    away: the restart would lose the held results and could not reach the server either."""
    store = Store.open(pg_url)
    writer = Writer(store)
    systemd = _Systemd()
    liveness = Liveness(None, systemd, lambda: [])
    liveness.attach(writer)
    try:
        postgres_server.stop()
        writer.submit(_note_write(Feed("api"), T0))
        wait_for(lambda: (stall := writer.stall()) is not None and stall.unreachable, what="the outage")
        started = time.monotonic()
        while time.monotonic() - started < 2.0:  # more than three watchdog intervals
            liveness.tick(time.monotonic(), time.time())
            time.sleep(0.05)
        stall = writer.stall()
        assert stall is not None and stall.seconds > 3 * systemd.watchdog_seconds
        pings = [at for at, line in systemd.sent if line == "WATCHDOG=1" and at > started + 1.0]
        assert pings and liveness.healthy
    finally:
        postgres_server.start()
        writer.close(timeout=30)
        store.close()


def test_the_outage_wording_on_every_surface(tmp_path: Path) -> None:
    now = 1_800_000_000.0
    stall = StorageStall(since=now - 23, error="connection refused", waiting=4812, unreachable=True,
                         backend="postgresql")
    assert stall.describe(now) == "PostgreSQL unreachable for 23s; 4,812 results held"
    beat = tmp_path / "engine.heartbeat"
    write_heartbeat(beat, Heartbeat(pid=1, at=now, monitors=2, up=1, down=1, queue=4812, stall=stall))
    read = read_heartbeat(beat)
    assert read is not None and read.stall == stall  # what `status` and the dashboard header read
    vitals = EngineVitals(at=10.0, started_at=0.0, last_tick=10.0, config_loaded=True, monitors=2, checks=9,
                          storage=StorageVitals(queued=1, stalled_seconds=61.0, stall_error="refused",
                                                unreachable=True, backend="postgresql"))
    assert not_ready(vitals) == "PostgreSQL unreachable for 1m 1s; 1 result held"
    locked = StorageVitals(queued=3, stalled_seconds=6.0, stall_error="database is locked")
    sqlite = replace(vitals, storage=locked)
    assert not_ready(sqlite) == "storage stalled for 6s: database is locked; 3 writes waiting"


def test_a_batch_whose_commit_answer_is_lost_is_applied_exactly_once(
        proxied: tuple[Store, PgProxy]) -> None:
    store, proxy = proxied
    feed, _ = _opened_incident(store)
    writer = Writer(store)
    proxy.drop_after_commit()
    writer.submit(_note_write(feed, T0 + 10))
    writer.flush(timeout=30)
    writer.close()
    assert proxy.dropped_commits == 1  # the COMMIT reached the server, its answer never came back
    assert writer.retries >= 1 and writer.replayed == 1  # retried; found already stored
    assert _count(store, "SELECT COUNT(*) FROM timeline WHERE kind = ?", TimelineKind.NOTE.value) == 1
    assert _count(store, 'SELECT COUNT(*) FROM "check"') == 3
    assert _count(store, "SELECT COUNT(*) FROM incident") == 1
    assert _count(store, "SELECT COUNT(*) FROM write_batch") == 1  # one row per writer, not per batch
    # The writer goes on with the next batch on a new connection.
    writer = Writer(store)
    writer.submit(_note_write(feed, T0 + 11))
    writer.close(timeout=30)
    assert _count(store, "SELECT COUNT(*) FROM timeline WHERE kind = ?", TimelineKind.NOTE.value) == 2


def test_without_its_mark_the_same_lost_commit_would_be_applied_twice(
        proxied: tuple[Store, PgProxy]) -> None:
    """The hazard the mark removes is real: a blind retry of the same batch doubles its note."""
    store, proxy = proxied
    feed, _ = _opened_incident(store)
    write = _note_write(feed, T0 + 10)
    proxy.drop_after_commit()
    with pytest.raises(Exception) as lost:
        store.commit_batch([write])
    assert is_transient(lost.value) and is_unreachable(lost.value)
    store.commit_batch([write])  # the retry, with nothing to tell it the first one landed
    assert proxy.dropped_commits == 1
    assert _count(store, "SELECT COUNT(*) FROM timeline WHERE kind = ?", TimelineKind.NOTE.value) == 2


def test_a_mark_is_claimed_once_on_sqlite_too(tmp_path) -> None:
    store = Store.open(tmp_path / "shiptrack.db")
    try:
        feed, _ = _opened_incident(store)
        write = _note_write(feed, T0 + 10)
        assert store.commit_batch([write], mark=("w1", 1)) is True
        assert store.commit_batch([write], mark=("w1", 1)) is False
        assert store.commit_batch([write], mark=("w2", 1)) is True  # another writer, its own numbers
        assert _count(store, "SELECT COUNT(*) FROM timeline WHERE kind = ?", TimelineKind.NOTE.value) == 2
    finally:
        store.close()


def test_a_delivery_the_sender_cannot_record_is_held_and_recorded_once(
        proxied: tuple[Store, PgProxy]) -> None:
    """PostgreSQL goes away while a notification is on the wire: the sender records the delivery
    when it is back, and never sends it again meanwhile."""
    store, proxy = proxied
    with Receiver() as rx:
        feed = Feed("api", urls=(rx.url("hook"),))
        store.commit_batch([feed.write(check("api", T0 + i, Outcome.DOWN)) for i in range(2)])
        rx.slow(1, 1.0)  # the answer comes a second after the post arrives
        sender = NotificationSender(store, None, poll_seconds=0.05, timeout=5.0)
        sender.start()
        try:
            wait_for(lambda: rx.requests >= 1, what="the OPEN on the wire")
            proxy.down()
            rx.wait_for(1)  # delivered, and the database is away
            wait_for(lambda: store.outage.since is not None, what="the sender to meet the outage")
            outages = store.outage.outages
            time.sleep(0.3)  # several polls while the delivery waits to be recorded: one outage
            assert store.outage.since is not None and store.outage.outages == outages
            proxy.up()
            delivered = "SELECT COUNT(*) FROM outbox WHERE delivered_at IS NOT NULL AND attempts = 1"
            wait_for(lambda: _count(store, delivered) == 1, what="the delivery recorded")
            time.sleep(0.3)  # a few more polls: a row recorded late must not have gone out twice
        finally:
            sender.stop()
        assert rx.requests == 1 and len(rx.posts) == 1
        assert _count(store, "SELECT COUNT(*) FROM timeline WHERE kind = ?", TimelineKind.NOTIFIED.value) == 1
        assert store.outage.since is None and store.outage.outages == 1


def test_an_attempt_recorded_twice_counts_once(store_target: str | Path) -> None:
    """The retry of a record whose COMMIT answer was lost finds the attempt count moved on."""
    store = Store.open(store_target)
    try:
        _opened_incident(store)
        row = store.due_outbox(T0 + 10)[0]
        for _ in range(2):
            store.record_attempt(row.id, T0 + 10, True, detail="sent", seen_attempts=row.attempts)
        assert _count(store, "SELECT attempts FROM outbox WHERE id = ?", row.id) == 1
        assert _count(store, "SELECT COUNT(*) FROM timeline WHERE kind = ?", TimelineKind.NOTIFIED.value) == 1
    finally:
        store.close()


# -- the engine through an outage ---------------------------------------------------------------

@dataclass
class OutageFigures:
    outage_s: float
    checks_during: int  # checks the engine made while PostgreSQL was down
    held_peak: int  # writes held in memory at the peak
    drained_s: float  # from the server's start to every held write stored
    checks: int
    rows: int


def ride_out_an_outage(tmp_path: Path, caplog: pytest.LogCaptureFixture, outage: float, monitors: int = 200,
                       interval: float = 1.0) -> OutageFigures:
    """An engine checking `monitors` loopback targets every `interval` s on a private PostgreSQL
    server, the server stopped for `outage` s; everything the engine produced is then checked."""
    server = PostgresServer()
    server.start()
    targets = DemoTargetsThread()
    targets.start()
    receiver = Receiver()
    url = server.create_database()
    store = Store.open(url)
    specs = [MonitorSpec(name=f"m{i:03d}", url=f"{targets.base_url}/t/m{i:03d}", interval=interval,
                         timeout=5.0, failure_threshold=3) for i in range(monitors)]
    specs.append(MonitorSpec(name="flaky", url=f"{targets.base_url}/t/flaky", interval=0.5, timeout=1.0,
                             failure_threshold=2, recovery_threshold=2))
    http = HttpSettings(host="127.0.0.1", port=0, token=None, token_source="test", public_api=True)
    config = Config(path=tmp_path / "none.toml", monitors=tuple(specs), http=http,
                    notify=NotifySettings(urls=(receiver.url("hook"),)))
    engine = Engine(config, store)
    thread = EngineThread(engine)
    web = start_http(bind("127.0.0.1", 0), http, url, config=lambda: engine.config,  # type: ignore[arg-type]
                     vitals=engine.vitals, wake=engine.wake, engine_loop=engine.call_soon)
    client = httpx.Client(base_url=web.url, timeout=10)
    caplog.set_level(logging.INFO, logger="shiptrack")
    try:
        thread.start()
        wait_for(lambda: client.get("/health/ready").status_code == 200, what="the engine ready")
        wait_for(lambda: _count(store, 'SELECT COUNT(*) FROM "check"') >= monitors, what="checks stored")

        server.stop()  # fast: every session is terminated, then connections are refused
        stopped = time.monotonic()
        before = engine.counters.checks
        targets.set_down("t/flaky")  # an incident opens while PostgreSQL is away
        not_ready = wait_for(lambda: (r := client.get("/health/ready")).status_code == 503 and r,
                             what="/health/ready to turn 503")
        assert not_ready.json()["reason"].startswith("PostgreSQL unreachable for ")
        read = client.get("/api/v1/monitors")  # a read while the database is away: try again later
        assert read.status_code == 503 and read.headers["Retry-After"], read.text
        assert "shiptrack_storage_unreachable 1.0" in client.get("/metrics").text
        wait_for(lambda: engine.states["flaky"].incident is not None, timeout=outage + 10,
                 what="an incident opened during the outage")
        held_peak = 0
        while (left := outage - (time.monotonic() - stopped)) > 0:  # the outage is the scenario: it lasts
            reply = client.get("/health/ready")
            assert reply.status_code == 503, reply.text
            held_peak = max(held_peak, engine.vitals().storage.queued)
            time.sleep(min(left, 0.5))
        reason = client.get("/health/ready").json()["reason"]
        wording = r"PostgreSQL unreachable for \d+[ms]( \d+s)?; [\d,]+ results held"
        assert re.fullmatch(wording, reason), reason
        checks_during = engine.counters.checks - before
        assert checks_during >= monitors  # the engine kept checking (a busy machine checks late, not never)
        assert held_peak >= checks_during * 0.9  # held in memory, not dropped

        server.start()
        started = time.monotonic()
        wait_for(lambda: engine.vitals().storage.queued < monitors, timeout=60, what="held writes stored")
        drained = time.monotonic() - started
        wait_for(lambda: client.get("/health/ready").status_code == 200, timeout=30, what="ready again")
        assert client.get("/api/v1/monitors").status_code == 200
        assert "shiptrack_storage_unreachable 0.0" in client.get("/metrics").text
        delivered = "SELECT COUNT(*) FROM outbox WHERE monitor = 'flaky' AND delivered_at IS NOT NULL"
        try:
            wait_for(lambda: _count(store, delivered) == 1, timeout=90, what="flaky's OPEN delivered")
        except AssertionError:
            with store.connection_context():
                rows = store._conn().execute("SELECT id, incident_id, transition, attempts, delivered_at, "
                                             "last_error FROM outbox").fetchall()
            raise AssertionError(f"outbox {rows}; posts {receiver.posts}; "
                                 f"sender {engine._sender and engine._sender.attempts}") from None
    finally:
        client.close()
        thread.stop()
        web.stop()
    try:
        writer = engine._writer
        assert writer is not None and writer.dropped_checks == 0 and writer.dropped == 0
        checks = engine.counters.checks
        rows = _count(store, 'SELECT COUNT(*) FROM "check"')
        assert rows == checks  # every result the engine produced, stored once (primary key)
        tallied = _count(store, "SELECT COALESCE(SUM(up + degraded + down + maintenance), 0) FROM rollup "
                         "WHERE span = 1")
        assert tallied == checks  # no batch applied twice: the hour rollups agree with the rows
        flaky = "(SELECT id FROM monitor WHERE name = 'flaky')"
        assert _count(store, f"SELECT COUNT(*) FROM incident WHERE monitor_id = {flaky}") == 1
        opened = ("SELECT COUNT(*) FROM timeline AS t JOIN incident AS i ON i.id = t.incident_id "
                  f"WHERE t.kind = 'opened' AND i.monitor_id = {flaky}")
        assert _count(store, opened) == 1
        told_open = "SELECT COUNT(*) FROM outbox WHERE transition = 'open' AND monitor = 'flaky'"
        assert _count(store, told_open) == 1
        # Nothing doubled anywhere (a starved machine may time other checks out and open incidents).
        for table, key in (("incident", "monitor_id, started_at"), ("timeline", "incident_id, kind, at"),
                           ("outbox", "incident_id, transition, url")):
            twice = f"SELECT COUNT(*) FROM (SELECT 1 FROM {table} GROUP BY {key} HAVING COUNT(*) > 1) AS d"
            assert _count(store, twice) == 0, table
        told = [post for post in receiver.posts if "flaky" in post.title]
        assert len(told) == 1 and "OPEN" in told[0].title.upper()  # recorded once delivered: never sent again
        messages = [r.getMessage() for r in caplog.records]
        assert sum(m.startswith("PostgreSQL unreachable: ") for m in messages) == 1, messages
        assert sum(m.startswith("PostgreSQL reachable again after ") for m in messages) == 1, messages
        return OutageFigures(outage, checks_during, held_peak, drained, checks, rows)
    finally:
        store.close()
        receiver.close()
        targets.stop()
        server.destroy()


def test_the_engine_rides_out_a_postgres_outage(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    figures = ride_out_an_outage(tmp_path, caplog, outage=15.0, interval=2.0)
    print(figures)


@pytest.mark.skipif(not os.environ.get("SHIPTRACK_LONG_TESTS"),
                    reason="a 60 s outage: set SHIPTRACK_LONG_TESTS=1 to run it")
def test_the_engine_rides_out_a_60s_postgres_outage(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    figures = ride_out_an_outage(tmp_path, caplog, outage=60.0)
    print(figures)


# -- the same through a real daemon ----------------------------------------------------------------

DAEMON_CONFIG = """\
[storage]
url = "{url}"

[defaults]
interval = "2s"
timeout = "1500ms"
failure_threshold = 3

[http]
listen = "127.0.0.1:0"

[notify]
urls = ["{hook}"]
{monitors}
[[monitor]]
name = "flaky"
url = "{base}/t/flaky"
interval = "1s"
timeout = "900ms"
failure_threshold = 2
"""


def test_a_daemon_on_postgres_rides_out_a_restart(tmp_path: Path) -> None:
    """`shiptrack --daemon` with `[storage] url`: the server stops for 8 s; the daemon keeps
    checking, says so on /health/ready and in its log (once each way), writes everything back,
    and stops cleanly with as many stored checks as it made."""
    server = PostgresServer()
    server.start()
    targets = DemoTargetsThread()
    targets.start()
    receiver = Receiver()
    url = server.create_database()
    monitors = "".join(f'[[monitor]]\nname = "m{i:02d}"\nurl = "{targets.base_url}/t/m{i:02d}"\n\n'
                       for i in range(40))
    config = tmp_path / "shiptrack.toml"
    config.write_text(DAEMON_CONFIG.format(url=url, hook=receiver.url("hook"), monitors=monitors,
                                           base=targets.base_url))
    log_path = tmp_path / "daemon.log"
    with log_path.open("w") as log:
        daemon = subprocess.Popen([sys.executable, "-m", "shiptrack_tui", "--daemon", "--config",
                                   str(config)], stdout=subprocess.DEVNULL, stderr=log)
    store: Store | None = None
    try:
        serving = re.compile(r"serving HTTP on (http://127\.0\.0\.1:\d+)")
        found = wait_for(lambda: serving.search(log_path.read_text()), timeout=60,  # a busy machine
                         what="the daemon's HTTP line")
        client = httpx.Client(base_url=found.group(1), timeout=10)
        wait_for(lambda: client.get("/health/ready").status_code == 200, timeout=60, what="ready")
        server.stop()
        stopped = time.time()
        targets.set_down("t/flaky")
        reason = wait_for(lambda: (r := client.get("/health/ready")).status_code == 503
                          and r.json()["reason"], what="not ready")
        assert reason.startswith("PostgreSQL unreachable for "), reason
        while time.time() - stopped < 8:  # the outage lasts; the daemon must stay not ready throughout
            assert client.get("/health/ready").status_code == 503
            time.sleep(0.5)
        server.start()
        restarted = time.time()
        wait_for(lambda: client.get("/health/ready").status_code == 200, timeout=60, what="ready again")
        receiver.wait_for(1, timeout=90)
        store = Store.open(url)
        delivered = "SELECT COUNT(*) FROM outbox WHERE monitor = 'flaky' AND delivered_at IS NOT NULL"
        wait_for(lambda: _count(store, delivered) == 1, timeout=90, what="flaky's OPEN recorded")
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(60) == 0
        client.close()
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
        receiver.close()
        targets.stop()
    try:
        assert store is not None
        text = log_path.read_text()
        made = int(re.search(r"stopped cleanly after (\d+) checks", text).group(1))  # type: ignore[union-attr]
        assert _count(store, 'SELECT COUNT(*) FROM "check"') == made  # all of them, once each
        during = ('SELECT COUNT(DISTINCT monitor_id) FROM "check" WHERE at_ms > ? AND at_ms < ?',
                  int(stopped * 1000), int(restarted * 1000))
        assert _count(store, *during) == 41  # every monitor was checked while the server was down
        flaky = "(SELECT id FROM monitor WHERE name = 'flaky')"
        assert _count(store, f"SELECT COUNT(*) FROM incident WHERE monitor_id = {flaky}") == 1
        assert _count(store, "SELECT COUNT(*) FROM outbox WHERE monitor = 'flaky'") == 1
        assert len([post for post in receiver.posts if "flaky" in post.title]) == 1
        assert text.count("PostgreSQL unreachable: ") == 1
        assert text.count("PostgreSQL reachable again after") == 1
        assert "Traceback" not in text
    finally:
        if store is not None:
            store.close()
        server.destroy()
