"""`DemoTargets`: the demo endpoints, their controls and the listening socket's lifecycle.

The HTTP/1.1 plumbing lives in `wire`; this module decides what each path answers.
See the package docstring for the endpoints.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Self
from urllib.parse import parse_qs

from shiptrack_tui.demo.wire import OK_CLOSE, OK_KEEP, Connection, Request, build_response

__all__ = ["DEFAULT_PORT", "FLAKY_PATTERN", "SLOW_PATTERN_MS", "DemoTargets", "Override", "index_text"]

DEFAULT_PORT: Final = 8787
MAX_DELAY_MS: Final = 600_000
MAX_BYTES: Final = 64 * 1024 * 1024
IDLE_SWEEP_S: Final = 5.0

#: `/slow` delays, in ms, cycled by request count: 4 of 10 take longer than 1 s.
SLOW_PATTERN_MS: Final = (300, 800, 1200, 450, 1500, 650, 1050, 350, 900, 1350)
#: `/flaky` outcomes cycled by request count (True = 503): 6 of 24, one run of three.
FLAKY_PATTERN: Final = tuple(i in {3, 9, 15, 16, 17, 21} for i in range(24))


@dataclass(frozen=True, slots=True)
class Override:
    """A forced behaviour for a name: answer `status`, or never answer when `hang`."""

    status: int = 503
    hang: bool = False


Handler = Callable[[Connection, Request, list[str]], None]


class DemoTargets:
    """Built-in loopback targets for `--demo`, the test suite and `shiptrack bench`.

    Start it with `await start()`; `base_url` is then e.g. ``http://127.0.0.1:8787``.
    Controls (`set_down`, `set_up`, `set_hang`, `reset`) must be called on the server's loop.
    """

    def __init__(self, outage_up: float = 60.0, outage_down: float = 30.0,
                 idle_timeout: float = 120.0) -> None:
        if outage_up <= 0 or outage_down < 0:
            raise ValueError("outage_up must be > 0 and outage_down >= 0 (seconds)")
        self.outage_up = float(outage_up)
        self.outage_down = float(outage_down)
        self.idle_timeout = idle_timeout
        #: `time.monotonic()` at which the current `/outage` cycle began (set by `start`).
        self.outage_epoch = time.monotonic()
        self.host = "127.0.0.1"
        self._port = 0
        self._server: asyncio.Server | None = None
        self._sweeper: asyncio.TimerHandle | None = None
        # the `wire.Host` side: every open connection, and those holding a hung request
        self.live: set[Connection] = set()
        self.held: set[Connection] = set()
        self._overrides: dict[str, Override] = {}
        self._hits: dict[str, int] = {}
        self.requests = 0
        self._routes: dict[str, Handler] = {
            "": self._index, "steady": self._steady, "slow": self._slow, "flaky": self._flaky,
            "outage": self._outage, "status": self._status, "delay": self._delay,
            "bytes": self._bytes, "drip": self._drip, "echo": self._echo, "t": self._steady,
        }

    # lifecycle -------------------------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0, *, fallback: bool = False) -> None:
        """Listen on `host:port` (0 = any free port). With `fallback`, a busy port means any free one."""
        if self._server is not None:
            raise RuntimeError("demo targets already started")
        loop = asyncio.get_running_loop()
        try:
            server = await loop.create_server(lambda: Connection(self), host, port,
                                              reuse_address=True, backlog=1024)
        except OSError:
            if not fallback or port == 0:
                raise
            server = await loop.create_server(lambda: Connection(self), host, 0,
                                              reuse_address=True, backlog=1024)
        self._server = server
        self.host = host
        self._port = server.sockets[0].getsockname()[1]
        self.outage_epoch = time.monotonic()
        self._sweeper = loop.call_later(IDLE_SWEEP_S, self._sweep)

    async def stop(self) -> None:
        """Stop listening and close every connection, hung ones included."""
        server, self._server = self._server, None
        if server is None:
            return
        if self._sweeper is not None:
            self._sweeper.cancel()
        server.close()
        for conn in list(self.live):
            conn.close()
        self.live.clear()
        self.held.clear()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(server.wait_closed(), 2.0)

    async def __aenter__(self) -> Self:
        if self._server is None:
            await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._port}"

    @property
    def tcp_url(self) -> str:
        """The same port as a TCP target: ``tcp://127.0.0.1:8787``."""
        return self.base_url.replace("http://", "tcp://", 1)

    @property
    def connections(self) -> int:
        return len(self.live)

    def _sweep(self) -> None:
        now = time.monotonic()
        for conn in list(self.live):
            if not conn.busy and now - conn.last_active > self.idle_timeout:
                conn.close()
        if self._server is not None:
            self._sweeper = asyncio.get_running_loop().call_later(IDLE_SWEEP_S, self._sweep)

    # controls --------------------------------------------------------------------------------
    def set_down(self, name: str, status: int = 503) -> None:
        """Force every path at or under `name` (e.g. "steady", "t/api") to answer `status`."""
        self._set(name, Override(status=int(status)))

    def set_hang(self, name: str) -> None:
        """Make every path at or under `name` never answer until `set_up(name)`."""
        self._set(name, Override(hang=True))

    def set_up(self, name: str) -> None:
        """Drop any override on `name`; held requests are then answered normally."""
        self._set(name, None)

    def reset(self) -> None:
        """Drop every override and request counter; restart the outage cycle."""
        self._overrides.clear()
        self._hits.clear()
        self.requests = 0
        self.outage_epoch = time.monotonic()
        for conn in list(self.held):
            conn.release()

    def overrides(self) -> dict[str, Override]:
        return dict(self._overrides)

    def hits(self, path: str) -> int:
        """How many requests reached `path` (e.g. "steady", "/t/api") since start or `reset`."""
        return self._hits.get(path.strip("/"), 0)

    def outage_is_up(self, now: float | None = None) -> bool:
        """Whether `/outage` is in the up part of its cycle at monotonic time `now`."""
        if self.outage_down <= 0:
            return True
        elapsed = (time.monotonic() if now is None else now) - self.outage_epoch
        return elapsed % (self.outage_up + self.outage_down) < self.outage_up

    def _set(self, name: str, override: Override | None) -> None:
        key = name.strip("/")
        if override is None:
            self._overrides.pop(key, None)
        else:
            self._overrides[key] = override
        for conn in list(self.held):
            pending = conn.pending
            still = self._override_for(pending.key) if pending is not None else None
            if still is None or not still.hang:
                conn.release()

    def _override_for(self, key: str) -> Override | None:
        overrides = self._overrides
        found = overrides.get(key)
        if found is not None:
            return found
        # the longest configured prefix wins: "t/api" before "t"
        parts = key.split("/")
        for n in range(len(parts) - 1, 0, -1):
            found = overrides.get("/".join(parts[:n]))
            if found is not None:
                return found
        return None

    # dispatch --------------------------------------------------------------------------------
    def dispatch(self, conn: Connection, req: Request, counted: bool = False) -> None:
        """Answer `req`; `counted` when it was already counted before being held."""
        key = req.key
        if key == "steady" and not self._overrides and not counted:  # the benchmark's hot path
            self.requests += 1
            self._hits[key] = self._hits.get(key, 0) + 1
            if req.method == "HEAD":
                conn.send(build_response(200, b"ok", keep_alive=req.keep_alive, head=True),
                          req.keep_alive)
            else:
                conn.send(OK_KEEP if req.keep_alive else OK_CLOSE, req.keep_alive)
            return
        parts = key.split("/")
        if parts[0] == "control":
            self._control(conn, req, parts[1:])
            return
        if key and not counted:
            self.requests += 1
            self._hits[key] = self._hits.get(key, 0) + 1
        if self._overrides and key:
            override = self._override_for(key)
            if override is not None:
                if override.hang:
                    conn.hang(req)
                else:
                    self._reply(conn, req, override.status, f"{key}: forced down\n")
                return
        handler = self._routes.get(parts[0])
        if handler is None:
            self._reply(conn, req, 404, f"no such target: /{key}\n")
        else:
            handler(conn, req, parts[1:])

    def _reply(self, conn: Connection, req: Request, status: int, text: str | bytes,
               delay: float = 0.0) -> None:
        body = text.encode() if isinstance(text, str) else text
        data = build_response(status, body, keep_alive=req.keep_alive, head=req.method == "HEAD")
        if delay > 0:
            conn.send_later(delay, data, req.keep_alive)
        else:
            conn.send(data, req.keep_alive)

    def _count(self, req: Request) -> int:
        """How many earlier requests reached this exact path: each path has its own sequence."""
        return self._hits.get(req.key, 1) - 1

    @staticmethod
    def _number(args: list[str], low: int, high: int) -> int | None:
        if len(args) != 1 or not args[0].isdigit():
            return None
        value = int(args[0])
        return value if low <= value <= high else None

    # endpoints -------------------------------------------------------------------------------
    def _index(self, conn: Connection, req: Request, args: list[str]) -> None:
        self._reply(conn, req, 200, index_text(self.base_url, self.outage_up, self.outage_down))

    def _steady(self, conn: Connection, req: Request, args: list[str]) -> None:
        self._reply(conn, req, 200, b"ok")

    def _slow(self, conn: Connection, req: Request, args: list[str]) -> None:
        delay_ms = SLOW_PATTERN_MS[self._count(req) % len(SLOW_PATTERN_MS)]
        self._reply(conn, req, 200, b"ok", delay=delay_ms / 1000)

    def _flaky(self, conn: Connection, req: Request, args: list[str]) -> None:
        if FLAKY_PATTERN[self._count(req) % len(FLAKY_PATTERN)]:
            self._reply(conn, req, 503, b"flaky: failing this time\n")
        else:
            self._reply(conn, req, 200, b"ok")

    def _outage(self, conn: Connection, req: Request, args: list[str]) -> None:
        if self.outage_is_up():
            self._reply(conn, req, 200, b"ok")
        else:
            self._reply(conn, req, 503, b"outage: down for now\n")

    def _status(self, conn: Connection, req: Request, args: list[str]) -> None:
        code = self._number(args, 200, 599)
        if code is None:
            self._reply(conn, req, 400, b"usage: /status/{code} with 200 <= code <= 599\n")
        else:
            self._reply(conn, req, code, f"{code}\n")

    def _delay(self, conn: Connection, req: Request, args: list[str]) -> None:
        ms = self._number(args, 0, MAX_DELAY_MS)
        if ms is None:
            self._reply(conn, req, 400, f"usage: /delay/{{ms}} with ms <= {MAX_DELAY_MS}\n")
        else:
            self._reply(conn, req, 200, b"ok", delay=ms / 1000)

    def _bytes(self, conn: Connection, req: Request, args: list[str]) -> None:
        n = self._number(args, 0, MAX_BYTES)
        if n is None:
            self._reply(conn, req, 400, f"usage: /bytes/{{n}} with n <= {MAX_BYTES}\n")
        else:
            self._reply(conn, req, 200, b"x" * n)

    def _drip(self, conn: Connection, req: Request, args: list[str]) -> None:
        ms = self._number(args, 1, MAX_DELAY_MS)
        n_values = parse_qs(req.query).get("n", ["10"])
        if ms is None or not n_values[0].isdigit() or int(n_values[0]) > 1_000_000:
            self._reply(conn, req, 400, b"usage: /drip/{ms}?n=BYTES\n")
            return
        body = b"x" * int(n_values[0])
        head = build_response(200, keep_alive=req.keep_alive, head=True, length=len(body))
        if req.method == "HEAD":
            conn.send(head, req.keep_alive)
        else:
            conn.drip(head, body, ms / 1000, req.keep_alive)

    def _echo(self, conn: Connection, req: Request, args: list[str]) -> None:
        lines = [f"{req.method} {req.path}{'?' + req.query if req.query else ''}"]
        lines += [f"{k.decode('latin-1')}: {v.decode('latin-1')}" for k, v in req.headers]
        text = "\n".join(lines).encode() + b"\n\n" + req.body
        self._reply(conn, req, 200, text)

    def _control(self, conn: Connection, req: Request, args: list[str]) -> None:
        if args == ["reset"]:
            self.reset()
            self._reply(conn, req, 200, b"reset\n")
            return
        if args == []:
            text = "".join(f"{k}: {'hang' if o.hang else o.status}\n"
                           for k, o in sorted(self._overrides.items()))
            self._reply(conn, req, 200, text or "no overrides\n")
            return
        name, action = "/".join(args[:-1]), args[-1]
        if not name or action not in ("down", "up", "hang"):
            self._reply(conn, req, 400, b"usage: /control/{name}/down[?status=N] | up | hang\n")
            return
        if action == "down":
            status = parse_qs(req.query).get("status", ["503"])[0]
            if not status.isdigit() or not 200 <= int(status) <= 599:
                self._reply(conn, req, 400, b"status must be 200-599\n")
                return
            self.set_down(name, int(status))
            self._reply(conn, req, 200, f"{name}: down ({status})\n")
        elif action == "hang":
            self.set_hang(name)
            self._reply(conn, req, 200, f"{name}: hang\n")
        else:
            self.set_up(name)
            self._reply(conn, req, 200, f"{name}: up\n")


def index_text(base_url: str, outage_up: float = 60.0, outage_down: float = 30.0) -> str:
    """The plain-text index served at `/`."""
    return f"""ShipTrack demo targets at {base_url}

/steady              200 "ok" at once
/slow                200 after 300-1500 ms (a fixed pattern; 4 in 10 take over 1 s)
/flaky               503 on 6 of every 24 requests, once three in a row
/outage              up {outage_up:g} s, then 503 for {outage_down:g} s, repeating
/status/CODE         that status (200-599)
/delay/MS            200 after MS milliseconds
/bytes/N             N bytes of body
/drip/MS?n=N         N body bytes, one every MS milliseconds
/echo                the request (method, path, headers, body) as text
/t/NAME              200 "ok": a distinct target per NAME
/control/NAME/down   force NAME (and paths under it) to 503, or ?status=N
/control/NAME/hang   NAME never answers until /control/NAME/up
/control/NAME/up     back to normal
/control/reset       clear every override and counter
tcp://{base_url.partition('://')[2]}   plain TCP connects are accepted on the same port
"""
