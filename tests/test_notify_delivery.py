"""Real Apprise delivery from a real SQLite outbox to a loopback receiver: no mocks on the way.

Each test writes incidents and their outbox rows through `Store.commit_batch` (as the engine
does), runs a `NotificationSender`, and checks what reached `json://127.0.0.1:PORT/...` and what
the incident's timeline says.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from receiver import Receiver

from shiptrack_tui.config import Channel, NotifySettings
from shiptrack_tui.core.incidents import IncidentAcknowledged, IncidentOpened, IncidentResolved
from shiptrack_tui.core.model import (
    IncidentState,
    MonitorSpec,
    MonitorState,
    MonitorStatus,
    OpenIncident,
    TimelineKind,
)
from shiptrack_tui.notify import NotificationSender, check_notify_url, notify_test, outbox_items_for
from shiptrack_tui.storage import PipelineWrite, Store

SECRET = "Hunter2Secr3tValue"
API = MonitorSpec("api", "https://api.example.com/health", tags=("prod",))
FAST = {"backoff_base": 0.05, "backoff_cap": 0.2, "poll_seconds": 0.05, "timeout": 2.0}


@pytest.fixture
def rx() -> Iterator[Receiver]:
    with Receiver() as receiver:
        yield receiver


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path / "shiptrack.db")
    opened.sync_monitors([API, MonitorSpec("db", "tcp://10.0.0.5:5432", tags=("dev",))], time.time())
    yield opened
    opened.close()


def down_state(started: float, opened: float, acked: float | None = None) -> MonitorState:
    incident = OpenIncident(started, opened, "HTTP 503",
                            IncidentState.ACKNOWLEDGED if acked else IncidentState.OPEN, acked)
    return MonitorState(status=MonitorStatus.DOWN, consecutive_failures=3, incident=incident)


def write(store: Store, settings: NotifySettings, spec: MonitorSpec, state: MonitorState,
          *events: object) -> None:
    """What the engine's pipeline does: events and their outbox rows in one transaction."""
    outbox = outbox_items_for(events, spec, settings, cause="HTTP 503")  # type: ignore[arg-type]
    store.commit_batch([PipelineWrite(spec.name, state, events=tuple(events), outbox=outbox)])  # type: ignore[arg-type]


def whole_lifecycle(store: Store, settings: NotifySettings, t0: float, spec: MonitorSpec = API) -> None:
    write(store, settings, spec, down_state(t0, t0 + 20), IncidentOpened(spec.name, t0 + 20, t0, "HTTP 503"))
    write(store, settings, spec, down_state(t0, t0 + 20, t0 + 30),
          IncidentAcknowledged(spec.name, t0 + 30, t0, "looking"))
    write(store, settings, spec, MonitorState(status=MonitorStatus.UP),
          IncidentResolved(spec.name, t0 + 250, t0, "HTTP 503"))


def timeline(store: Store, kind: TimelineKind) -> list[str]:
    return [e.detail or "" for i in store.incidents() for e in i.events if e.kind is kind]


def eventually(condition: Callable[[], object], timeout: float = 8.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def test_one_message_per_transition(store: Store, rx: Receiver) -> None:
    settings = NotifySettings(urls=(rx.url("hook", f"ops:{SECRET}"),))
    t0 = time.time() - 300
    whole_lifecycle(store, settings, t0)
    NotificationSender(store, settings, **FAST).drain()
    posts = rx.wait_for(3)
    assert [(p.title, p.type) for p in posts] == [
        ("[OPEN] api — HTTP 503", "failure"),
        ("[ACK] api — HTTP 503", "info"),
        ("[RESOLVED] api — down for 4m 10s", "success"),
    ]
    assert "Note: looking" in posts[1].payload["message"]
    notified = timeline(store, TimelineKind.NOTIFIED)
    assert len(notified) == 3 and all("127.0.0.1" in d and SECRET not in d for d in notified)
    assert store.due_outbox(time.time() + 3600) == []


def test_receiver_down_for_a_while_then_up_delivers_each_once_in_order(store: Store, rx: Receiver) -> None:
    rx.down()
    settings = NotifySettings(urls=(rx.url(),))
    t0 = time.time()
    write(store, settings, API, down_state(t0, t0), IncidentOpened("api", t0, t0, "HTTP 503"))
    up = MonitorState(status=MonitorStatus.UP)
    write(store, settings, API, up, IncidentResolved("api", t0 + 1, t0, "HTTP 503"))
    sender = NotificationSender(store, settings, **FAST)
    sender.start()
    try:
        eventually(lambda: sender.attempts >= 3)  # several refused attempts of OPEN, none of RESOLVED yet
        rx.up()
        rx.wait_for(2)
        time.sleep(0.5)  # time for any duplicate to show up
    finally:
        sender.stop()
    assert rx.titles() == ["[OPEN] api — HTTP 503", "[RESOLVED] api — down for 1s"]
    assert len(timeline(store, TimelineKind.NOTIFIED)) == 2


def test_500_then_200_is_retried_until_delivered(store: Store, rx: Receiver) -> None:
    rx.fail(2)
    settings = NotifySettings(urls=(rx.url(),))
    t0 = time.time()
    write(store, settings, API, down_state(t0, t0), IncidentOpened("api", t0, t0, "HTTP 503"))
    sender = NotificationSender(store, settings, **FAST)
    sender.start()
    try:
        rx.wait_for(1)
        eventually(lambda: timeline(store, TimelineKind.NOTIFIED))
    finally:
        sender.stop()
    assert rx.requests == 3 and rx.titles() == ["[OPEN] api — HTTP 503"]
    assert "attempt 3" in timeline(store, TimelineKind.NOTIFIED)[0]
    retries = timeline(store, TimelineKind.NOTIFY_RETRY)  # every attempt's outcome is on the timeline
    assert len(retries) == 2 and "attempt 1 failed" in retries[0] and "next try in" in retries[0]
    assert timeline(store, TimelineKind.NOTIFY_FAILED) == []


def test_slower_than_the_timeout_is_unknown_and_sent_again(store: Store, rx: Receiver) -> None:
    rx.slow(1, 1.5)
    settings = NotifySettings(urls=(rx.url(),))
    t0 = time.time()
    write(store, settings, API, down_state(t0, t0), IncidentOpened("api", t0, t0, "HTTP 503"))
    sender = NotificationSender(store, settings, **{**FAST, "timeout": 0.4})
    sender.start()
    try:
        eventually(lambda: timeline(store, TimelineKind.NOTIFIED))
    finally:
        sender.stop()
    assert rx.requests >= 2  # the slow one, then the retry: never silently dropped
    rx.wait_for(1)
    assert set(rx.titles()) == {"[OPEN] api — HTTP 503"}
    assert timeline(store, TimelineKind.NOTIFY_FAILED) == []


def test_give_up_after_elapsed_lands_notify_failed_on_the_timeline(store: Store, rx: Receiver) -> None:
    rx.down()
    url = rx.url(f"{SECRET}path", f"ops:{SECRET}") + f"?-X-Token={SECRET}"
    settings = NotifySettings(urls=(url,), give_up_after=0.6)
    t0 = time.time()
    write(store, settings, API, down_state(t0, t0), IncidentOpened("api", t0, t0, "HTTP 503"))
    sender = NotificationSender(store, settings, **FAST)
    sender.start()
    try:
        eventually(lambda: timeline(store, TimelineKind.NOTIFY_FAILED))
    finally:
        sender.stop()
    [failed] = timeline(store, TimelineKind.NOTIFY_FAILED)
    assert "gave up" in failed and "open" in failed and "127.0.0.1" in failed
    assert SECRET not in failed
    assert store.due_outbox(time.time() + 3600) == []


def test_a_restart_never_resends_what_was_delivered(store: Store, rx: Receiver) -> None:
    settings = NotifySettings(urls=(rx.url(),))
    whole_lifecycle(store, settings, time.time() - 300)
    NotificationSender(store, settings, **FAST).drain()
    rx.wait_for(3)
    again = NotificationSender(store, settings, **FAST)
    again.start()
    time.sleep(0.4)
    again.stop()
    assert len(rx.posts) == 3 and rx.requests == 3


_WRITER_THEN_HANG = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {tests!r})
    from shiptrack_tui.config import NotifySettings
    from shiptrack_tui.core.incidents import IncidentOpened
    from shiptrack_tui.core.model import IncidentState, MonitorState, MonitorStatus, OpenIncident
    from shiptrack_tui.notify import NotificationSender, outbox_items_for
    from shiptrack_tui.storage import PipelineWrite, Store
    from test_notify_delivery import API
    store = Store.open({db!r})
    settings = NotifySettings(urls=({url!r},))
    t0 = time.time()
    state = MonitorState(status=MonitorStatus.DOWN, incident=OpenIncident(t0, t0, "HTTP 503"))
    events = (IncidentOpened("api", t0, t0, "HTTP 503"),)
    outbox = outbox_items_for(events, API, settings)
    store.commit_batch([PipelineWrite("api", state, events=events, outbox=outbox)])
    NotificationSender(store, settings, timeout=30.0).start()
    print("committed", flush=True)
    time.sleep(60)
""")


def test_a_sender_killed_mid_delivery_delivers_after_restart(store: Store, rx: Receiver) -> None:
    rx.slow(1, 3.0)  # the first delivery hangs at the receiver: the process dies before recording it
    code = _WRITER_THEN_HANG.format(tests=str(Path(__file__).parent), db=str(store.path), url=rx.url())
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "committed"
        eventually(lambda: rx.requests >= 1)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    assert timeline(store, TimelineKind.NOTIFIED) == []  # never recorded: still owed
    NotificationSender(store, NotifySettings(urls=(rx.url(),)), **FAST).drain()
    eventually(lambda: rx.posts)
    assert set(rx.titles()) == {"[OPEN] api — HTTP 503"}
    assert len(timeline(store, TimelineKind.NOTIFIED)) == 1


def test_channels_route_by_tag(store: Store, rx: Receiver) -> None:
    settings = NotifySettings(urls=(rx.url("all"),),
                              channels=(Channel((rx.url("prod"),), frozenset({"prod"})),))
    t0 = time.time()
    db = MonitorSpec("db", "tcp://10.0.0.5:5432", tags=("dev",))
    write(store, settings, API, down_state(t0, t0), IncidentOpened("api", t0, t0, "HTTP 503"))
    write(store, settings, db, down_state(t0, t0), IncidentOpened("db", t0, t0, "connection refused"))
    NotificationSender(store, settings, **FAST).drain()
    rx.wait_for(3)
    assert rx.titles("prod") == ["[OPEN] api — HTTP 503"]
    assert sorted(rx.titles("all")) == ["[OPEN] api — HTTP 503", "[OPEN] db — connection refused"]


def test_notify_test_reports_each_url_without_secrets(rx: Receiver) -> None:
    good = rx.url("hook", f"ops:{SECRET}")
    with Receiver() as gone:
        gone.down()
        refused = gone.url("x", f"ops:{SECRET}")
        settings = NotifySettings(urls=(good, refused), channels=(Channel((f"nosuch://{SECRET}@h/p",)),))
        results = notify_test(settings, timeout=2.0)
    assert [ok for _u, ok, _w in results] == [True, False, False]
    assert results[0][2] == "" and "connection" in results[1][2].lower()
    assert all(SECRET not in f"{url} {why}" for url, _ok, why in results)
    assert rx.titles() == ["[TEST] ShipTrack — notifications work"]
    assert notify_test(replace(settings, urls=(), channels=())) == []


def test_a_backed_off_resolved_is_not_overtaken_by_the_next_incident_of_the_monitor(
    store: Store, rx: Receiver
) -> None:
    """Order is per (monitor, URL): across incidents, and for rows that have no incident at all."""
    settings = NotifySettings(urls=(rx.url(),))
    t0 = time.time() - 100
    up = MonitorState(status=MonitorStatus.UP)
    write(store, settings, API, down_state(t0, t0), IncidentOpened("api", t0, t0, "HTTP 503"))
    write(store, settings, API, up, IncidentResolved("api", t0 + 10, t0, "HTTP 503"))
    # A message written while the monitor has no incident (its row has none), then incident #2.
    stray = outbox_items_for([IncidentResolved("api", t0 + 20, t0, "HTTP 503")], API, settings)
    store.commit_batch([PipelineWrite("api", up, outbox=stray)])
    second = IncidentOpened("api", t0 + 30, t0 + 30, "timeout")
    write(store, settings, API, down_state(t0 + 30, t0 + 30), second)
    rx.fail(2)  # the first two posts are answered 500: OPEN #1 backs off, twice
    sender = NotificationSender(store, settings, **{**FAST, "backoff_base": 0.3, "backoff_cap": 0.3})
    sender.start()
    try:
        rx.wait_for(4)
        time.sleep(0.5)  # time for anything out of order or duplicated to show up
    finally:
        sender.stop()
    assert rx.requests == 6
    assert [title.split(" — ")[0] for title in rx.titles()] == [
        "[OPEN] api", "[RESOLVED] api", "[RESOLVED] api", "[OPEN] api"]
    assert rx.titles()[-1] == "[OPEN] api — timeout"


def test_one_configured_string_with_two_urls_retries_only_the_one_that_failed(store: Store) -> None:
    """Apprise sends "json://a, json://b" to both: each gets its own outbox row and retries."""
    with Receiver() as up, Receiver() as flaky:
        both = f"{up.url('a')}, {flaky.url('b')}"
        assert check_notify_url(both) is None and check_notify_url(f"{up.url('a')}, nope://x") is not None
        settings = NotifySettings(urls=(both,))
        flaky.fail(2)
        t0 = time.time()
        write(store, settings, API, down_state(t0, t0), IncidentOpened("api", t0, t0, "HTTP 503"))
        sender = NotificationSender(store, settings, **FAST)
        sender.start()
        try:
            flaky.wait_for(1)
            time.sleep(0.5)  # time for any duplicate to show up
        finally:
            sender.stop()
        assert up.titles() == flaky.titles() == ["[OPEN] api — HTTP 503"]
        assert up.requests == 1 and flaky.requests == 3
