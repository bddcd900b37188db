"""The sender's decisions (backoff, give-up, timeouts as "unknown") and its thread's manners."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import pytest
from receiver import Receiver

from shiptrack_tui.core.model import OutboxItem, OutboxRow, Transition
from shiptrack_tui.notify import Delivery, NotificationSender, Outcome, backoff, deliver, judge
from shiptrack_tui.notify.redact import guard_apprise_logging

SECRET = "Sup3rS3cretPassw0rd"


def row(url: str = "json://127.0.0.1:1/hook", attempts: int = 0, created_at: float = 1000.0,
        row_id: int = 1, transition: Transition = Transition.OPEN) -> OutboxRow:
    item = OutboxItem("api", transition, url, f"[{transition}] api — HTTP 503", "body", "failure")
    return OutboxRow(row_id, 7, item, created_at, attempts)


def test_backoff_doubles_and_caps() -> None:
    assert [backoff(n) for n in (1, 2, 3, 4)] == [5.0, 10.0, 20.0, 40.0]
    assert backoff(30) == 600.0


def test_judge_delivered_retry_and_give_up() -> None:
    ok = judge(row(), Delivery(Outcome.DELIVERED), 1001.0, 86400)
    assert ok.delivered and not ok.give_up and "delivered" in ok.detail and "open" in ok.detail
    retry = judge(row(attempts=2), Delivery(Outcome.FAILED, "error=500"), 1100.0, 86400)
    assert (retry.delivered, retry.give_up, retry.next_attempt_at) == (False, False, 1120.0)
    unknown = judge(row(), Delivery(Outcome.UNKNOWN, "no answer"), 1001.0, 86400)
    assert not unknown.give_up and unknown.next_attempt_at == 1006.0  # a timeout is retried
    near_end = judge(row(attempts=9), Delivery(Outcome.FAILED, "down"), 1000.0 + 86390, 86400)
    assert near_end.next_attempt_at == 1000.0 + 86400  # the last try lands on the deadline
    late = judge(row(attempts=20), Delivery(Outcome.FAILED, "down"), 1000.0 + 86400, 86400)
    assert late.give_up and "gave up" in late.detail
    unusable = judge(row(), Delivery(Outcome.UNUSABLE, "bad url"), 1001.0, 86400)
    assert unusable.give_up


def test_detail_names_the_redacted_url_never_the_secret() -> None:
    url = f"json://admin:{SECRET}@127.0.0.1:9/{SECRET}x?token={SECRET}"
    for result in (Delivery(Outcome.DELIVERED), Delivery(Outcome.FAILED, "nope")):
        attempt = judge(row(url), result, 1001.0, 86400)
        assert SECRET not in attempt.detail and "127.0.0.1" in attempt.detail


@dataclass
class MemoryStore:
    """The store's outbox contract in memory: per (monitor, url) order, attempts recorded."""

    rows: list[OutboxRow] = field(default_factory=list)
    done: dict[int, str] = field(default_factory=dict)  # row id → "delivered" | "gave up"
    log: list[tuple] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def due_outbox(self, now: float, limit: int = 100) -> list[OutboxRow]:
        with self.lock:
            due = []
            for r in self.rows:
                key = (r.item.monitor, r.item.url)
                earlier = [p for p in self.rows if (p.item.monitor, p.item.url) == key
                           and p.id < r.id and p.id not in self.done]
                if r.id not in self.done and r.next_attempt_at <= now and not earlier:
                    due.append(r)
            return due[:limit]

    def outbox_placeholders(self, prefix: str) -> dict[str, int]:
        return {}  # these tests write no Apprise config placeholders

    def expand_outbox(self, row_id: int, urls: Sequence[str], prefix: str) -> int:
        raise AssertionError("no placeholders here")

    def record_attempt(self, row_id: int, at: float, delivered: bool, error: str | None = None,
                       next_attempt_at: float | None = None, give_up: bool = False,
                       detail: str | None = None, seen_attempts: int | None = None) -> None:
        with self.lock:
            self.log.append((row_id, delivered, give_up, detail))
            index = next(i for i, r in enumerate(self.rows) if r.id == row_id)
            current = self.rows[index]
            self.rows[index] = replace(current, attempts=current.attempts + 1,
                                       next_attempt_at=next_attempt_at or at, last_error=error)
            if delivered or give_up:
                self.done[row_id] = "delivered" if delivered else "gave up"


def test_a_hanging_notifier_never_holds_stop_or_other_urls() -> None:
    release = threading.Event()

    def hanging(url: str, title: str, body: str, notify_type: str, timeout: float) -> Delivery:
        if "hang" in url:
            release.wait(30)
        return Delivery(Outcome.DELIVERED)

    store = MemoryStore([row("json://127.0.0.1:1/hang", row_id=1), row("json://127.0.0.1:1/ok", row_id=2)])
    sender = NotificationSender(store, None, deliver_fn=hanging, poll_seconds=0.05)
    sender.start()
    deadline = time.monotonic() + 5
    while 2 not in store.done and time.monotonic() < deadline:
        time.sleep(0.02)
    assert store.done == {2: "delivered"}  # the other URL was not held up
    started = time.monotonic()
    sender.stop(timeout=2.0)
    assert time.monotonic() - started < 2.5
    release.set()
    assert 1 not in store.done  # abandoned, not recorded: it stays due for a restart


def test_wake_sends_promptly_without_waiting_for_the_poll() -> None:
    with Receiver() as rx:
        store = MemoryStore()
        sender = NotificationSender(store, None, poll_seconds=30.0, timeout=2.0)
        sender.start()
        try:
            time.sleep(0.1)
            store.rows.append(row(rx.url(), row_id=1))
            started = time.monotonic()
            sender.wake()
            rx.wait_for(1, timeout=5)
            assert time.monotonic() - started < 2.0
        finally:
            sender.stop()


def test_apprise_logs_never_carry_the_secret(caplog: pytest.LogCaptureFixture) -> None:
    """Apprise and urllib3, logging at DEBUG, print the URL they post to; the guard scrubs it."""
    guard_apprise_logging()  # what deliver() sets up; then an operator turns debug logging on
    loggers = [logging.getLogger(name) for name in ("apprise", "urllib3")]
    levels = [logger.level for logger in loggers]
    caplog.set_level(logging.DEBUG)
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    try:
        with Receiver() as rx:
            url = f"json://admin:{SECRET}@127.0.0.1:{rx.port}/hook/{SECRET}?-X-Token={SECRET}"
            rx.fail(1)  # answered 500: urllib3 logs the request line, Apprise the failure
            answered = deliver(url, "t", "b", "info", 2.0)
            rx.down()  # connection refused: Apprise logs the socket error with the request path
            refused = deliver(url, "t", "b", "info", 2.0)
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
    assert answered.outcome is refused.outcome is Outcome.FAILED
    assert SECRET not in answered.why and SECRET not in refused.why
    messages = [(r.name, r.getMessage()) for r in caplog.records]
    # Apprise really logged lines that name the URL it posts to (the secret masked out of them) ...
    assert any(name == "apprise" and f"POST URL: http://127.0.0.1:{rx.port}/" in text
               for name, text in messages)
    assert any(name == "apprise" and "Socket Exception" in text and "/hook/" in text
               for name, text in messages)
    assert any(name.startswith("urllib3") and "POST /hook/" in text for name, text in messages)
    # ... and none of them carries the secret.
    assert [text for _, text in messages if SECRET in text] == []

