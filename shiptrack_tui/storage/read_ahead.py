"""Queries run ahead on a second thread, their rows applied in order on the caller's.

A cold `status --json` on PostgreSQL runs about fifteen reads (window edges, hour rows, the
current hour), each a few milliseconds of server time during which the client only waits, then a
few tens of milliseconds of Python over the rows. Run one after another, the waits add up (about
a third of the call). Here a worker thread sends each statement as soon as the previous one has
returned its rows, on the same connection (the same transaction and snapshot: psycopg serialises
the two threads' use of it), while the caller applies the rows it already has; the GIL is free
while a thread waits for the server. Applying stays in submission order, on the caller's thread.

SQLite gains nothing (the work is all in-process) and its connections belong to one thread:
`ReadAhead(conn, enabled=False)` runs each statement at once, as a plain reader would.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol, cast

from shiptrack_tui.storage.dialect import Connection

Apply = Callable[[Sequence[Sequence[Any]]], None]


class _BinaryReads(Protocol):
    def fetch_binary(self, sql: str, params: Sequence[object]) -> list[Any]: ...


class ReadAhead:
    """`submit` statements (each with what to do with its rows), then `settle` to apply them.

    `submitted` counts the statements so far: `settle(through=mark)` applies only those submitted
    before `mark` was taken, so a caller can use early results while later statements still run.
    """

    def __init__(self, conn: Connection, enabled: bool) -> None:
        self.conn = conn
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="read-ahead") if enabled else None
        self._pending: list[tuple[Future[list[Any]], Apply]] = []
        self.submitted = 0
        self._applied = 0

    def submit(self, sql: str, params: Sequence[object], apply: Apply) -> None:
        self.submitted += 1
        if self._pool is None:
            apply(self.conn.execute(sql, params).fetchall())
            self._applied += 1
            return
        self._pending.append((self._pool.submit(self._fetch, sql, params), apply))

    def _fetch(self, sql: str, params: Sequence[object]) -> list[Any]:
        return cast(_BinaryReads, self.conn).fetch_binary(sql, params)  # only PostgreSQL reads ahead

    def settle(self, through: int | None = None) -> None:
        """Apply submitted statements' rows in submission order: all of them, or those before
        the mark `through` (a value of `submitted`)."""
        count = len(self._pending) if through is None else max(0, through - self._applied)
        try:
            while count > 0 and self._pending:
                future, apply = self._pending[0]
                rows = future.result()
                del self._pending[0]
                self._applied += 1
                count -= 1
                apply(rows)
        except BaseException:
            for future, _apply in self._pending:
                future.cancel()
            self._pending.clear()
            raise

    def close(self) -> None:
        """Stop the worker once the statement it runs (if any) is done; nothing more is sent."""
        for future, _apply in self._pending:
            future.cancel()
        self._pending.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
