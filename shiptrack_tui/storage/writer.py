"""The batching writer: one thread turns a stream of pipeline writes into few transactions.

Whatever queued up while the previous batch committed becomes the next batch, and the writer
also gathers for a moment before committing: it waits up to `gather_seconds` (20 ms) after the
first write of a batch, or until `gather_writes` (500) are queued. At ~330 checks/s that turns
~1.4 writes per transaction into ~7+, and the commit overhead (~160 µs of CPU per check) with it;
an idle engine waits at most those 20 ms, and `flush()`/`close()` cut the wait short.

Backpressure: the queue holds at most `max_pending` (10,000) writes. `submit` returns at once
below that; above it, it BLOCKS until the writer has caught up below the mark (logging a warning,
at most once per minute, with how long it waited) instead of dropping anything: a write is a check
result and may carry an incident or a notification, so losing it is worse than slowing the
producer. The writer thread itself (an `on_commit` callback) is never blocked. A failed commit
(e.g. the database stayed locked past the busy timeout) is retried; no write is dropped for it.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Final

import peewee

from shiptrack_tui.storage.pipeline import PipelineWrite

if TYPE_CHECKING:
    from shiptrack_tui.storage.store import Store

log = logging.getLogger("shiptrack.storage")

TRANSIENT: Final = (sqlite3.OperationalError, peewee.OperationalError)
MAX_BATCH: Final = 5000
GATHER_SECONDS: Final = 0.02
GATHER_WRITES: Final = 500
MAX_PENDING: Final = 10_000
WARN_EVERY: Final = 60.0
RETRY_FIRST: Final = 0.05
RETRY_CAP: Final = 2.0


class Writer:
    """Owns a thread that commits submitted `PipelineWrite`s in batches, in submission order."""

    def __init__(
        self,
        store: Store,
        *,
        max_batch: int = MAX_BATCH,
        on_commit: Callable[[Sequence[PipelineWrite]], None] | None = None,
        name: str = "shiptrack-writer",
        gather_seconds: float = GATHER_SECONDS,
        gather_writes: int = GATHER_WRITES,
        max_pending: int = MAX_PENDING,
    ) -> None:
        self._store = store
        self._max_batch = max_batch
        self._gather_seconds = gather_seconds
        self._gather_writes = max(1, min(gather_writes, max_batch))
        self._max_pending = max(1, max_pending)
        self._flushing = 0  # callers waiting in flush(): commit without gathering
        self._warned_at = -WARN_EVERY
        self.blocked = 0  # submits that waited for the queue to drain, for tests and the benchmark
        self.blocked_seconds = 0.0
        self._on_commit = on_commit
        self._cond = threading.Condition()
        self._queue: deque[PipelineWrite] = deque()
        self._submitted = 0
        self._done = 0
        self._closing = False
        self.batches = 0  # committed transactions, for tests and the benchmark
        self.retries = 0
        self.dropped = 0  # writes refused by the database itself (bugs), never transient failures
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, write: PipelineWrite) -> None:
        """Queue a write; returns at once unless `max_pending` writes wait (then it blocks until
        the writer catches up: see the module docstring)."""
        with self._cond:
            if self._closing:
                raise RuntimeError("the storage writer is closed")
            if len(self._queue) >= self._max_pending and threading.current_thread() is not self._thread:
                self._wait_for_room()
                if self._closing:
                    raise RuntimeError("the storage writer is closed")
            self._queue.append(write)
            self._submitted += 1
            if len(self._queue) == 1 or len(self._queue) >= self._gather_writes:
                self._cond.notify_all()

    def _wait_for_room(self) -> None:
        """Block (holding nothing but the condition's wait) until the queue is below the mark."""
        started = time.monotonic()
        self._cond.wait_for(lambda: len(self._queue) < self._max_pending or self._closing
                            or not self._thread.is_alive())
        waited = time.monotonic() - started
        self.blocked += 1
        self.blocked_seconds += waited
        if started - self._warned_at >= WARN_EVERY:
            self._warned_at = started
            log.warning("storage writer behind: %d writes queued; submit waited %.3fs for it to catch up "
                        "(nothing is dropped)", self._max_pending, waited)

    @property
    def pending(self) -> int:
        with self._cond:
            return self._submitted - self._done

    def flush(self, timeout: float | None = None) -> None:
        """Wait until everything submitted so far is committed; TimeoutError after `timeout` s."""
        with self._cond:
            target = self._submitted
            self._flushing += 1
            self._cond.notify_all()  # stop gathering: someone waits
            try:
                done = self._cond.wait_for(
                    lambda: self._done >= target or not self._thread.is_alive(), timeout)
            finally:
                self._flushing -= 1
            if not done:
                raise TimeoutError(f"{target - self._done} storage writes still waiting after {timeout}s")

    def close(self, timeout: float | None = None) -> None:
        """Commit everything submitted, then stop the thread."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError(f"{self.pending} storage writes still waiting after {timeout}s")

    def _run(self) -> None:
        with self._store.connection_context():
            while True:
                with self._cond:
                    self._cond.wait_for(lambda: self._queue or self._closing)
                    if not self._queue:
                        return
                    self._gather()
                    count = min(len(self._queue), self._max_batch)
                    batch = [self._queue[i] for i in range(count)]
                self._commit(batch)
                with self._cond:
                    for _ in range(count):
                        self._queue.popleft()
                    self._done += count
                    self._cond.notify_all()
                if self._on_commit is not None:
                    try:
                        self._on_commit(batch)
                    except Exception:
                        log.exception("storage on_commit callback failed")

    def _gather(self) -> None:
        """Wait (condition held) a moment for more writes to share the transaction."""
        deadline = time.monotonic() + self._gather_seconds
        while len(self._queue) < self._gather_writes and not self._closing and not self._flushing:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self._cond.wait(remaining)

    def _commit(self, batch: list[PipelineWrite]) -> None:
        delay = RETRY_FIRST
        while True:
            try:
                self._store.commit_batch(batch)
                self.batches += 1
                return
            except TRANSIENT as error:
                self.retries += 1
                log.warning("storage write of %d changes failed (%s); retrying in %.2fs",
                            len(batch), error, delay)
            except Exception:
                if len(batch) > 1:
                    # One bad write must not take its batch-mates down: commit them one by one.
                    for write in batch:
                        self._commit([write])
                    return
                self.dropped += 1
                log.exception("storage refused a write for %s; it is dropped", batch[0].monitor)
                return
            time.sleep(delay)
            delay = min(delay * 2, RETRY_CAP)
