"""One thread owns the dashboard's database connection; the UI loop awaits its answers.

peewee keeps a connection per thread, and Textual's thread workers start a new thread each time,
so every read and write goes through a single-thread executor that opened the store itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

from shiptrack_tui.core.model import (
    ActionKind,
    CheckResult,
    Incident,
    MonitorHistory,
    MonitorSummary,
    Silence,
    WindowStats,
)

if TYPE_CHECKING:
    from shiptrack_tui.store_target import StoreTarget

T = TypeVar("T")


class StoreReader(Protocol):
    """The part of `shiptrack_tui.storage.store.Store` the dashboard uses."""

    def close(self) -> None: ...

    def monitor_summaries(
        self, now: float, windows: Sequence[str] = ("1h", "24h", "7d", "30d"),
        names: Collection[str] | None = None,
    ) -> list[MonitorSummary]: ...

    def monitor_marks(self) -> tuple[int, dict[str, tuple[object, ...]]]: ...

    def window_stats(self, monitor: str, now: float, window_seconds: float) -> WindowStats: ...

    def incidents(
        self, open_only: bool = False, monitor: str | None = None, limit: int | None = None
    ) -> list[Incident]: ...

    def recent_checks(self, monitor: str, limit: int = 50) -> list[CheckResult]: ...

    def latency_series(self, monitor: str, since: float, until: float, points: int) -> list[float | None]: ...

    def failure_series(self, monitor: str, since: float, until: float, points: int) -> list[int]: ...

    def first_check_at(self, monitor: str) -> float | None: ...

    def data_version(self) -> int: ...

    def active_silences(self) -> list[Silence]: ...

    def add_action(
        self,
        kind: ActionKind,
        at: float,
        monitor: str | None = None,
        incident_id: int | None = None,
        note: str | None = None,
        source: str = "cli",
        value: str | None = None,
    ) -> int: ...

    def reject_action(self, action_id: int, at: float, error: str) -> None: ...

    def history(self, monitor: str) -> MonitorHistory | None: ...

    def push_token(self, monitor: str) -> str | None: ...


def open_store(path: Path | StoreTarget) -> StoreReader:
    """A SQLite file or a StoreTarget (a file or a PostgreSQL URL); storage is imported late."""
    from shiptrack_tui.store_target import StoreTarget

    return StoreTarget.of(path).open()


class StoreGateway:
    """Runs store calls on one dedicated thread, in order, and hands results back to the loop."""

    def __init__(self, path: Path | StoreTarget,
                 opener: Callable[[Path | StoreTarget], StoreReader] = open_store) -> None:
        from shiptrack_tui.store_target import StoreTarget

        self.path = path
        self.local = StoreTarget.of(path).local
        """The file this machine's lock and heartbeat are named after (store_target.py)."""
        self._opener = opener
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shiptrack-tui-db")
        self._store: StoreReader | None = None

    def _require(self) -> StoreReader:
        if self._store is None:
            self._store = self._opener(self.path)
        return self._store

    async def call(self, fn: Callable[[StoreReader], T]) -> T:
        """Run `fn(store)` on the database thread (opening the store there on first use)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: fn(self._require()))

    def _close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._executor, self._close)
        finally:
            self._executor.shutdown(wait=False, cancel_futures=True)
