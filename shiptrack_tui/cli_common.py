"""What every `shiptrack` command shares: the config file and the database it works on.

The config is read lazily (validation, Apprise's URL checks) and the store opened only by the
commands that need them, so `shiptrack --help` stays fast.
"""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

from shiptrack_tui.failures import RuntimeFailure, UsageError

if TYPE_CHECKING:
    from shiptrack_tui.config import Config
    from shiptrack_tui.storage import Store
    from shiptrack_tui.store_target import StoreTarget

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


def config_path(args: argparse.Namespace) -> Path:
    from shiptrack_tui.config import default_config_path

    return Path(args.config).expanduser() if args.config else default_config_path()


def load_args_config(args: argparse.Namespace, check_urls: bool = True) -> Config:
    """The validated config; `check_urls=False` skips Apprise (a 100 ms import) for read-only commands."""
    from shiptrack_tui.config import ConfigError, load_config

    check = check_file = None
    if check_urls:
        from shiptrack_tui.notify import check_apprise_config as check_file
        from shiptrack_tui.notify import check_notify_url as check
    try:
        config = load_config(config_path(args), check_notify_url=check, check_apprise_config=check_file)
    except ConfigError as error:
        raise UsageError(str(error)) from None
    use_display_zone(config)
    return config


def use_display_zone(config: Config) -> None:
    """Tables and the dashboard show times in `[display] timezone`, else the machine's zone."""
    from shiptrack_tui.core.formats import set_display_zone, zone_named

    set_display_zone(zone_named(config.display.timezone) if config.display.timezone else None)


def store_target_of(args: argparse.Namespace, config: Config | None = None) -> StoreTarget:
    """The store this command uses (store_target.resolve): --db, $SHIPTRACK_DB, [storage], default."""
    from shiptrack_tui.store_target import resolve

    return resolve(args.db, config)


def db_for_reading(args: argparse.Namespace) -> StoreTarget:
    """Reading commands work without a config file; a broken one is still an error.

    With neither a config file nor a database of their own, they read the demo's database, so
    `shiptrack status` in another shell shows what `shiptrack --demo --daemon` is doing.
    """
    from shiptrack_tui.store_target import explicit

    path = config_path(args)
    if explicit(args.db):
        config = None
        if path.exists():  # for `[display] timezone` and a password_file: --db needs no valid config
            with contextlib.suppress(UsageError):
                config = load_args_config(args, check_urls=False)
        return store_target_of(args, config)
    if path.exists():
        return store_target_of(args, load_args_config(args, check_urls=False))
    default, demo = store_target_of(args), demo_db(args)
    return demo if not default.exists() and demo.exists() else default


def open_store(target: StoreTarget) -> Store:
    from shiptrack_tui.storage import StorageError

    path = target.path
    if path is not None and not path.exists():
        blocker = next((p for p in path.parents if p.exists()), None)
        if blocker is not None and not blocker.is_dir():  # no engine could create the file either
            raise StorageError(f"{path} cannot be created: {blocker} is a file, not a folder; "
                               "check the --db path.")
        raise RuntimeFailure(f"shiptrack: no database at {path} yet; start an engine to create it: "
                             "`shiptrack` (the dashboard), `shiptrack --daemon`, or `shiptrack --demo`")
    return target.open()

def config_if_any(args: argparse.Namespace) -> Config | None:
    """The config when its file exists and is valid, else None: reading commands work without one."""
    if not config_path(args).exists():
        return None
    with contextlib.suppress(UsageError):
        return load_args_config(args, check_urls=False)
    return None


def config_if_any_strict(args: argparse.Namespace) -> Config | None:
    """The config when its file exists (a broken one is an error: exit 2), else None."""
    return load_args_config(args, check_urls=False) if config_path(args).exists() else None


def demo_db(args: argparse.Namespace) -> StoreTarget:
    from shiptrack_tui.store_target import demo_target

    return demo_target(args.db)
