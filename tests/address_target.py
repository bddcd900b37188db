"""A threaded loopback HTTP target that answers by the client's address (127.0.0.0/8 only).

Every address in 127.0.0.0/8 is this machine, so a probe bound to 127.0.0.2 and one bound to
127.0.0.3 reach the same server from different places. `refuse` holds the client addresses that get
503 (`"*"`: everyone); the others get 200. `seen` lists each request's client address in order.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType


class AddressTarget:
    """`with AddressTarget() as target:` serves on 127.0.0.1, an ephemeral port, until the block ends."""

    def __init__(self) -> None:
        self.refuse: set[str] = set()
        self.seen: list[str] = []
        self._lock = threading.Lock()
        target = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                client = self.client_address[0]
                with target._lock:
                    target.seen.append(client)
                    refused = client in target.refuse or "*" in target.refuse
                body = f"{'refused' if refused else 'ok'} {client}".encode()
                self.send_response(503 if refused else 200)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/health"

    def set_refused(self, *addresses: str) -> None:
        with self._lock:
            self.refuse = set(addresses)

    def clients(self) -> set[str]:
        with self._lock:
            return set(self.seen)

    def __enter__(self) -> AddressTarget:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()
