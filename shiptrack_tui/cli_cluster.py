"""`shiptrack cluster status [--json]`: the nodes sharing a PostgreSQL database (DESIGN §12).

Read-only, like `status`: it opens the store, reads the node and lease rows, and prints. A cluster
lives in PostgreSQL only, so on SQLite it says what to configure instead (exit 2).
"""

from __future__ import annotations

import argparse
import json
import os
from typing import TYPE_CHECKING

from shiptrack_tui.cluster_report import cluster_json, cluster_table
from shiptrack_tui.core.cluster_view import DEFAULT_LEASE
from shiptrack_tui.failures import UsageError

if TYPE_CHECKING:
    from shiptrack_tui.config import Config

EXIT_OK = 0
NEEDS_POSTGRES = "cluster status needs PostgreSQL storage ([storage] url)"


def cmd_cluster(args: argparse.Namespace) -> int:
    # Only `status` for now; the parser requires a subcommand.
    return cmd_cluster_status(args)


def _postgres_url(args: argparse.Namespace, config: Config | None) -> str:
    """The PostgreSQL URL this command reads: `--db URL` (or SHIPTRACK_DB), else `[storage] url`.
    A SQLite database has no cluster: UsageError, without creating or opening any file."""
    from shiptrack_tui.storage.dsn import is_postgres_url

    target = args.db or os.environ.get("SHIPTRACK_DB")
    if target is None and config is not None:
        target = config.storage.url
    if not target or not is_postgres_url(str(target)):
        raise UsageError(NEEDS_POSTGRES)
    return str(target)


def cmd_cluster_status(args: argparse.Namespace) -> int:
    from shiptrack_tui.cli import _config_if_any
    from shiptrack_tui.storage import Store

    config = _config_if_any(args)
    lease = config.cluster.lease if config is not None and config.cluster is not None else DEFAULT_LEASE
    store = Store.open(_postgres_url(args, config))
    try:
        nodes = store.cluster_nodes(lease)
    finally:
        store.close()
    print(json.dumps(cluster_json(nodes), indent=2) if args.json else cluster_table(nodes))
    return EXIT_OK
