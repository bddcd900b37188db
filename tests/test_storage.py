"""The store on real SQLite files and real PostgreSQL databases: schema, pipeline writes, incidents,
restarts, actions, outbox. Tests taking `store_target` (or `store`) run on both backends."""

from __future__ import annotations

import os
import sqlite3
import stat
from dataclasses import replace
from pathlib import Path

import pytest
from storage_helpers import T0, Feed, check, spec

from shiptrack_tui.core.incidents import acknowledge, pause
from shiptrack_tui.core.model import (
    ActionKind,
    IncidentState,
    MonitorState,
    MonitorStatus,
    OutboxItem,
    Outcome,
    Silence,
    SilenceScope,
    TimelineEntry,
    TimelineKind,
    Transition,
)
from shiptrack_tui.storage import SCHEMA_VERSION, PipelineWrite, StorageError, Store, migrations


@pytest.fixture
def store(store_target: str | Path) -> Store:
    opened = Store.open(store_target)
    yield opened
    opened.close()


def test_open_creates_private_files_and_parents_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        store = Store.open(tmp_path / "deep" / "er" / "db.sqlite")
        store.commit_batch([PipelineWrite("api", MonitorState(), result=check("api", T0))])
    finally:
        os.umask(old)
    for suffix in ("", "-wal", "-shm"):
        file = tmp_path / "deep" / "er" / f"db.sqlite{suffix}"
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, suffix
    conn = store._conn()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    store.close()


def test_migrates_an_empty_file_and_refuses_a_newer_schema(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    sqlite3.connect(path).close()  # an empty file someone created
    store = Store.open(path)
    assert store.schema_version() == SCHEMA_VERSION
    store.close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    conn.commit()
    conn.close()
    with pytest.raises(StorageError, match="newer ShipTrack"):
        Store.open(path)


def test_an_older_schema_runs_only_the_missing_migrations(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "db.sqlite"
    Store.open(path).close()
    ran: list[int] = []

    def add_column(db) -> None:
        ran.append(1)
        db.execute_sql("ALTER TABLE monitor ADD COLUMN extra TEXT")

    monkeypatch.setattr(migrations, "MIGRATIONS", (*migrations.MIGRATIONS, add_column))
    monkeypatch.setattr(migrations, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    store = Store.open(path)
    assert store.schema_version() == SCHEMA_VERSION + 1 and ran == [1]
    store.close()
    Store.open(path).close()
    assert ran == [1]


def test_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello, this is not SQLite" * 100)
    with pytest.raises(StorageError, match="cannot be used as a ShipTrack database"):
        Store.open(path)


def test_sync_monitors_upserts_and_marks_absent_ones_removed(store: Store) -> None:
    states = store.sync_monitors([spec("api", tags=("prod",)), spec("web")], T0)
    assert states == {"api": MonitorState(), "web": MonitorState()}
    store.commit_batch([Feed("web").write(check("web", T0 + 1))])
    states = store.sync_monitors([spec("web", url="https://new.example.com/")], T0 + 2)
    assert states["web"].last_check_at == T0 + 1
    assert set(store.load_states()) == {"web"}
    summaries = store.monitor_summaries(T0 + 3)
    assert [(s.name, s.target) for s in summaries] == [("web", "https://new.example.com/")]
    assert store.recent_checks("web")  # history stays
    back = store.sync_monitors([spec("api", tags=("prod", "eu")), spec("web")], T0 + 4)
    assert back["api"] == MonitorState()
    assert {s.name: s.tags for s in store.monitor_summaries(T0 + 5)}["api"] == ("prod", "eu")


def _incident_lifecycle(store: Store, feed: Feed) -> None:
    store.sync_monitors([spec("api")], T0)
    store.commit_batch([feed.write(check("api", T0 + 60 * i)) for i in range(3)])
    store.commit_batch([feed.write(check("api", T0 + 180, Outcome.DOWN)),
                        feed.write(check("api", T0 + 240, Outcome.DOWN))])


def test_open_ack_resolve_writes_incident_rows_and_timeline(store: Store) -> None:
    feed = Feed("api", urls=("json://a", "json://b"))
    _incident_lifecycle(store, feed)
    [opened] = store.incidents(open_only=True)
    assert (opened.monitor, opened.state, opened.cause) == ("api", IncidentState.OPEN, "HTTP 503")
    assert (opened.started_at, opened.opened_at) == (T0 + 180, T0 + 240)
    assert [(e.kind, e.detail) for e in opened.events] == [(TimelineKind.OPENED, "HTTP 503")]
    assert [r.incident_id for r in store.due_outbox(T0 + 240)] == [opened.id, opened.id]

    feed.state, events = acknowledge(feed.state, "api", T0 + 250, "looking")
    action_id = store.add_action(ActionKind.ACK, T0 + 245, incident_id=opened.id, note="looking")
    store.commit_batch([PipelineWrite("api", feed.state, events=tuple(events), action_id=action_id,
                                      timeline_notes=((T0 + 251, "db restarted"),))])
    assert store.action_outcome(action_id) == (T0 + 250, None)
    assert store.pending_actions() == []
    store.commit_batch([feed.write(check("api", T0 + 300 + 60 * i)) for i in range(2)])

    incident = store.incident(opened.id)
    assert incident is not None and incident.state is IncidentState.RESOLVED
    assert (incident.acknowledged_at, incident.resolved_at) == (T0 + 250, T0 + 360)
    assert incident.events == (
        TimelineEntry(T0 + 240, TimelineKind.OPENED, "HTTP 503"),
        TimelineEntry(T0 + 250, TimelineKind.ACKNOWLEDGED, "looking"),
        TimelineEntry(T0 + 251, TimelineKind.NOTE, "db restarted"),
        TimelineEntry(T0 + 360, TimelineKind.RESOLVED, "after 3m"),
    )
    assert store.incidents(open_only=True) == []
    assert store.load_states()["api"].incident is None
    assert store.load_states()["api"] == feed.state


def test_restart_continues_exactly_where_it_stopped(store_target: str | Path) -> None:
    path = store_target
    store = Store.open(path)
    feed = Feed("api")
    _incident_lifecycle(store, feed)
    feed.state, events = acknowledge(feed.state, "api", T0 + 250, None)
    store.commit_batch([PipelineWrite("api", feed.state, events=tuple(events)),
                        feed.write(check("api", T0 + 260, Outcome.DOWN, status=None,
                                              reason="timeout after 10.0s"))])
    before = store.load_states()
    summary = store.monitor_summaries(T0 + 300)[0]
    store.close()

    again = Store.open(path)
    after = again.sync_monitors([spec("api")], T0 + 400)
    assert after == before == {"api": feed.state}
    assert after["api"].incident is not None and after["api"].incident.state is IncidentState.ACKNOWLEDGED
    assert again.monitor_summaries(T0 + 300)[0] == summary
    assert summary.last_status_code is None and summary.state.last_error == "timeout after 10.0s"
    again.close()


def test_pause_marks_checks_as_not_counted(store: Store) -> None:
    feed = Feed("api")
    store.commit_batch([feed.write(check("api", T0 + 10))])
    feed.state, events = pause(feed.state, "api", T0 + 20)
    store.commit_batch([PipelineWrite("api", feed.state, events=tuple(events)),
                        feed.write(check("api", T0 + 30, Outcome.DOWN))])
    assert store.load_states()["api"].status is MonitorStatus.PAUSED
    stats = store.window_stats("api", T0 + 60, 3600)
    assert (stats.uptime, stats.checks) == (100.0, 1)


def test_replaying_a_check_replaces_it_without_double_counting(store: Store) -> None:
    store.commit_batch([Feed("api").write(check("api", T0 + 5, latency_ms=10.0))])
    store.commit_batch([Feed("api").write(check("api", T0 + 5, Outcome.DOWN))])
    [only] = store.recent_checks("api")
    assert only.outcome is Outcome.DOWN
    stats = store.window_stats("api", T0 + 3 * 3600, 3 * 3600)  # whole hours: rollups only
    assert (stats.uptime, stats.checks, stats.p50_ms) == (0.0, 1, None)


def test_actions_resolve_monitors_and_reject_unknown_targets(store: Store) -> None:
    store.sync_monitors([spec("api")], T0)
    with pytest.raises(LookupError, match="no incident #99"):
        store.add_action(ActionKind.ACK, T0, incident_id=99)
    with pytest.raises(LookupError, match="no monitor named 'nope'"):
        store.add_action(ActionKind.PAUSE, T0, monitor="nope")
    first = store.add_action(ActionKind.PAUSE, T0, monitor="api", source="tui")
    second = store.add_action(ActionKind.CHECK_NOW, T0 + 1, monitor="api")
    assert [(a.id, a.kind, a.monitor, a.source) for a in store.pending_actions()] == [
        (first, ActionKind.PAUSE, "api", "tui"), (second, ActionKind.CHECK_NOW, "api", "cli")]
    store.reject_action(first, T0 + 2, "api is not being monitored")
    store.commit_batch([PipelineWrite("api", MonitorState(), action_id=second, action_error="busy")])
    assert store.action_outcome(first) == (None, "api is not being monitored")
    assert store.action_outcome(second) == (None, "busy")
    assert store.pending_actions() == []


def _outbox_item(url: str, transition: Transition) -> OutboxItem:
    return OutboxItem("api", transition, url, f"[{transition.upper()}] api", "body", "failure")


def test_due_outbox_keeps_each_incident_and_url_in_order(store: Store) -> None:
    feed = Feed("api", urls=("json://a", "json://b"))
    _incident_lifecycle(store, feed)
    store.commit_batch([feed.write(check("api", T0 + 300 + 60 * i)) for i in range(2)])
    due = store.due_outbox(T0 + 400)
    assert [(r.item.url, r.item.transition) for r in due] == [("json://a", Transition.OPEN),
                                                              ("json://b", Transition.OPEN)]
    open_a, open_b = due
    store.record_attempt(open_a.id, T0 + 401, delivered=False, error="HTTP 500", next_attempt_at=T0 + 460)
    due = store.due_outbox(T0 + 402)
    assert [r.id for r in due] == [open_b.id]  # RESOLVE to a waits behind a's OPEN retry
    store.record_attempt(open_b.id, T0 + 402, delivered=True, detail="open sent to json://b")
    assert [(r.item.url, r.item.transition) for r in store.due_outbox(T0 + 403)] == [
        ("json://b", Transition.RESOLVE)]
    [retry] = [r for r in store.due_outbox(T0 + 460) if r.id == open_a.id]
    assert (retry.attempts, retry.last_error) == (1, "HTTP 500")
    store.record_attempt(open_a.id, T0 + 461, delivered=False, error="HTTP 500", give_up=True)
    assert {(r.item.url, r.item.transition) for r in store.due_outbox(T0 + 462)} == {
        ("json://a", Transition.RESOLVE), ("json://b", Transition.RESOLVE)}
    [incident] = store.incidents()
    kinds = [(e.kind, e.detail) for e in incident.events]
    assert (TimelineKind.NOTIFIED, "open sent to json://b") in kinds
    assert (TimelineKind.NOTIFY_FAILED, "open not delivered: HTTP 500") in kinds


def test_summaries_flag_a_notification_given_up_on_the_open_incident(store: Store) -> None:
    feed = Feed("api", urls=("json://a",))
    _incident_lifecycle(store, feed)
    [row] = store.due_outbox(T0 + 300)
    assert not store.monitor_summaries(T0 + 300)[0].notify_failed
    store.record_attempt(row.id, T0 + 301, delivered=False, error="refused", give_up=True)
    summary = store.monitor_summaries(T0 + 302)[0]
    assert summary.notify_failed and summary.open_incident_id == row.incident_id


def test_reminders_and_extra_timeline_entries_land_on_the_open_incident(store: Store) -> None:
    from shiptrack_tui.core.incidents import reminder_due

    feed = Feed("api", urls=("json://a",))
    _incident_lifecycle(store, feed)
    due = reminder_due(feed.state, "api", None, 3600, T0 + 4000)
    assert due is not None
    store.commit_batch([PipelineWrite("api", feed.state, events=(due,),
                                      outbox=(_outbox_item("json://a", Transition.REMINDER),),
                                      timeline=(TimelineEntry(T0 + 4001, TimelineKind.NOTE, "extra"),))])
    [incident] = store.incidents(open_only=True)
    kinds = [e.kind for e in incident.events]
    assert kinds == [TimelineKind.OPENED, TimelineKind.REMINDER, TimelineKind.NOTE]
    assert {r.incident_id for r in store.due_outbox(T0 + 5000)} == {incident.id}


def test_incidents_are_listed_open_first_then_newest(store: Store) -> None:
    for name in ("a", "b", "c"):
        feed = Feed(name)
        store.commit_batch([feed.write(check(name, T0 + i, Outcome.DOWN)) for i in range(2)])
        if name != "b":
            store.commit_batch([feed.write(check(name, T0 + 10 + i)) for i in range(2)])
    assert [(i.monitor, i.state) for i in store.incidents()] == [
        ("b", IncidentState.OPEN), ("c", IncidentState.RESOLVED), ("a", IncidentState.RESOLVED)]
    assert [i.monitor for i in store.incidents(monitor="c")] == ["c"]
    assert len(store.incidents(limit=2)) == 2
    assert store.incident(12345) is None


def test_recent_checks_round_trip_newest_first(store: Store) -> None:
    results = [check("api", T0 + 1, latency_ms=12.345), check("api", T0 + 2, Outcome.DOWN, latency_ms=None,
                                                               status=None, reason="connection refused"),
               check("api", T0 + 3, Outcome.DEGRADED, latency_ms=2500.0, maintenance=True)]
    feed = Feed("api")
    store.commit_batch([feed.write(r) for r in results])
    assert store.recent_checks("api") == results[::-1]
    assert store.recent_checks("api", limit=1) == results[-1:]
    assert store.recent_checks("nobody") == []


def test_data_version_changes_when_another_connection_commits(store_target: str | Path) -> None:
    viewer, engine = Store.open(store_target), Store.open(store_target)
    seen = viewer.data_version()
    assert viewer.data_version() == seen
    viewer.commit_batch([Feed("web").write(check("web", T0))])  # its own writes are no news to it
    assert viewer.data_version() == seen
    engine.commit_batch([Feed("api").write(check("api", T0))])
    assert viewer.data_version() != seen
    engine.close()
    viewer.close()


def test_wait_for_change_returns_when_another_connection_commits(store_target: str | Path) -> None:
    import threading
    import time

    viewer, engine = Store.open(store_target), Store.open(store_target)
    assert viewer.wait_for_change(0.05) is False
    timer = threading.Timer(0.2, lambda: engine.commit_batch([Feed("api").write(check("api", T0))]))
    started = time.monotonic()
    timer.start()
    try:
        assert viewer.wait_for_change(10) is True
        assert time.monotonic() - started < 5
    finally:
        timer.join()
        engine.close()
        viewer.close()


def test_a_version_1_database_gains_the_silence_table(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "db.sqlite"
    with monkeypatch.context() as patch:
        patch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:1])
        patch.setattr(migrations, "SCHEMA_VERSION", 1)
        old = Store.open(path)
        # Today's writes and reads need later schemas: write v1 rows by hand.
        old._conn().execute("INSERT INTO monitor (name, target) VALUES ('api', 'https://api.example.com')")
        old._conn().execute('INSERT INTO "check" (monitor_id, at_ms, code) VALUES (1, ?, 0)',
                            (int(T0 * 1000),))
        assert old.schema_version() == 1
        old.close()
    store = Store.open(path)
    assert store.schema_version() == SCHEMA_VERSION >= 2
    assert store.recent_checks("api")
    assert store._conn().execute("SELECT count(*) FROM silence").fetchone() == (0,)
    store.close()


def test_silences_start_end_and_mark_their_actions_applied(store_target: str | Path) -> None:
    path = store_target
    store = Store.open(path)
    store.sync_monitors([spec("api", tags=("prod",))], T0)
    first = store.add_action(ActionKind("silence"), T0, monitor="api", note="1h tag:prod")
    wanted = Silence(0, SilenceScope.TAG, "prod", T0 + 1, until=T0 + 3601, source="tui")
    stored = store.start_silence(wanted, action_id=first)
    assert stored.id > 0 and stored == replace(wanted, id=stored.id)
    other = store.start_silence(Silence(0, SilenceScope.MONITOR, "api", T0 + 2, until_resolved=True))
    assert store.active_silences() == [stored, other]
    assert store.action_outcome(first) == (T0 + 1, None)
    second = store.add_action(ActionKind("unsilence"), T0 + 5, monitor="api", note="tag:prod")
    store.end_silences([stored.id], T0 + 6, "lifted by tui", action_id=second)
    store.end_silences([stored.id], T0 + 9, "again")  # ending twice keeps the first end
    assert store.active_silences() == [other]
    assert store.recent_silences() == [other, replace(stored, ended_at=T0 + 6)]
    assert store.action_outcome(second) == (T0 + 6, None)
    store.close()
    # A restart finds the same silences: the engine seeds its muting from them.
    reopened = Store.open(path)
    assert reopened.active_silences() == [other]
    assert reopened.recent_silences(limit=1) == [other]
    reason = reopened._conn().execute("SELECT end_reason FROM silence WHERE id = ?", (stored.id,)).fetchone()
    assert reason == ("lifted by tui",)
    reopened.close()


def test_close_closes_the_connections_of_every_thread(store_target: str | Path) -> None:
    import threading

    store = Store.open(store_target)
    release = threading.Event()
    loaded = threading.Barrier(4)

    def work() -> None:
        store.load_states()
        loaded.wait()
        release.wait()

    workers = [threading.Thread(target=work) for _ in range(3)]
    for worker in workers:
        worker.start()
    loaded.wait()
    assert store._db.open_connections == 4  # this thread's and the three workers'
    release.set()
    for worker in workers:
        worker.join()
    late = threading.Thread(target=store.load_states)
    late.start()
    late.join()
    assert store._db.open_connections == 2  # the ended workers' connections were closed
    store.commit_batch([Feed("api").write(check("api", T0))])
    store.close()
    assert store._db.open_connections == 0
    if store.backend == "sqlite":
        # The last connection out checkpoints and removes the log: nobody is left holding it.
        assert not Path(f"{store_target}-wal").exists()
