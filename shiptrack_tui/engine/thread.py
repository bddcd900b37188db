"""The engine on its own event loop in a dedicated thread, so rendering never delays a check."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable

from shiptrack_tui.config import Config
from shiptrack_tui.engine.engine import Engine

log = logging.getLogger("shiptrack.engine")


class EngineThread:
    """Start, wake and stop an `Engine` from another thread (the dashboard's)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self.error: BaseException | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="shiptrack-engine", daemon=True)
        self._thread.start()
        self._started.wait(timeout=10)

    def _run(self) -> None:
        async def main() -> None:
            self._started.set()
            await self.engine.run()

        try:
            asyncio.run(main())
        except BaseException as error:  # reported to the UI; the thread must not die silently
            self.error = error
            log.exception("engine stopped on an error")
        finally:
            self._started.set()

    def stop(self, timeout: float | None = None) -> None:
        """Finish in-flight checks, flush every write, and wait for the thread to end.

        By default it waits as long as that takes: the engine bounds its own shutdown (in-flight
        checks by their timeouts, a stalled database by `SHUTDOWN_STALL_SECONDS`), and the caller
        closes the store next, which must never happen under a flush still running.
        """
        if self._thread is None:
            return
        self.engine.request_stop()
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("the engine is still finishing its work after %ss", timeout)

    def wake(self) -> None:
        self.engine.wake()

    def reload(self, config: Config) -> None:
        """Apply a new config on the engine's loop (thread-safe; returns at once)."""
        self.engine.reload(config)

    def add_listener(self, callback: Callable[[set[str]], None]) -> None:
        self.engine.add_listener(callback)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()
