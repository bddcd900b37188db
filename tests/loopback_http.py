"""A threaded loopback HTTP target that remembers when each request arrived (127.0.0.1 only).

Paths under `/slow/` answer after `slow_seconds`: a check that is still in flight when a test
stops the engine.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType


class LoopbackTarget:
    """`with LoopbackTarget() as target:` serves 200 OK on an ephemeral port until the block ends."""

    def __init__(self, slow_seconds: float = 0.0) -> None:
        self.slow_seconds = slow_seconds
        self.arrivals: list[tuple[float, str]] = []  # (time.monotonic(), path)
        self.answered: list[str] = []
        self._lock = threading.Lock()
        target = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with target._lock:
                    target.arrivals.append((time.monotonic(), self.path))
                if self.path.startswith("/slow/"):
                    time.sleep(target.slow_seconds)
                body = b"ok"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                with target._lock:
                    target.answered.append(self.path)

            def log_message(self, format: str, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            request_queue_size = 128  # socketserver's 5 would spread a burst of connects over seconds
            daemon_threads = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/{path.lstrip('/')}"

    def count(self, since: float = 0.0, prefix: str = "/") -> int:
        """Requests that arrived at or after `since` (monotonic) on paths starting with `prefix`."""
        with self._lock:
            return sum(1 for at, path in self.arrivals if at >= since and path.startswith(prefix))

    def paths(self) -> list[str]:
        with self._lock:
            return [path for _, path in self.arrivals]

    def __enter__(self) -> LoopbackTarget:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()
