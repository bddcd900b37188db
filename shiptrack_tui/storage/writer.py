"""The batching writer: one thread turns a stream of pipeline writes into few transactions.

Whatever queued up while the previous batch committed becomes the next batch, and the writer
also gathers for a moment before committing: it waits up to `gather_seconds` after the first
write of a batch (the backend's: 20 ms on SQLite, 250 ms on PostgreSQL, whose transactions cost
more; see storage/dialect.py), or until `gather_writes` (500) are queued. At ~330 checks/s on
SQLite that turns ~1.4 writes per transaction into ~7+, and the commit overhead (~160 µs of CPU
per check) with it. A write that is more than a check result (a transition, a notification, an
operator's action) ends the gathering at once, and so do `flush()`/`close()`.

A full queue (`max_pending` writes) is handled one of two ways, chosen by the producer:
- `when_full="wait"` (bulk loaders, the benchmark's seeding): `submit` BLOCKS until the writer has
  caught up below the mark, logging a warning at most once per minute; nothing is dropped.
- `when_full="shed"` (the engine, whose loop must never block on storage): `submit` returns at
  once and the OLDEST plain check result (a write with no event, outbox row, action or timeline
  entry) is dropped to make room; transitions and notifications are never dropped. Every drop is
  counted in `dropped_checks` and logged loudly (at most every 10 s, with the running total).

A failed commit (the database stayed locked past the busy timeout, a full disk, an I/O error, a
PostgreSQL server that restarted, failed over or cannot be reached) is retried with capped backoff
and never dropped for it; `stall()` says since when the current batch has been trying, the last
error and whether the database is unreachable, so the engine can report it (DESIGN §4, §12).

Exactly once: a connection lost during COMMIT leaves it unknown whether the batch landed. Each
batch carries a mark, (this writer's id, its batch number), stored in the same transaction
(`storage/batches.py`); a retry whose mark is already stored was committed the first time and is
not applied again, so no incident, timeline entry or outbox row is written twice.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Final, Literal, Protocol

from shiptrack_tui.core.vitals import BATCH_BOUNDS, COMMIT_BOUNDS, Buckets, StorageVitals
from shiptrack_tui.storage.outage import Outage, describe, is_transient, is_unreachable
from shiptrack_tui.storage.pipeline import PipelineWrite

log = logging.getLogger("shiptrack.storage")

MAX_BATCH: Final = 5000
GATHER_SECONDS: Final = 0.02
GATHER_WRITES: Final = 500
MAX_PENDING: Final = 10_000
WARN_EVERY: Final = 60.0
RETRY_FIRST: Final = 0.05
RETRY_CAP: Final = 2.0
STALL_SECONDS: Final = 5.0
"""A batch that has not committed after this long counts as a stall even before it fails."""
DROP_LOG_EVERY: Final = 10.0


class BatchSink(Protocol):
    """What the writer needs of a store (storage.Store is one): no import of store.py here."""

    def connection_context(self) -> AbstractContextManager[object]: ...

    def commit_batch(self, writes: Sequence[PipelineWrite], mark: tuple[str, int] | None = None) -> bool:
        """Store the batch; False when its `mark` was already stored (see storage/batches.py)."""
        ...


@dataclass(frozen=True, slots=True)
class WriterStall:
    """The current batch has been trying to commit for `seconds`; `error` is its last failure."""

    seconds: float
    error: str | None
    waiting: int
    dropped: int
    unreachable: bool = False  # the database server cannot be reached (PostgreSQL)
    backend: str = "sqlite"


def is_plain(write: PipelineWrite) -> bool:
    """A check result and nothing else: the only kind of write a full queue may drop."""
    return not (write.events or write.outbox or write.timeline or write.timeline_notes
                or write.action_id is not None or write.action_error is not None
                or write.status is not None or write.severity is not None or write.ping_ids)


class Writer:
    """Owns a thread that commits submitted `PipelineWrite`s in batches, in submission order."""

    def __init__(
        self,
        store: BatchSink,
        *,
        max_batch: int = MAX_BATCH,
        on_commit: Callable[[Sequence[PipelineWrite]], None] | None = None,
        name: str = "shiptrack-writer",
        gather_seconds: float | None = None,
        gather_writes: int = GATHER_WRITES,
        max_pending: int = MAX_PENDING,
        when_full: Literal["wait", "shed"] = "wait",
    ) -> None:
        self._store = store
        self._max_batch = max_batch
        self._gather_seconds = getattr(store, "gather_seconds", GATHER_SECONDS) if gather_seconds is None \
            else gather_seconds
        self._urgent = 0  # queued writes that are more than a check result: commit without gathering
        self._gather_writes = max(1, min(gather_writes, max_batch))
        self._max_pending = max(1, max_pending)
        self._shed = when_full == "shed"
        self.dropped_checks = 0  # plain check results shed by a full queue (when_full="shed")
        self._drops_logged = 0
        self._drop_logged_at = -DROP_LOG_EVERY
        self._batch_started: float | None = None  # monotonic start of the batch being committed
        self._batch_failures = 0
        self._last_error: str | None = None
        self._unreachable = False  # the last failure was "the server cannot be reached"
        self.writer_id = uuid.uuid4().hex  # with the batch number, each batch's exactly-once mark
        self._seq = 0
        self.replayed = 0  # retried batches found already committed (their COMMIT's answer was lost)
        self._outage: Outage = getattr(store, "outage", None) or Outage()
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
        self.batch_writes = Buckets(BATCH_BOUNDS)  # writes per committed transaction, for /metrics
        self.commit_seconds = Buckets(COMMIT_BOUNDS)  # each transaction's time, retries included
        self.retries = 0
        self.dropped = 0  # writes refused by the database itself (bugs), never transient failures
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, write: PipelineWrite) -> None:
        """Queue a write; when `max_pending` writes wait, block or shed (see the module docstring)."""
        with self._cond:
            if self._closing:
                raise RuntimeError("the storage writer is closed")
            if self._submitted - self._done >= self._max_pending:
                if self._shed:
                    self._shed_oldest_check()
                elif threading.current_thread() is not self._thread:
                    self._wait_for_room()
                    if self._closing:
                        raise RuntimeError("the storage writer is closed")
            self._queue.append(write)
            self._submitted += 1
            urgent = not is_plain(write)
            self._urgent += urgent
            if len(self._queue) == 1 or len(self._queue) >= self._gather_writes or urgent:
                self._cond.notify_all()

    def _wait_for_room(self) -> None:
        """Block (holding nothing but the condition's wait) until the queue is below the mark."""
        started = time.monotonic()
        self._cond.wait_for(lambda: self._submitted - self._done < self._max_pending or self._closing
                            or not self._thread.is_alive())
        waited = time.monotonic() - started
        self.blocked += 1
        self.blocked_seconds += waited
        if started - self._warned_at >= WARN_EVERY:
            self._warned_at = started
            log.warning("storage writer behind: %d writes queued; submit waited %.3fs for it to catch up "
                        "(nothing is dropped)", self._max_pending, waited)

    def _shed_oldest_check(self) -> None:
        """Drop the oldest queued plain check result (condition held); transitions stay."""
        index = next((i for i, queued in enumerate(self._queue) if is_plain(queued)), None)
        if index is None:
            return  # only transitions wait: memory grows rather than lose one
        del self._queue[index]
        self._done += 1  # it will never be committed: flush() must not wait for it
        self.dropped_checks += 1
        now = time.monotonic()
        if now - self._drop_logged_at >= DROP_LOG_EVERY:
            self._drop_logged_at = now
            self._log_drops()

    def _log_drops(self) -> None:
        fresh = self.dropped_checks - self._drops_logged
        self._drops_logged = self.dropped_checks
        log.error("storage behind: dropped %s check results (%s in all), oldest first, to hold at most %s "
                  "writes in memory; incident changes and notifications are all kept",
                  f"{fresh:,}", f"{self.dropped_checks:,}", f"{self._max_pending:,}")

    def stall(self) -> WriterStall | None:
        """The current stall, or None when writes are getting through.

        With nothing to write, an outage another storage user met (the action poll, the sender)
        still counts: the database is unreachable whether or not a batch waits for it."""
        backend = str(getattr(self._store, "backend", "sqlite"))
        with self._cond:
            started, failures = self._batch_started, self._batch_failures
            waiting = self._submitted - self._done
            if started is None:
                seconds = self._outage.seconds()
                if seconds is None:
                    return None
                return WriterStall(seconds, self._outage.error, waiting, self.dropped_checks, True, backend)
            seconds = time.monotonic() - started
            if failures == 0 and seconds < STALL_SECONDS:
                return None
            return WriterStall(seconds, self._last_error, waiting, self.dropped_checks,
                               self._unreachable, backend)

    def vitals(self) -> StorageVitals:
        """What waits, what was shed and how commits went, for /health and /metrics (any thread)."""
        stall = self.stall()
        return StorageVitals(queued=self.pending, dropped_checks=self.dropped_checks,
                             stalled_seconds=None if stall is None else stall.seconds,
                             stall_error=None if stall is None else stall.error,
                             unreachable=stall is not None and stall.unreachable,
                             backend=str(getattr(self._store, "backend", "sqlite")),
                             batch_writes=self.batch_writes.snapshot(),
                             commit_seconds=self.commit_seconds.snapshot())

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
        with self._cond:
            if self.dropped_checks > self._drops_logged:
                self._log_drops()
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
                    # Taken out now, so that shedding never touches a batch being committed.
                    batch = [self._queue.popleft() for _ in range(count)]
                    self._urgent -= sum(not is_plain(write) for write in batch)  # shedding drops plain ones
                    self._batch_started, self._batch_failures = time.monotonic(), 0
                self._commit(batch)
                with self._cond:
                    self._done += count
                    self._batch_started = None
                    self._unreachable = False
                    self._cond.notify_all()
                if self._on_commit is not None:
                    try:
                        self._on_commit(batch)
                    except Exception:
                        log.exception("storage on_commit callback failed")

    def _gather(self) -> None:
        """Wait (condition held) a moment for more writes to share the transaction."""
        deadline = time.monotonic() + self._gather_seconds
        while (len(self._queue) < self._gather_writes and not self._closing and not self._flushing
               and not self._urgent):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self._cond.wait(remaining)

    def _commit(self, batch: list[PipelineWrite]) -> None:
        delay = RETRY_FIRST
        started = time.monotonic()
        self._seq += 1
        mark = (self.writer_id, self._seq)  # the same on every retry of this batch
        while True:
            try:
                applied = self._store.commit_batch(batch, mark=mark)
                self._outage.ok()
                if applied is False:
                    self.replayed += 1
                    log.info("storage: a batch of %d changes had been committed before its connection "
                             "was lost; not applied again", len(batch))
                self.batches += 1
                self.batch_writes.observe(len(batch))
                self.commit_seconds.observe(time.monotonic() - started)
                return
            except Exception as error:
                if not is_transient(error):
                    failed = error
                else:
                    self.retries += 1
                    self._outage.failed(error)
                    with self._cond:
                        self._batch_failures += 1
                        self._last_error = describe(error)
                        self._unreachable = is_unreachable(error)
                    # The engine reports the stall with its age (one line every 30 s); this is detail.
                    log.debug("storage write of %d changes failed (%s); retrying in %.2fs",
                              len(batch), error, delay)
                    time.sleep(delay)
                    delay = min(delay * 2, RETRY_CAP)
                    continue
            if len(batch) > 1:
                # One bad write must not take its batch-mates down: commit them one by one.
                log.debug("storage refused a batch (%s); committing its writes one by one", failed)
                for write in batch:
                    self._commit([write])
                return
            self.dropped += 1
            log.error("storage refused a write for %s; it is dropped", batch[0].monitor, exc_info=failed)
            return
