"""`shiptrack monitor add` and `monitor rm`: edit the config file, keeping its comments.

Errors cite the file as it is on disk (the monitor being added is not in it); a file that did
not exist is created and the command says so.
"""

from __future__ import annotations

import argparse

from shiptrack_tui.cli import EXIT_OK, UsageError, _config_path

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
            remove_monitor(path, args.name)
            print(f"removed monitor {args.name!r} from {path}")
    except (ConfigError, ConfigConflict, MonitorNotFound) as error:
        raise UsageError(str(error)) from None
    print(PICKED_UP)
    return EXIT_OK
