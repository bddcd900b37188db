"""One thread owns the dashboard's database connection; the UI loop awaits its answers.

peewee keeps a connection per thread, and Textual's thread workers start a new thread each time,
so every read and write goes through a single-thread executor that opened the store itself.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Final, Protocol, TypeVar

from shiptrack_tui.core.cluster_view import Checker, ClusterNode
from shiptrack_tui.core.location_view import LocationView
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
log = logging.getLogger(__name__)
LISTEN_SECONDS: Final = 1.0
"""How long one wait for a notification lasts: closing the gateway waits for at most this."""


class StoreReader(Protocol):
    """The part of `shiptrack_tui.storage.store.Store` the dashboard uses."""

    @property
    def backend(self) -> str: ...

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

    def location_states(self, monitors: Collection[str] | None = None
                        ) -> Mapping[str, tuple[LocationView, ...]]: ...

    def data_version(self) -> int: ...

    def wait_for_change(self, timeout: float) -> bool: ...

    def cluster_nodes(self, lease_seconds: float = ...) -> list[ClusterNode]: ...

    def monitor_checkers(self, monitors: Collection[str]) -> dict[str, tuple[Checker, ...]]: ...

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

    def announce_rename(self, old: str, new: str, at: float, source: str) -> tuple[int | None, bool]: ...

    def withdraw_rename(self, action_id: int, at: float) -> None: ...

    def action_outcome(self, action_id: int) -> tuple[float | None, str | None]: ...

    def history(self, monitor: str) -> MonitorHistory | None: ...

    def push_token(self, monitor: str) -> str | None: ...


def open_store(path: Path | StoreTarget) -> StoreReader:
    """A SQLite file or a StoreTarget (a file or a PostgreSQL URL); storage is imported late."""
    from shiptrack_tui.store_target import StoreTarget

    return StoreTarget.of(path).open()


class StoreGateway:
    """Runs store calls on one dedicated thread, in order, and hands results back to the loop.

    On PostgreSQL a second thread listens for other connections' commits (`listen`); it only ever
    touches the store's listener connection, never the calls' connection.
    """

    def __init__(self, path: Path | StoreTarget,
                 opener: Callable[[Path | StoreTarget], StoreReader] = open_store) -> None:
        from shiptrack_tui.store_target import StoreTarget

        self.path = path
        self.local = StoreTarget.of(path).local
        """The file this machine's lock and heartbeat are named after (store_target.py)."""
        self._opener = opener
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shiptrack-tui-db")
        self._store: StoreReader | None = None
        self._closing = threading.Event()
        """Set by `stop_listening` or `close`: the listening thread ends within LISTEN_SECONDS."""
        self._listener: threading.Thread | None = None

    def _require(self) -> StoreReader:
        if self._store is None:
            self._store = self._opener(self.path)
        return self._store

    async def call(self, fn: Callable[[StoreReader], T]) -> T:
        """Run `fn(store)` on the database thread (opening the store there on first use)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: fn(self._require()))

    async def listen(self, changed: Callable[[], None]) -> None:
        """Call `changed()` (from the listening thread) once listening has begun, and then
        whenever another connection commits (PostgreSQL's LISTEN/NOTIFY), until `close`."""
        store = await self.call(lambda store: store)
        if self._listener is None and not self._closing.is_set():
            self._listener = threading.Thread(target=self._listen, args=(store, changed),
                                              name="shiptrack-tui-listen", daemon=True)
            self._listener.start()

    def _listen(self, store: StoreReader, changed: Callable[[], None]) -> None:
        while not self._closing.is_set():
            try:
                store.data_version()  # LISTEN from here on; the read `changed` asks for covers the rest
                changed()
                while not self._closing.is_set():
                    if store.wait_for_change(LISTEN_SECONDS) and not self._closing.is_set():
                        changed()
            except Exception as error:  # the database went away: listen again once it is back
                if not self._closing.is_set():
                    log.warning("listening for database changes failed (%s); retrying", error)
                    self._closing.wait(LISTEN_SECONDS)

    def stop_listening(self) -> None:
        """End the listening thread (the screen that asked for it went away)."""
        self._closing.set()

    def _close(self) -> None:
        if self._listener is not None:  # it must not reconnect its listener after the close
            self._listener.join(LISTEN_SECONDS * 5)
        if self._store is not None:
            self._store.close()
            self._store = None

    async def close(self) -> None:
        self._closing.set()
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._executor, self._close)
        finally:
            self._executor.shutdown(wait=False, cancel_futures=True)
