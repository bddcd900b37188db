"""`shiptrack serve-dashboard`: the real Textual dashboard in web browsers, with textual-serve.

Every browser tab runs its own `shiptrack --config C --db D` (the command's own paths), which
attaches to the engine already running on that database like a second terminal would: it reads
the database live and acts through action rows. No engine, no tabs: the command refuses to
start, and a tab opened after the engine stopped says so instead of starting one of its own.

It listens on loopback unless `--listen` names another address; there is no authentication,
so anything wider belongs behind a reverse proxy with authentication (README).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import shlex
import signal
import socket
import sys
from pathlib import Path
from typing import Any, Final

import aiohttp_jinja2
from aiohttp import web
from aiohttp.web_runner import GracefulExit
from textual_serve.app_service import AppService
from textual_serve.server import Server, to_int

from shiptrack_tui.config.http import is_loopback
from shiptrack_tui.lock import running_engine_pid
from shiptrack_tui.store_target import ENV_VAR, StoreTarget

DEFAULT_LISTEN: Final = "127.0.0.1:8000"
TEMPLATES: Final = Path(__file__).resolve().parent / "templates"
SHUTDOWN_SECONDS: Final = 5.0

log = logging.getLogger("shiptrack.http")


class ListenError(ValueError):
    """A --listen value that is not HOST:PORT."""


def parse_listen(text: str) -> tuple[str, int]:
    """`127.0.0.1:8000`, `[::1]:8000`, `localhost:0` → (host, port)."""
    host, sep, port_text = text.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port_text.isdigit() or int(port_text) > 65535:
        raise ListenError(f"--listen {text!r} is not HOST:PORT; expected e.g. 127.0.0.1:8000 or [::1]:8000")
    return host, int(port_text)


def tab_command(db_path: Path | StoreTarget, config_path: Path | None) -> str:
    """The shell command each tab runs: this interpreter's shiptrack on the same files.

    A PostgreSQL URL is not put on the command line, where `ps` shows it (it may hold a password):
    the tabs find it in $SHIPTRACK_DB, which `cmd_serve_dashboard` sets for them."""
    target = StoreTarget.of(db_path)
    argv = [sys.executable, "-m", "shiptrack_tui"]
    if target.path is not None:
        argv += ["--db", str(target.path)]
    if config_path is not None:
        argv += ["--config", str(config_path)]
    return shlex.join(argv)


class DashboardServer(Server):
    """textual-serve's server with our page, URLs taken from each request, an engine check per
    tab, and sessions closed on shutdown."""

    def __init__(self, command: str, db_path: StoreTarget, public_url: str | None = None) -> None:
        super().__init__(command, title="ShipTrack", public_url=public_url or "", templates_path=TEMPLATES)
        self.db_path = db_path
        self._public_url = public_url.rstrip("/") if public_url else None
        self._sockets: set[web.WebSocketResponse] = set()

    def initialize_logging(self) -> None:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("shiptrack serve-dashboard: %(message)s"))
        for name in ("textual-serve", "aiohttp"):
            logger = logging.getLogger(name)
            logger.handlers[:] = [handler]
            logger.setLevel(logging.WARNING)
            logger.propagate = False

    async def on_startup(self, app: web.Application) -> None:
        """Announced by `serve` instead (one line, with the real port)."""

    async def on_shutdown(self, app: web.Application) -> None:
        for websocket in list(self._sockets):
            await websocket.close(code=1001, message=b"server shutting down")

    def _base_url(self, request: web.Request) -> str:
        """Where this browser reached us: --public-url, else the request's own scheme and host."""
        if self._public_url:
            return self._public_url
        scheme = request.headers.get("X-Forwarded-Proto", request.scheme).split(",")[0].strip()
        host = request.headers.get("X-Forwarded-Host", request.host).split(",")[0].strip()
        return f"{'https' if scheme == 'https' else 'http'}://{host}"

    @aiohttp_jinja2.template("browser_dashboard.html")
    async def handle_index(self, request: web.Request) -> dict[str, Any]:
        base = self._base_url(request)
        websocket = ("wss:" if base.startswith("https:") else "ws:") + base.split(":", 1)[1] + "/ws"
        font_size = request.query.get("fontsize", "16")
        return {
            "font_size": int(font_size) if font_size.isdigit() and 6 <= int(font_size) <= 48 else 16,
            "app_websocket_url": websocket,
            "config": {"static": {"url": f"{base}/static/"}},
            "application": {"name": self.title},
        }

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        """One tab: its own dashboard process, fed the browser's keys and drawing into it."""
        websocket = web.WebSocketResponse(heartbeat=15)
        await websocket.prepare(request)
        if running_engine_pid(self.db_path.local) is None:
            await websocket.send_bytes(
                f"\r\n  No ShipTrack engine runs on {self.db_path} any more.\r\n"
                "  Start one (`shiptrack --daemon`), then reload this page.\r\n".encode())
            await websocket.close()
            return websocket
        width = to_int(request.query.get("width", "80"), 80)
        height = to_int(request.query.get("height", "24"), 24)
        session = AppService(self.command, write_bytes=websocket.send_bytes, write_str=websocket.send_str,
                             close=websocket.close, download_manager=self.download_manager)
        self._sockets.add(websocket)
        try:
            await session.start(width, height)
            try:
                await self._process_messages(websocket, session)
            finally:
                await session.stop()
        except asyncio.CancelledError:
            await websocket.close()
        except Exception as error:  # one tab's failure is logged in a line and ends only that tab
            log.warning("a dashboard session ended with an error: %s", error)
        finally:
            self._sockets.discard(websocket)
        return websocket

    def serve_on(self, sock: socket.socket) -> None:
        """Serve on an already bound socket until SIGINT or SIGTERM."""
        self.initialize_logging()
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, self.request_exit)
        with contextlib.suppress(GracefulExit):  # SIGINT/SIGTERM: a clean stop
            web.run_app(self._make_app(), sock=sock, handle_signals=False, loop=loop, print=None,
                        access_log=None, shutdown_timeout=SHUTDOWN_SECONDS)


def _engine_database(args: argparse.Namespace) -> tuple[StoreTarget, Path | None, int | None]:
    """(database, config file or None, pid of the engine running on it or None), found the way
    plain `shiptrack` finds them: the config's database, or without a config file the one engine
    running on the default or the demo's database."""
    from shiptrack_tui.cli_common import config_path, demo_db, load_args_config, store_target_of
    from shiptrack_tui.store_target import explicit

    config_path = config_path(args)
    if config_path.exists():
        db = store_target_of(args, load_args_config(args, check_urls=False))
        return db, config_path, running_engine_pid(db.local)
    candidates = [store_target_of(args)] if explicit(args.db) else [store_target_of(args), demo_db(args)]
    running = [(db, pid) for db in candidates if (pid := running_engine_pid(db.local)) is not None]
    db, pid = running[0] if len(running) == 1 else (candidates[0], None)
    return db, None, pid


def cmd_serve_dashboard(args: argparse.Namespace) -> int:
    """`shiptrack serve-dashboard [--listen HOST:PORT] [--public-url URL]`."""
    from shiptrack_tui.cli_common import EXIT_FAILURE, EXIT_OK, EXIT_USAGE

    try:
        host, port = parse_listen(args.listen)
    except ListenError as error:
        print(f"shiptrack serve-dashboard: {error}", file=sys.stderr)
        return EXIT_USAGE
    if args.public_url and not args.public_url.startswith(("http://", "https://")):
        print(f"shiptrack serve-dashboard: --public-url {args.public_url!r} must start with http:// or "
              "https://, e.g. https://status.example.com/dashboard", file=sys.stderr)
        return EXIT_USAGE
    db, config_path, pid = _engine_database(args)
    if pid is None:
        print(f"shiptrack serve-dashboard: no ShipTrack engine runs on {db}; start one first "
              "(`shiptrack --daemon`, or `shiptrack --demo --daemon`): each browser tab attaches to it",
              file=sys.stderr)
        return EXIT_FAILURE
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.create_server((host, port), family=family)
    except OSError as error:
        print(f"shiptrack serve-dashboard: cannot listen on {args.listen} ({error.strerror or error}); "
              "choose another address with --listen", file=sys.stderr)
        return EXIT_FAILURE
    bound_port = sock.getsockname()[1]
    shown_host = f"[{host}]" if ":" in host else host
    if not is_loopback(host):
        print(f"shiptrack serve-dashboard: warning: {shown_host}:{bound_port} is not loopback and the "
              "dashboard has no authentication: anyone who reaches it can act on incidents and edit "
              "monitors; put a reverse proxy with authentication or an SSH tunnel in front (README)",
              file=sys.stderr)
    if db.url is not None:
        os.environ[ENV_VAR] = db.url  # the tabs' `shiptrack` finds the database here, not in `ps`
    server = DashboardServer(tab_command(db, config_path), db, public_url=args.public_url)
    url = args.public_url or f"http://{shown_host}:{bound_port}/"
    print(f"serving the dashboard on {url} — each browser tab attaches to the engine (pid {pid}) on {db}; "
          "Ctrl+C stops", flush=True)
    server.serve_on(sock)
    return EXIT_OK
