"""A loopback HTTP receiver for Apprise's `json://127.0.0.1:PORT/path`: real delivery, no mocks.

It records every JSON post and can be switched between behaviours: up, down (the listening
socket is closed, so connections are refused), answering 500 a number of times, or answering
slower than the sender's timeout a number of times.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Post:
    path: str
    payload: dict[str, Any]
    at: float

    @property
    def title(self) -> str:
        return str(self.payload.get("title", ""))

    @property
    def type(self) -> str:
        return str(self.payload.get("type", ""))


@dataclass
class _Behaviour:
    fail_next: int = 0  # answer 500 to this many posts
    slow_next: int = 0  # hold this many posts for `slow_seconds` before answering 200
    slow_seconds: float = 2.0
    requests: int = field(default=0)


class Receiver:
    """`with Receiver() as rx: rx.url("hook")` gives `json://127.0.0.1:PORT/hook`."""

    def __init__(self) -> None:
        self.posts: list[Post] = []
        self._cond = threading.Condition()
        self._behaviour = _Behaviour()
        self._server: ThreadingHTTPServer | None = None
        self.port = 0
        self.up()

    # -- behaviour switches ---------------------------------------------------------------------
    def up(self) -> None:
        """Listen (again) on the same port."""
        if self._server is not None:
            return
        server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                         name="test-receiver", daemon=True).start()

    def down(self) -> None:
        """Close the listening socket: connections are refused until `up()`."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()

    def fail(self, times: int) -> None:
        with self._cond:
            self._behaviour.fail_next = times

    def slow(self, times: int, seconds: float) -> None:
        with self._cond:
            self._behaviour.slow_next, self._behaviour.slow_seconds = times, seconds

    @property
    def requests(self) -> int:
        """Every POST that reached the server, including those answered 500 or late."""
        with self._cond:
            return self._behaviour.requests

    # -- reading what arrived -------------------------------------------------------------------
    def url(self, path: str = "hook", userinfo: str = "") -> str:
        return f"json://{userinfo + '@' if userinfo else ''}127.0.0.1:{self.port}/{path}"

    def titles(self, path: str | None = None) -> list[str]:
        with self._cond:
            return [p.title for p in self.posts if path is None or p.path.split("?")[0] == f"/{path}"]

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Post]:
        """Block until at least `count` posts were recorded (200 answers only); return them all."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.posts) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} posts, got {len(self.posts)}: {self.posts}")
                self._cond.wait(left)
            return list(self.posts)

    def close(self) -> None:
        self.down()

    def __enter__(self) -> Receiver:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- the server -----------------------------------------------------------------------------
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                with receiver._cond:
                    behaviour = receiver._behaviour
                    behaviour.requests += 1
                    failing = behaviour.fail_next > 0
                    behaviour.fail_next -= failing
                    slow = 0.0
                    if not failing and behaviour.slow_next > 0:
                        behaviour.slow_next -= 1
                        slow = behaviour.slow_seconds
                if slow:
                    time.sleep(slow)
                if failing:
                    self._answer(500)
                    return
                with receiver._cond:
                    receiver.posts.append(Post(self.path, json.loads(raw or b"{}"), time.time()))
                    receiver._cond.notify_all()
                self._answer(200)

            def _answer(self, code: int) -> None:
                try:
                    self.send_response(code)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the client gave up waiting (a test of timeouts)

            def log_message(self, *_args: object) -> None:
                pass

        return Handler
