"""`shiptrack postmortem ID [--output FILE]`: an incident as a Markdown postmortem skeleton.

Printed to stdout (`shiptrack postmortem 7 > pm.md`), or written owner-only to --output. An
unknown id is a usage error (exit 2); a file that cannot be written is a runtime failure (exit 1).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from shiptrack_tui.cli_common import (
    EXIT_OK,
    RuntimeFailure,
    config_path,
    db_for_reading,
    load_args_config,
    open_store,
)
from shiptrack_tui.failures import UsageError


def cmd_postmortem(args: argparse.Namespace) -> int:
    from shiptrack_tui.cli_services import services_config
    from shiptrack_tui.postmortem_export import build_postmortem, write_private

    # The services named come from the config: a broken one is an error, as for `services`.
    config = load_args_config(args, check_urls=False) if config_path(args).exists() else None
    db = db_for_reading(args)
    store = open_store(db)
    config = services_config(args, db, config)
    try:
        text = build_postmortem(store, config, args.id)
    except LookupError as error:
        raise UsageError(f"shiptrack: {error}") from None
    finally:
        store.close()
    if args.output is None:
        print(text, end="")
        return EXIT_OK
    path = Path(args.output).expanduser()
    try:
        write_private(path, text)
    except OSError as error:
        raise RuntimeFailure(f"shiptrack: cannot write {path}: {error.strerror or error}") from None
    print(f"wrote the postmortem of incident #{args.id} to {path}")
    return EXIT_OK
