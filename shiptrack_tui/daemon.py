"""`shiptrack --daemon`: the engine headless, for servers and systemd.

SIGTERM/SIGINT finish in-flight checks, flush and exit 0; SIGHUP (or a change of the file on disk)
reloads the config, keeping the old one running when the new one is invalid. Without `-v` the log
has one line per incident transition and per problem; `-v` adds every state change. Under systemd
(`Type=notify`) it reports READY=1, STATUS= and, while healthy, WATCHDOG=1 (engine/liveness.py).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from shiptrack_tui.config import Config
from shiptrack_tui.config.warnings import config_warnings
from shiptrack_tui.engine import Engine
from shiptrack_tui.heartbeat import heartbeat_path
from shiptrack_tui.lock import EngineLock, LockHeld
from shiptrack_tui.storage import Store
from shiptrack_tui.store_target import StoreTarget
from shiptrack_tui.systemd import SystemdNotifier

if TYPE_CHECKING:
    from typing import Protocol

    from shiptrack_tui.engine.membership import ClusterLink

    class Closeable(Protocol):
        def close(self) -> None: ...

log = logging.getLogger("shiptrack.daemon")


def setup_logging(verbose: bool = False) -> None:
    """One line per record on stderr; journald adds its own timestamps but a terminal does not."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s",
                                           "%Y-%m-%dT%H:%M:%S%z"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for noisy in ("aiohttp", "httpx", "httpcore", "peewee", "apprise"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def run_daemon(config: Config, db_path: StoreTarget | Path, reload_config: Callable[[], Config]) -> int:
    """Hold the database's lock and run the engine until a signal stops it; the exit code.

    `db_path` is a SQLite file or a StoreTarget (a file or a PostgreSQL URL)."""
    # A stop asked for while starting (systemd, a test, an impatient operator) is kept and honoured
    # once the loop's handlers take over, rather than killing the process half-started.
    stopped_early: list[str] = []
    previous = {early: signal.signal(early, lambda number, _frame: stopped_early.append(
        signal.Signals(number).name)) for early in (signal.SIGTERM, signal.SIGINT)}
    try:
        return _run_locked(config, StoreTarget.of(db_path), reload_config, stopped_early)
    finally:
        for number, handler in previous.items():  # a caller in-process gets its own handlers back
            signal.signal(number, handler)


def _run_locked(config: Config, target: StoreTarget, reload_config: Callable[[], Config],
                stopped_early: list[str]) -> int:
    if config.cluster is not None and not target.is_postgres:
        print(f"shiptrack: {config.path}: [cluster] needs a PostgreSQL store shared by the nodes, and "
              f"this one is the SQLite file {target}; set [storage] url = \"postgresql://...\" "
              "(or remove [cluster])", file=sys.stderr)
        return 2
    # In a cluster, several engines share one database: the lock (and the heartbeat file) is this
    # machine's per node name; the database itself refuses a second process with the same name.
    local = target.local if config.cluster is None else node_local(target.local, config.cluster.node)
    lock = EngineLock(local)
    try:
        lock.acquire()
    except LockHeld as held:
        print(f"shiptrack: {held}", file=sys.stderr)
        return 1
    try:
        try:
            listener = _listen(config)
        except OSError as error:  # web.ListenError: a port in use, an address not there
            print(f"shiptrack: {error}", file=sys.stderr)
            return 1
        store = target.open()
        try:
            link = _join(config, target) if config.cluster is not None else None
            alone = _alone(target) if link is None and target.is_postgres else None
        except RuntimeError as error:
            store.close()
            print(f"shiptrack: {error}", file=sys.stderr)
            return 1
        try:
            return asyncio.run(_serve(config, store, reload_config, listener, stopped_early, target,
                                      link=link, local=local))
        finally:
            for held in (link, alone):
                if held is not None:
                    held.close()
            store.close()
    finally:
        lock.release()


def node_local(local: Path, node: str) -> Path:
    """This machine's lock and heartbeat file for one cluster node of a PostgreSQL store."""
    return local.with_name(f"{local.name}-node-{node}")


def _join(config: Config, target: StoreTarget) -> ClusterLink:
    """Claim this node's name on the shared database (RuntimeError, one line, when it cannot)."""
    from shiptrack_tui.config.cluster import cluster_config_hash
    from shiptrack_tui.engine.membership import ClusterLink, NodeTaken
    from shiptrack_tui.storage.postgres import read_password

    assert config.cluster is not None and target.url is not None
    try:
        password = read_password(target.password_file)
    except OSError as error:
        raise RuntimeError(f"{target.password_file}: the PostgreSQL password file cannot be read "
                           f"({error.strerror})") from None
    link = ClusterLink(target.url, config.cluster, cluster_config_hash(config), password=password)
    try:
        link.claim_name()
        link.prepare()
    except NodeTaken:
        link.close()
        raise
    except Exception as error:
        link.close()
        if not link.unreachable(error):
            raise
        raise RuntimeError(f"cannot join the cluster on {target}: {link.describe(error)}") from None
    return link


def _alone(target: StoreTarget) -> Closeable:
    """An engine without [cluster] on PostgreSQL holds the database alone: no cluster node, and no
    other such engine on another machine, may run beside it (RuntimeError, one line)."""
    from shiptrack_tui.engine.membership import ClusterLink, claim_single_engine
    from shiptrack_tui.storage.postgres import read_password

    assert target.url is not None
    try:
        return claim_single_engine(target.url, read_password(target.password_file), target.display)
    except OSError as error:
        raise RuntimeError(f"{target.password_file}: the PostgreSQL password file cannot be read "
                           f"({error.strerror})") from None
    except Exception as error:
        if not ClusterLink.unreachable(error):
            raise
        raise RuntimeError(f"cannot lock {target}: {ClusterLink.describe(error)}") from None


def _listen(config: Config) -> socket.socket | None:
    """The `[http] listen` socket, bound before the engine starts (None without `[http]`)."""
    if not config.http.enabled:
        return None
    from shiptrack_tui.web import open_listener

    return open_listener(config.http)


def _warn(config: Config) -> Config:
    for warning in config_warnings(config):
        log.warning("%s", warning)
    return config


async def _serve(config: Config, store: Store, reload_config: Callable[[], Config],
                 listener: socket.socket | None = None, stopped_early: list[str] | None = None,
                 target: StoreTarget | None = None, *, link: ClusterLink | None = None,
                 local: Path | None = None) -> int:
    def load() -> Config:  # every reload, by SIGHUP or by the engine seeing the file change
        return _warn(reload_config())

    watch = load if config.path.is_file() else None  # the demo has no file to watch
    notifier = SystemdNotifier()
    target = target if target is not None else StoreTarget.of(store.path)
    engine = Engine(config, store, config_loader=watch, notifier=notifier,
                    heartbeat=heartbeat_path(local or target.local), cluster=link)
    loop = asyncio.get_running_loop()

    def stop(signame: str) -> None:
        log.info("%s received: finishing in-flight checks and flushing", signame)
        engine.request_stop()

    def reload() -> None:
        # The engine's config watch reads the file: one path, so each outcome is logged once.
        if watch is None:
            log.info("SIGHUP: the demo has no config file to reload")
            return
        engine.reload_config_file()

    loop.add_signal_handler(signal.SIGTERM, stop, "SIGTERM")
    loop.add_signal_handler(signal.SIGINT, stop, "SIGINT")
    loop.add_signal_handler(signal.SIGHUP, reload)
    if stopped_early:
        log.info("%s received while starting: stopped before the first check", stopped_early[0])
        if listener is not None:
            listener.close()
        return 0
    log.info("shiptrack daemon started: %d monitors, database %s", len(config.monitors), target)
    if link is not None:
        log.info("cluster node %s (location %s, lease %gs): sharing the monitors with the live nodes",
                 link.node, link.location, link.lease)
    _warn(config)
    web = None
    if listener is not None:  # its own thread, loop and store: HTTP load never reaches this loop
        from shiptrack_tui.web import start_http

        web = await asyncio.to_thread(start_http, listener, config.http, target,
                                      config=lambda: engine.config, vitals=engine.vitals, wake=engine.wake,
                                      engine_loop=engine.call_soon)
    try:
        await engine.run()
    finally:
        if web is not None:
            await asyncio.to_thread(web.stop)
        notifier.close()
    log.info("stopped cleanly after %d checks", engine.counters.checks)
    return 0
