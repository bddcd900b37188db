"""The dashboard's composition root: run the engine in-process, or attach to a running daemon."""

from __future__ import annotations

import socket
import sys
from collections.abc import Callable
from pathlib import Path

from shiptrack_tui.config import Config
from shiptrack_tui.heartbeat import heartbeat_path
from shiptrack_tui.lock import EngineLock, LockHeld, running_engine_pid
from shiptrack_tui.store_target import StoreTarget
from shiptrack_tui.tui.log_file import log_to_file
from shiptrack_tui.tui.services_live import index_of


def run_dashboard(config: Config | None, db_path: StoreTarget | Path, config_error: str | None) -> int:
    """Open the dashboard on a SQLite file or a StoreTarget; returns the process exit code."""
    from shiptrack_tui.tui.app import ShipTrackApp

    db_path = StoreTarget.of(db_path)
    if config is None or config_error is not None:
        ShipTrackApp(db_path, config_error=config_error or "no configuration").run()
        return 2
    if config.cluster is not None:
        return _view_cluster(config, db_path)
    attached_pid = running_engine_pid(db_path.local)
    if attached_pid is not None:
        _check_store(db_path)
        ShipTrackApp(db_path, attached_pid=attached_pid, config_path=_editable(config),
                     services=index_of(config), config=config).run()
        return 0
    return _run_with_engine(config, db_path)


def _view_cluster(config: Config, db_path: StoreTarget) -> int:
    """A config with [cluster] names a node the daemons run (`shiptrack --daemon`): the dashboard
    views the cluster and edits the file, and checks nothing itself, since an engine here would be
    one more node nobody planned for."""
    from shiptrack_tui.tui.app import CLUSTER_MODE, ShipTrackApp

    if not db_path.is_postgres:
        print(f"shiptrack: {config.path}: [cluster] needs a PostgreSQL store shared by the nodes, and "
              f"this one is the SQLite file {db_path}; set [storage] url = \"postgresql://...\" "
              "(or remove [cluster])", file=sys.stderr)
        return 2
    _check_store(db_path)
    ShipTrackApp(db_path, viewer_mode=CLUSTER_MODE, config_path=_editable(config),
                 services=index_of(config), config=config).run()
    return 0


def attach_dashboard(db_path: StoreTarget, pid: int) -> int:
    """View the engine already running on `db_path` with no config of our own (nothing to edit)."""
    from shiptrack_tui.tui.app import ShipTrackApp

    _check_store(db_path)
    ShipTrackApp(db_path, attached_pid=pid).run()
    return 0


def attach_cluster(db_path: StoreTarget) -> int | None:
    """View the cluster sharing the PostgreSQL database `db_path` (no config of our own: nothing to
    edit, no engine here); None when no node of a cluster is alive on it."""
    from shiptrack_tui.tui.app import CLUSTER_MODE, ShipTrackApp

    store = db_path.open()  # StorageError (one line, password masked) before the screen is taken
    try:
        alive = any(node.alive for node in store.cluster_nodes())
    finally:
        store.close()
    if not alive:
        return None
    ShipTrackApp(db_path, viewer_mode=CLUSTER_MODE).run()
    return 0


def _check_store(db_path: StoreTarget) -> None:
    """Raise StorageError for an unusable database before the screen is taken over: a viewer
    would otherwise open it inside a worker, where the operator sees no one-line reason."""
    db_path.open().close()


def _editable(config: Config) -> Path | None:
    """The file the dashboard may edit; the demo has none (editing is then disabled)."""
    return config.path if config.path.is_file() else None


def _loader(config: Config) -> Callable[[], Config] | None:
    """How the engine re-reads an edited config file; the demo has none."""
    if not config.path.is_file():
        return None
    from shiptrack_tui.config import load_config
    from shiptrack_tui.notify import check_apprise_config, check_notify_url

    return lambda: load_config(config.path, check_notify_url=check_notify_url,
                               check_apprise_config=check_apprise_config)


def _listen(config: Config) -> socket.socket | None:
    """The `[http] listen` socket (None without `[http]`); web.ListenError when it cannot be had."""
    if not config.http.enabled:
        return None
    from shiptrack_tui.web import open_listener

    return open_listener(config.http)


def _run_with_engine(config: Config, db_path: StoreTarget) -> int:
    from shiptrack_tui.engine import Engine, EngineThread
    from shiptrack_tui.tui.app import ShipTrackApp

    lock = EngineLock(db_path.local)
    try:
        lock.acquire()
    except LockHeld as held:  # a daemon started between our look and our lock
        _check_store(db_path)
        ShipTrackApp(db_path, attached_pid=held.pid or 0, config_path=_editable(config),
                     services=index_of(config), config=config).run()
        return 0
    try:
        log_to_file(db_path.local)
        try:
            listener = _listen(config)
        except OSError as error:  # web.ListenError: a port in use; said before the screen is taken
            print(f"shiptrack: {error}", file=sys.stderr)
            return 1
        store = db_path.open()
        web = None
        try:
            core = Engine(config, store, config_loader=_loader(config),
                          heartbeat=heartbeat_path(db_path.local))
            engine = EngineThread(core)
            if listener is not None:  # its own thread, loop and store (web/server.py)
                from shiptrack_tui.web import start_http

                web = start_http(listener, config.http, db_path, config=lambda: core.config,
                                 vitals=core.vitals, wake=core.wake, engine_loop=core.call_soon)
            ShipTrackApp(db_path, engine=engine, config_path=_editable(config),
                         web_url=None if web is None else web.url, services=index_of(config),
                         config=config).run()
            engine.stop()  # idempotent: the app stops it on quit; this covers a crash
        finally:
            if web is not None:
                web.stop()
            store.close()
    finally:
        lock.release()
    return 0
