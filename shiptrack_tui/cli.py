"""The `shiptrack` command line (DESIGN §6). The TUI and the daemon are imported lazily.

Exit codes: 0 ok, 1 runtime failure, 2 bad config or usage. Every command takes --config and --db
before or after the subcommand.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from shiptrack_tui.cli_common import (
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_USAGE,
    config_if_any,
    config_path,
    db_for_reading,
    demo_db,
    load_args_config,
    open_store,
    store_target_of,
)
from shiptrack_tui.cli_parser import build_parser
from shiptrack_tui.failures import RuntimeFailure, UsageError

if TYPE_CHECKING:
    from shiptrack_tui.config import Config
    from shiptrack_tui.demo import DemoTargetsThread



# -- commands --------------------------------------------------------------------------------
def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def cmd_check_config(args: argparse.Namespace) -> int:
    from shiptrack_tui.config.warnings import config_warnings

    config = load_args_config(args)
    for warning in config_warnings(config):
        print(warning, file=sys.stderr)
    notify = len(config.notify.urls) + sum(len(c.urls) for c in config.notify.channels)
    counts = [_count(len(config.monitors), "monitor"), _count(notify, "notification URL"),
              _count(len(config.maintenance), "maintenance window")]
    print(f"{config.path}: ok — {', '.join(counts)}")
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    from shiptrack_tui.heartbeat import engine_health
    from shiptrack_tui.report import status_json, status_table

    target = db_for_reading(args)
    store = open_store(target)
    try:
        now = time.time()
        summaries = store.monitor_summaries(now)
        silences = store.active_silences()
        locations = store.location_states() if args.json else {}
    finally:
        store.close()
    health = engine_health(target.local, now)  # a stalled database cannot say so itself: see heartbeat.py
    if args.json:
        from shiptrack_tui.cli_services import config_index, services_config
        from shiptrack_tui.core.location_view import in_config_order

        config = config_if_any(args)
        in_services = config_index(services_config(args, target, config)).by_monitor
        if config is not None:  # the configured order of each monitor's locations
            locations = in_config_order(locations, {spec.name: spec.locations for spec in config.monitors})
        print(json.dumps(status_json(summaries, health, silences, now, in_services, locations), indent=2))
        return EXIT_OK
    problem = health.problem() if health is not None else None
    if problem is not None:
        print(f"⚠ {problem}")
    print(status_table(summaries, now, silences))
    return EXIT_OK



def cmd_services(args: argparse.Namespace) -> int:
    from shiptrack_tui.cli_services import cmd_services

    return cmd_services(args)


def cmd_incidents(args: argparse.Namespace) -> int:
    from shiptrack_tui.cli_incidents import cmd_incidents

    return cmd_incidents(args)


def cmd_postmortem(args: argparse.Namespace) -> int:
    from shiptrack_tui.cli_postmortem import cmd_postmortem

    return cmd_postmortem(args)


def cmd_ack(args: argparse.Namespace) -> int:
    from shiptrack_tui.cli_incidents import cmd_ack

    return cmd_ack(args)


def cmd_note(args: argparse.Namespace) -> int:
    from shiptrack_tui.cli_incidents import cmd_note

    return cmd_note(args)


def cmd_update(args: argparse.Namespace) -> int:
    from shiptrack_tui.cli_updates import cmd_update

    return cmd_update(args)


def cmd_severity(args: argparse.Namespace) -> int:
    from shiptrack_tui.cli_updates import cmd_severity

    return cmd_severity(args)


def cmd_silence(args: argparse.Namespace) -> int:
    from shiptrack_tui.cli_incidents import cmd_silence

    return cmd_silence(args)


def cmd_unsilence(args: argparse.Namespace) -> int:
    from shiptrack_tui.cli_incidents import cmd_unsilence

    return cmd_unsilence(args)


def cmd_notify_test(args: argparse.Namespace) -> int:
    from shiptrack_tui.notify import notify_test

    config = load_args_config(args)
    results = notify_test(config.notify)
    if not results:
        print("no notification URLs configured ([notify] urls, apprise_config or [[notify.channel]])")
        return EXIT_FAILURE
    for url, delivered, why in results:
        print(f"{'ok    ' if delivered else 'FAILED'}  {url}{'' if delivered else '  — ' + why}")
    return EXIT_OK if all(ok for _u, ok, _w in results) else EXIT_FAILURE


def cmd_monitor(args: argparse.Namespace) -> int:
    from shiptrack_tui.cli_monitors import cmd_monitor

    return cmd_monitor(args)


def _demo_config(args: argparse.Namespace) -> tuple[Config, DemoTargetsThread]:
    from shiptrack_tui.config import Config
    from shiptrack_tui.demo import (
        DEFAULT_PORT,
        DemoTargetsThread,
        demo_http,
        demo_monitor_specs,
        demo_service_specs,
        demo_status_page,
    )

    targets = DemoTargetsThread()
    targets.start(port=DEFAULT_PORT, fallback=True)  # another free port when 8787 is taken
    specs = tuple(demo_monitor_specs(targets.base_url))
    config = Config(path=Path("<demo>"), monitors=specs, services=demo_service_specs(), http=demo_http(),
                    status_page=demo_status_page())
    return config, targets



def cmd_daemon(args: argparse.Namespace) -> int:
    from shiptrack_tui.daemon import run_daemon, setup_logging

    setup_logging(args.verbose)
    if args.demo:
        config, targets = _demo_config(args)
        try:
            return run_daemon(config, demo_db(args), reload_config=lambda: config)
        finally:
            targets.stop()
    config = load_args_config(args)
    return run_daemon(config, store_target_of(args, config), reload_config=lambda: _load_reloaded(args))


def _load_reloaded(args: argparse.Namespace) -> Config:
    from shiptrack_tui.config import load_config
    from shiptrack_tui.notify import check_apprise_config, check_notify_url

    return load_config(config_path(args), check_notify_url=check_notify_url,
                       check_apprise_config=check_apprise_config)


def cmd_dashboard(args: argparse.Namespace) -> int:
    from shiptrack_tui.tui.launch import run_dashboard

    if args.demo:
        config, targets = _demo_config(args)
        try:
            return run_dashboard(config, demo_db(args), config_error=None)
        finally:
            targets.stop()
    if not config_path(args).exists():
        return _dashboard_without_config(args)
    try:
        config = load_args_config(args)
    except UsageError as error:
        return run_dashboard(None, store_target_of(args), config_error=str(error))
    return run_dashboard(config, store_target_of(args, config), config_error=None)


def _dashboard_without_config(args: argparse.Namespace) -> int:
    """No config file is nothing to fix, only nothing to run: view the one engine already running
    (the demo's daemon, like the reading commands do), or say how to start. Exit 2: nothing to run."""
    from shiptrack_tui.lock import running_engine_pid
    from shiptrack_tui.store_target import explicit
    from shiptrack_tui.tui.launch import attach_dashboard

    candidates = [store_target_of(args)] if explicit(args.db) else [store_target_of(args), demo_db(args)]
    running = [(db, pid) for db in candidates if (pid := running_engine_pid(db.local)) is not None]
    if len(running) == 1:
        return attach_dashboard(*running[0])
    if not running and candidates[0].is_postgres:  # a cluster's database: view its nodes' work
        from shiptrack_tui.tui.launch import attach_cluster

        attached = attach_cluster(candidates[0])
        if attached is not None:
            return attached
    path = config_path(args)
    flag = f" --config {path}" if args.config else ""
    print(f"No config file at {path}, so there is nothing to watch yet. Either:\n"
          "  - try the built-in demo:  shiptrack --demo\n"
          f"  - add a first monitor:    shiptrack monitor add --name api --url https://example.com/health{flag}\n"
          f"  - start from every key:   mkdir -p {path.parent} && cp config/example.toml {path}",
          file=sys.stderr)
    return EXIT_USAGE


def cmd_cluster(args: argparse.Namespace) -> int:
    from shiptrack_tui.cli_cluster import cmd_cluster

    return cmd_cluster(args)


def cmd_serve_dashboard(args: argparse.Namespace) -> int:
    from shiptrack_tui.web.browser_dashboard import cmd_serve_dashboard

    return cmd_serve_dashboard(args)


def cmd_db(args: argparse.Namespace) -> int:
    from shiptrack_tui.db_commands import cmd_db

    return cmd_db(args)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "check-config": cmd_check_config,
    "status": cmd_status,
    "services": cmd_services,
    "incidents": cmd_incidents,
    "postmortem": cmd_postmortem,
    "ack": cmd_ack,
    "note": cmd_note,
    "update": cmd_update,
    "severity": cmd_severity,
    "notify-test": cmd_notify_test,
    "silence": cmd_silence,
    "unsilence": cmd_unsilence,
    "monitor": cmd_monitor,
    "db": cmd_db,
    "cluster": cmd_cluster,
    "serve-dashboard": cmd_serve_dashboard,
}


def _unusable_database(error: Exception) -> str | None:
    """The operator's one line when the database or its lock file cannot be used, else None.

    StorageError can only come from an imported storage package, so a command that never opened
    the database does not pay for importing it here.
    """
    from shiptrack_tui.lock import LockUnusable

    if isinstance(error, LockUnusable):
        return str(error)
    storage = sys.modules.get("shiptrack_tui.storage")
    if storage is not None and isinstance(error, storage.StorageError):
        return str(error)
    return None


def _bench_argv(argv: Sequence[str]) -> list[str] | None:
    """`shiptrack [--db P] bench ...`: everything after `bench` belongs to the benchmark's parser.

    argparse's REMAINDER drops an option that directly follows the subcommand, so the benchmark's
    arguments are split off before parsing; a --db given before `bench` is passed on.
    """
    valued = {"--config", "--db"}
    i = 0
    while i < len(argv):
        token = argv[i]
        if token in valued:
            i += 2
            continue
        if not token.startswith("-"):
            break
        i += 1
    if i >= len(argv) or argv[i] != "bench":
        return None
    rest = list(argv[i + 1:])
    before = list(argv[:i])
    if "--db" in before and "--db" not in rest:
        rest += ["--db", before[before.index("--db") + 1]]
    return rest


_DASHED_VALUE = re.compile(r"^-\d")


def _glue_negative_values(argv: list[str]) -> list[str]:
    """`--for -5m` as `--for=-5m`: argparse takes "-5m" for an option, so the command could not
    say what is wrong with the value itself."""
    glued: list[str] = []
    for token in argv:
        if glued and glued[-1] == "--for" and _DASHED_VALUE.match(token):
            glued[-1] = f"--for={token}"
        else:
            glued.append(token)
    return glued


def main(argv: Sequence[str] | None = None) -> int:
    raw = list(sys.argv[1:] if argv is None else argv)
    bench_args = _bench_argv(raw)
    if bench_args is not None:
        from shiptrack_tui.bench import main as bench_main

        return bench_main(bench_args)
    args = build_parser().parse_args(_glue_negative_values(raw))
    try:
        if args.command:
            return COMMANDS[args.command](args)
        return cmd_daemon(args) if args.daemon else cmd_dashboard(args)
    except UsageError as error:
        print(str(error), file=sys.stderr)
        return EXIT_USAGE
    except RuntimeFailure as error:
        print(str(error), file=sys.stderr)
        return EXIT_FAILURE
    except Exception as error:
        message = _unusable_database(error)
        if message is None:
            raise
        print(f"shiptrack: {message}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return EXIT_FAILURE
    except BrokenPipeError:
        return EXIT_OK
