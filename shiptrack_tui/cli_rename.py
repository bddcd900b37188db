"""`shiptrack monitor rename OLD NEW`: the config file's table takes the new name (its comments
and every other line stay), and the monitor's history goes with it.

As the dashboard does it (storage/renames.py): the edit is checked in memory first, then a rename
action is written to the database, then the file; an engine that sees the new file finds the
action and moves the checks, incidents and pending notifications to the new name. When the file
cannot be written, the action is withdrawn.
"""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING

from shiptrack_tui.cli_common import EXIT_OK, config_path, open_store, store_target_of
from shiptrack_tui.failures import UsageError

if TYPE_CHECKING:
    from shiptrack_tui.store_target import StoreTarget

def cmd_rename(args: argparse.Namespace, picked_up: str) -> int:
    from shiptrack_tui.config import ConfigConflict, ConfigEditor, ConfigError, MonitorNotFound

    old, new = args.old, args.new
    path = config_path(args)
    if old == new:
        raise UsageError(f"shiptrack: {old!r} already has that name")
    try:
        editor = ConfigEditor(path)
        if any(spec.name == new for spec in editor.validate().monitors):
            raise UsageError(f"shiptrack: {path} already has a monitor named {new!r}; names must be unique")
        editor.update_monitor(old, {"name": new})
        config = editor.validate()  # nothing is written anywhere unless the renamed file loads
    except (ConfigError, ConfigConflict, MonitorNotFound) as error:
        raise UsageError(str(error)) from None
    db = store_target_of(args, config)
    action, follows = _announce(db, old, new)
    try:
        editor.save()
    except (ConfigError, ConfigConflict) as error:
        _withdraw(db, action)
        raise UsageError(str(error)) from None
    done = f"renamed monitor {old!r} to {new!r} in {path}"
    if action is not None:
        print(f"{done}; its history goes with it")
    elif not follows:
        print(f"{done}; {new!r} has a history of its own, so {old!r}'s stays under the old name")
    else:
        print(done)
    print(picked_up)
    return EXIT_OK


def _announce(db: StoreTarget, old: str, new: str) -> tuple[int | None, bool]:
    """Write the rename action (its id), and whether the history can follow. No action when there
    is nothing to carry (no database yet, or the monitor was never checked) or the new name has a
    history of its own (the engine would refuse the rename)."""
    from shiptrack_tui.config import operator

    if not db.exists():
        return None, True
    store = open_store(db)
    try:
        return store.announce_rename(old, new, time.time(), operator("cli"))
    finally:
        store.close()


def _withdraw(db: StoreTarget, action: int | None) -> None:
    if action is None:
        return
    store = open_store(db)
    try:
        store.withdraw_rename(action, time.time())
    finally:
        store.close()
