"""`shiptrack monitor add` and `monitor rm`: edit the config file, keeping its comments.

Errors cite the file as it is on disk (the monitor being added is not in it); a file that did
not exist is created and the command says so.
"""

from __future__ import annotations

import argparse

from shiptrack_tui.cli import EXIT_OK, UsageError, _config_path, _db_path, _load, _open_store

# The daemon watches its config file (engine's config watch loop); SIGHUP only makes it sooner.
PICKED_UP = "a running engine (daemon or dashboard) picks this up within 2 s"


def cmd_monitor(args: argparse.Namespace) -> int:
    from shiptrack_tui.config import ConfigConflict, ConfigError, MonitorNotFound, add_monitor, remove_monitor

    path = _config_path(args)
    existed = path.exists()
    try:
        if args.monitor_command == "add":
            fields: dict[str, object] = {"name": args.name, "url": args.url}
            if args.interval:
                fields["interval"] = args.interval
            if args.tag:
                fields["tags"] = list(args.tag)
            add_monitor(path, fields)
            if not existed:
                print(f"created {path}")
            print(f"added monitor {args.name!r} to {path}")
        else:
            _confirm_rm(args)
            remove_monitor(path, args.name)
            print(f"removed monitor {args.name!r} from {path}")
    except (ConfigError, ConfigConflict, MonitorNotFound) as error:
        raise UsageError(str(error)) from None
    print(PICKED_UP)
    return EXIT_OK


def _confirm_rm(args: argparse.Namespace) -> None:
    """`monitor rm` of a monitor with history needs --yes (UsageError without it)."""
    if args.yes:
        return
    try:
        config = _load(args, check_urls=False)
    except UsageError:  # a broken file: rm may be the fix; the database is then the default one
        config = None
    db = _db_path(args, config)
    if not db.exists():
        return
    store = _open_store(db)
    try:
        history = store.history(args.name)
    finally:
        store.close()
    if history is not None and not history.empty:
        raise UsageError(f"shiptrack: {args.name!r} has history in {db} ({history}); rm keeps it there, out "
                         "of sight (adding the name again takes it up); add --yes to remove the monitor")
