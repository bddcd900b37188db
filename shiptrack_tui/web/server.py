"""The HTTP server on its own thread and event loop (DESIGN §11): uvicorn serves a socket bound
by the caller, so that a port in use is found before anything starts (one line, exit 1), and
HTTP load runs on this thread's loop and its worker threads, never on the engine's loop.

uvicorn installs no signal handlers off the main thread; the process's owner (the daemon, the
dashboard) stops the server with `stop()` after stopping its engine.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

import anyio.to_thread
import uvicorn
from starlette.types import ASGIApp

if TYPE_CHECKING:
    from shiptrack_tui.web.context import WebContext

log = logging.getLogger("shiptrack.http")

WORKER_THREADS: Final = 4
"""Worker threads for blocking routes (SQLite reads). More would only contend for the GIL with the
engine's loop; requests beyond these wait their turn on this server's own loop."""
SWITCH_INTERVAL: Final = 0.001
"""The GIL's switch interval while a server runs (CPython's default is 5 ms). The server shares the
engine's process: when the engine's loop wants the GIL while a server thread computes, it waits up
to this long for the hand-over, and it wants the GIL after every socket call. At 5 ms, one long
render under load delayed checks by hundreds of milliseconds (docs/http.md, "Load")."""
START_SECONDS: Final = 10.0
STOP_SECONDS: Final = 5.0


class _SwitchInterval:
    """Lowers the switch interval while at least one server runs; restores it after the last."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._previous = sys.getswitchinterval()

    def acquire(self) -> None:
        with self._lock:
            if self._users == 0:
                self._previous = sys.getswitchinterval()
                sys.setswitchinterval(min(self._previous, SWITCH_INTERVAL))
            self._users += 1

    def release(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users == 0:
                sys.setswitchinterval(self._previous)


_switch = _SwitchInterval()


class ListenError(OSError):
    """The address cannot be listened on; the message is the operator's one line."""


def bind(host: str, port: int, listen: str | None = None) -> socket.socket:
    """A listening socket on (host, port); port 0 takes any free port. ListenError when it cannot."""
    shown = listen or f"{host}:{port}"
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        if family is socket.AF_INET and not host.replace(".", "").isdigit():
            family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        created = socket.create_server((host, port), family=family, backlog=1024)
        # asyncio turns Nagle off (TCP_NODELAY) on accepted connections only when the listening
        # socket says IPPROTO_TCP, and create_server leaves proto 0: each response, written in two
        # parts, then waited ~40 ms for the client's delayed ACK on a kept-alive connection.
        sock = socket.socket(created.family, socket.SOCK_STREAM, socket.IPPROTO_TCP, fileno=created.detach())
    except socket.gaierror as error:
        raise ListenError(f"cannot listen on {shown}: {host!r} is not a known address ({error.strerror}); "
                          "check [http] listen") from None
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            why = "the port is already in use (another ShipTrack, or another server?)"
        elif error.errno == errno.EACCES:
            why = "permission denied (ports below 1024 need privileges)"
        elif error.errno == errno.EADDRNOTAVAIL:
            why = "this machine has no such address"
        else:
            why = error.strerror or str(error)
        raise ListenError(f"cannot listen on {shown}: {why}; change [http] listen") from None
    sock.setblocking(False)
    return sock


class _Server(uvicorn.Server):
    """uvicorn's server, telling the starting thread when it listens."""

    def __init__(self, config: uvicorn.Config, listening: threading.Event) -> None:
        super().__init__(config)
        self._listening = listening

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        anyio.to_thread.current_default_thread_limiter().total_tokens = WORKER_THREADS
        await super().startup(sockets)
        self._listening.set()


class HttpServer:
    """Serve `app` on `sock` from a thread of its own; `on_stop` runs once the thread has ended
    (closing the server's store)."""

    def __init__(self, app: ASGIApp, sock: socket.socket, on_stop: Callable[[], None] | None = None) -> None:
        self._sock = sock
        self._on_stop = on_stop
        self._listening = threading.Event()
        config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off", ws="none",
                                server_header=False, timeout_graceful_shutdown=2, timeout_keep_alive=5)
        self._server = _Server(config, self._listening)
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None
        host, port = sock.getsockname()[:2]
        self.url = f"http://{f'[{host}]' if ':' in host else host}:{port}"
        self.port: int = port
        self.context: WebContext | None = None  # what the app was built with (launch.py sets it)
        self._switched = False

    def start(self) -> None:
        """Start serving; returns once the server listens (RuntimeError if it could not start)."""
        for name in ("uvicorn", "uvicorn.error"):  # its start/stop chatter; our own lines say it
            logging.getLogger(name).setLevel(logging.WARNING)
        _switch.acquire()
        self._switched = True
        self._thread = threading.Thread(target=self._run, name="shiptrack-http", daemon=True)
        self._thread.start()
        if not self._listening.wait(START_SECONDS) or self.error is not None:
            self._release_switch()
            raise RuntimeError(f"the HTTP server did not start: {self.error or 'timed out'}")

    def _release_switch(self) -> None:
        if self._switched:
            self._switched = False
            _switch.release()

    def _run(self) -> None:
        try:
            asyncio.run(self._server.serve(sockets=[self._sock]))
        except BaseException as error:  # SystemExit from a failed uvicorn start included
            self.error = error
            log.error("the HTTP server stopped on an error: %s", error, exc_info=error)
        finally:
            self._listening.set()

    def stop(self, timeout: float = STOP_SECONDS) -> None:
        """Finish the requests in flight (up to `timeout`), close the socket, join the thread."""
        if self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(1.0)
        self._thread = None
        self._release_switch()
        self._sock.close()
        if self._on_stop is not None:
            self._on_stop()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()
