"""`DemoTargets` on its own event loop in a daemon thread.

The dashboard and the daemon run the engine on loops of their own, and tests want a server that
needs no subprocess; this wrapper serves all of them. Controls are thread-safe: they run on the
server's loop and return once applied.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Self, TypeVar

from shiptrack_tui.demo.server import DemoTargets, Override

__all__ = ["DemoTargetsThread"]

T = TypeVar("T")


class DemoTargetsThread:
    """Run `DemoTargets` in a daemon thread: `start()` returns once it listens, `stop()` joins."""

    def __init__(self, outage_up: float = 60.0, outage_down: float = 30.0,
                 idle_timeout: float = 120.0) -> None:
        self.targets = DemoTargets(outage_up=outage_up, outage_down=outage_down,
                                   idle_timeout=idle_timeout)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def start(self, host: str = "127.0.0.1", port: int = 0, *, fallback: bool = False,
              timeout: float = 10.0) -> None:
        """Start the thread and listen on `host:port`; raises what binding raised (e.g. OSError)."""
        if self._thread is not None:
            raise RuntimeError("demo targets thread already started")
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.targets.start(host, port, fallback=fallback))
            except BaseException as exc:  # handed to the starting thread
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self.targets.stop())
                loop.close()

        thread = threading.Thread(target=run, name="shiptrack-demo-targets", daemon=True)
        thread.start()
        if not ready.wait(timeout):
            raise TimeoutError(f"demo targets did not start within {timeout:g} s")
        if failure:
            thread.join()
            raise failure[0]
        self._loop, self._thread = loop, thread

    def stop(self, timeout: float = 5.0) -> None:
        """Close every connection, stop the loop and join the thread. Safe to call twice."""
        loop, thread = self._loop, self._thread
        self._loop = self._thread = None
        if loop is None or thread is None:
            return
        if not loop.is_closed():
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)

    def __enter__(self) -> Self:
        if self._thread is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def port(self) -> int:
        return self.targets.port

    @property
    def base_url(self) -> str:
        return self.targets.base_url

    @property
    def tcp_url(self) -> str:
        return self.targets.tcp_url

    @property
    def outage_epoch(self) -> float:
        return self.targets.outage_epoch

    def set_down(self, name: str, status: int = 503) -> None:
        self._call(self.targets.set_down, name, status)

    def set_hang(self, name: str) -> None:
        self._call(self.targets.set_hang, name)

    def set_up(self, name: str) -> None:
        self._call(self.targets.set_up, name)

    def reset(self) -> None:
        self._call(self.targets.reset)

    def overrides(self) -> dict[str, Override]:
        return self._call(self.targets.overrides)

    def hits(self, path: str) -> int:
        return self._call(self.targets.hits, path)

    def _call(self, fn: Callable[..., T], *args: object) -> T:
        """Run `fn(*args)` on the server's loop and return its result."""
        loop = self._loop
        if loop is None:
            raise RuntimeError("demo targets thread is not running")

        async def call() -> T:
            return fn(*args)

        return asyncio.run_coroutine_threadsafe(call(), loop).result(timeout=10)
