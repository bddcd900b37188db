"""Drain the outbox: deliver each due row to its one URL, record every attempt, back off, give up.

The sender has its own thread and touches the store only from it; deliveries run on short-lived
daemon threads, one URL at a time per URL, so a hanging notifier holds neither a check nor the
other URLs, and `stop()` returns within seconds whatever Apprise is doing.

Delivery is at-least-once: the outbox row is durable, `delivered` is recorded after Apprise
answers, and a crash between the two sends the message once more after a restart. A database
that is away when the answer comes does not send it twice: the attempt is held in memory (its row
stays "in flight") and recorded when the database is back, once (`seen_attempts` guards a retry
whose first COMMIT landed unseen). Order per
(monitor, URL) is the store's job: `due_outbox` hands out a row only once every earlier row of
the same monitor and URL was delivered or given up.

In a cluster the store is engine/cluster_outbox.py's `ClusterOutbox`: rows come claimed, and two
optional methods take part: `still_ours(row)` right before a send (False: not sent, not recorded)
and `release_unsent(rows)` for claimed rows not started this round.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from shiptrack_tui.core.durations import format_duration
from shiptrack_tui.core.model import OutboxRow
from shiptrack_tui.notify.config_file import PLACEHOLDER_PREFIX, is_placeholder, parse_placeholder
from shiptrack_tui.notify.delivery import DEFAULT_TIMEOUT, Delivery, Outcome, deliver
from shiptrack_tui.notify.redact import redact_url
from shiptrack_tui.notify.routing import (
    NotifySettingsLike,
    expand_placeholder,
    load_config_targets,
    split_urls,
)
from shiptrack_tui.storage.outage import Outage, trouble

log = logging.getLogger("shiptrack.notify")

DEFAULT_GIVE_UP_AFTER: Final = 86400.0
BACKOFF_BASE: Final = 5.0
BACKOFF_CAP: Final = 600.0
POLL_SECONDS: Final = 1.0
MAX_IN_FLIGHT: Final = 8

Deliver = Callable[[str, str, str, str, float], Delivery]


class OutboxStore(Protocol):
    """The part of `storage.Store` the sender uses."""

    def due_outbox(self, now: float, limit: int = 100) -> list[OutboxRow]: ...

    def record_attempt(
        self,
        row_id: int,
        at: float,
        delivered: bool,
        error: str | None = None,
        next_attempt_at: float | None = None,
        give_up: bool = False,
        detail: str | None = None,
        seen_attempts: int | None = None,
    ) -> None: ...

    def outbox_placeholders(self, prefix: str) -> dict[str, int]: ...

    def expand_outbox(self, row_id: int, urls: Sequence[str], prefix: str) -> int: ...


class SenderSettings(Protocol):
    @property
    def give_up_after(self) -> float: ...


def backoff(attempts: int, base: float = BACKOFF_BASE, cap: float = BACKOFF_CAP) -> float:
    """Seconds to wait after the `attempts`-th failed attempt: base, 2×base, 4×base, … capped."""
    return min(cap, base * 2 ** max(0, attempts - 1))


@dataclass(frozen=True, slots=True)
class Attempt:
    """What the sender records for one delivery attempt of one outbox row."""

    row_id: int
    at: float
    delivered: bool
    error: str | None
    next_attempt_at: float | None
    give_up: bool
    detail: str


def judge(row: OutboxRow, result: Delivery, at: float, give_up_after: float,
          base: float = BACKOFF_BASE, cap: float = BACKOFF_CAP) -> Attempt:
    """Turn one delivery result into the attempt to record: delivered, retry later, or give up."""
    shown = redact_url(row.item.url)
    what = f"{row.item.transition} → {shown}"
    attempts = row.attempts + 1
    if result.delivered:
        return Attempt(row.id, at, True, None, None, False, f"{what}: delivered (attempt {attempts})")
    deadline = row.created_at + give_up_after
    if result.outcome is Outcome.UNUSABLE or at >= deadline:
        after = format_duration(at - row.created_at)
        return Attempt(row.id, at, False, result.why, None, True,
                       f"{what}: gave up after {attempts} attempts over {after}: {result.why}")
    retry_at = min(at + backoff(attempts, base, cap), deadline)
    return Attempt(row.id, at, False, result.why, retry_at, False,
                   f"{what}: attempt {attempts} failed: {result.why}; "
                   f"next try in {format_duration(retry_at - at)}")


class NotificationSender:
    """Delivers outbox rows in the background; `wake()` when new rows land, `stop()` to finish."""

    def __init__(
        self,
        store: OutboxStore,
        settings: SenderSettings | None = None,
        *,
        clock: Callable[[], float] = time.time,
        timeout: float = DEFAULT_TIMEOUT,
        poll_seconds: float = POLL_SECONDS,
        backoff_base: float = BACKOFF_BASE,
        backoff_cap: float = BACKOFF_CAP,
        max_in_flight: int = MAX_IN_FLIGHT,
        deliver_fn: Deliver = deliver,
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.timeout = timeout
        self.poll_seconds = poll_seconds
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.max_in_flight = max_in_flight
        self._deliver = deliver_fn
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._done: queue.SimpleQueue[tuple[OutboxRow, Delivery | None, float]] = queue.SimpleQueue()
        self._in_flight: dict[int, str] = {}  # row id → url
        self._unrecorded: list[tuple[OutboxRow, Attempt]] = []  # finished, the database was away
        self._outage: Outage = getattr(store, "outage", None) or Outage()
        self._thread: threading.Thread | None = None
        self.attempts = 0  # attempts recorded since start, for tests and the logs

    @property
    def give_up_after(self) -> float:
        value = getattr(self.settings, "give_up_after", None)
        return DEFAULT_GIVE_UP_AFTER if value is None else float(value)

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="shiptrack-notify", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """New rows landed: look at the outbox now rather than at the next poll."""
        self._wake.set()

    def stop(self, timeout: float = 3.0) -> None:
        """Stop sending; records what has finished and returns within about `timeout` seconds.

        A delivery still waiting on a hanging service is abandoned: its row stays undelivered in
        the outbox and is sent again after a restart.
        """
        self._stop.set()
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                log.warning("the notification sender is still busy; leaving it behind")

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- the loop -------------------------------------------------------------------------------
    def _run(self) -> None:
        # peewee gives each thread its own connection: open ours for the loop's life, then close it.
        opener = getattr(self.store, "connection_context", None)
        self._preload_apprise_config()
        with opener() if opener is not None else contextlib.nullcontext():
            self._loop()

    def _preload_apprise_config(self) -> None:
        """Parse the Apprise config file here, so the engine's first routing call finds it cached."""
        path = getattr(self.settings, "apprise_config", None)
        if path:
            try:
                load_config_targets(path)
            except Exception:
                log.exception("could not read the Apprise config file")

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
                if not self._unrecorded:  # held attempts: recording them just failed, still away
                    self._outage.ok()
            except Exception as error:
                trouble(self._outage, error, "notification sender step failed", log)
            self._wake.wait(self.poll_seconds)
            self._wake.clear()
        # Record what finished while we were stopping; anything still running is left to a restart.
        deadline = time.monotonic() + 1.0
        while self._in_flight and time.monotonic() < deadline:
            self._record_finished(block=0.05)
        self._record_finished()

    def run_once(self) -> int:
        """Record finished deliveries and start the due ones; returns how many were started."""
        self._record_finished()
        if self._unrecorded:
            return 0  # the database is away: nothing new goes out before what went out is recorded
        if self._stop.is_set():
            return 0
        free = self.max_in_flight - len(self._in_flight)
        if free <= 0:
            return 0
        busy_urls = set(self._in_flight.values())
        started = 0
        due = self.store.due_outbox(self.clock(), limit=max(free * 4, 16))
        unsent: list[OutboxRow] = []
        waiting = self.store.outbox_placeholders(PLACEHOLDER_PREFIX) if due else {}
        plain = self._plain_urls() if waiting else frozenset()
        for row in due:
            if started >= free:
                unsent.append(row)
                continue
            if is_placeholder(row.item.url):
                self._expand(row)
                continue
            behind = waiting.get(row.item.monitor)
            if behind is not None and row.id > behind and row.item.url not in plain:
                unsent.append(row)
                continue  # it may go to an entry of the unreadable config file: the earlier message first
            if row.id in self._in_flight or row.item.url in busy_urls:
                unsent.append(row)
                continue  # one delivery at a time per URL keeps its messages in order
            busy_urls.add(row.item.url)
            self._in_flight[row.id] = row.item.url
            threading.Thread(target=self._deliver_row, args=(row,), daemon=True,
                             name=f"shiptrack-notify-{row.id}").start()
            started += 1
        release = getattr(self.store, "release_unsent", None)
        if unsent and release is not None:
            release(unsent)
        return started

    def _plain_urls(self) -> frozenset[str]:
        """URLs configured directly ([notify] urls, channels): never entries of the config file."""
        settings = self.settings
        if settings is None:
            return frozenset()
        configured = [*getattr(settings, "urls", ()),
                      *(url for channel in getattr(settings, "channels", ()) for url in channel.urls)]
        return frozenset(url for entry in configured for url in split_urls(entry))

    def _routing(self) -> NotifySettingsLike | None:
        settings = self.settings
        needed = ("urls", "events", "channels", "apprise_config")
        return settings if all(hasattr(settings, name) for name in needed) else None  # type: ignore[return-value]

    def _expand(self, row: OutboxRow) -> None:
        """A transition owed to the Apprise config file's entries: queue it for each, or retry later."""
        urls = expand_placeholder(row, self._routing())
        path, _tags = parse_placeholder(row.item.url)
        at = self.clock()
        if urls is None:
            result = Delivery(Outcome.FAILED, f"the Apprise config file {path} cannot be read")
            attempt = judge(row, result, at, self.give_up_after, self.backoff_base, self.backoff_cap)
            self.store.record_attempt(attempt.row_id, at, False, error=attempt.error,
                                      next_attempt_at=attempt.next_attempt_at, give_up=attempt.give_up,
                                      detail=attempt.detail)
            log.warning("%s: %s", item_label(row), attempt.detail)
            return
        queued = self.store.expand_outbox(row.id, urls, PLACEHOLDER_PREFIX)
        log.info("%s: the Apprise config file %s reads again: queued for its %d routed entries",
                 item_label(row), path, queued)
        self._wake.set()

    def drain(self, timeout: float = 10.0) -> None:
        """Run the loop inline until nothing is due or in flight (tests and one-shot use)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            started = self.run_once()
            if not started and not self._in_flight:
                return
            self._record_finished(block=0.05)
        raise TimeoutError("the outbox did not drain in time")

    def _deliver_row(self, row: OutboxRow) -> None:
        item = row.item
        result: Delivery | None
        try:
            still_ours = getattr(self.store, "still_ours", None)
            if still_ours is not None and not still_ours(row):
                result = None  # another node's to send now (a cluster's claim lapsed)
            else:
                result = self._deliver(item.url, item.title, item.body, item.notify_type, self.timeout)
        except Exception as exc:  # deliver() does not raise, but a replacement might
            result = Delivery(Outcome.FAILED, type(exc).__name__)
        self._done.put((row, result, self.clock()))
        self._wake.set()

    def _record_finished(self, block: float = 0.0) -> None:
        held, self._unrecorded = self._unrecorded, []
        for index, (row, attempt) in enumerate(held):
            if not self._record(row, attempt):
                self._unrecorded.extend(held[index:])  # in order; the database is still away
                return
        while True:
            try:
                row, result, at = self._done.get(timeout=block) if block else self._done.get_nowait()
            except queue.Empty:
                return
            block = 0.0
            if result is None:
                log.info("%s: not sent, its claim lapsed; another node sends it", item_label(row))
                self._in_flight.pop(row.id, None)
                continue
            attempt = judge(row, result, at, self.give_up_after, self.backoff_base, self.backoff_cap)
            if self._unrecorded or not self._record(row, attempt):
                self._unrecorded.append((row, attempt))

    def _record(self, row: OutboxRow, attempt: Attempt) -> bool:
        """Record one finished attempt; False (the row stays in flight) when the database is away."""
        try:
            self.store.record_attempt(
                attempt.row_id, attempt.at, attempt.delivered, error=attempt.error,
                next_attempt_at=attempt.next_attempt_at, give_up=attempt.give_up,
                detail=attempt.detail, seen_attempts=row.attempts,
            )
        except Exception as error:
            if self._outage.failed(error):
                return False  # held: recorded when the database is back, never sent again meanwhile
            # Not recorded: the row stays due and is tried again (at most one duplicate).
            log.exception("could not record a notification attempt for outbox row %s", row.id)
        else:
            self.attempts += 1
            level = logging.INFO if attempt.delivered else logging.WARNING
            log.log(level, "%s: %s", item_label(row), attempt.detail)
        self._in_flight.pop(row.id, None)
        return True


def item_label(row: OutboxRow) -> str:
    return f"{row.item.monitor} [{row.item.transition}]"
