"""The batching writer: one thread turns a stream of pipeline writes into few transactions.

`submit` never blocks the caller. Whatever queued up while the previous batch committed becomes
the next batch, so batches grow with load and latency stays low when idle. A failed commit
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
    ) -> None:
        self._store = store
        self._max_batch = max_batch
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
        """Queue a write; returns at once."""
        with self._cond:
            if self._closing:
                raise RuntimeError("the storage writer is closed")
            self._queue.append(write)
            self._submitted += 1
            self._cond.notify_all()

    @property
    def pending(self) -> int:
        with self._cond:
            return self._submitted - self._done

    def flush(self, timeout: float | None = None) -> None:
        """Wait until everything submitted so far is committed; TimeoutError after `timeout` s."""
        with self._cond:
            target = self._submitted
            if not self._cond.wait_for(lambda: self._done >= target or not self._thread.is_alive(), timeout):
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
