"""`shiptrack cluster status [--json]`: the nodes sharing a PostgreSQL database (DESIGN §12).

Read-only, like `status`: it opens the store, reads the node and lease rows, and prints. A cluster
lives in PostgreSQL only, so on SQLite it says what to configure instead (exit 2).
"""

from __future__ import annotations

import argparse
import json

from shiptrack_tui.cluster_report import cluster_json, cluster_table
from shiptrack_tui.core.cluster_view import DEFAULT_LEASE, wanted_locations
from shiptrack_tui.failures import UsageError

EXIT_OK = 0
NEEDS_POSTGRES = "cluster status needs PostgreSQL storage ([storage] url)"


def cmd_cluster(args: argparse.Namespace) -> int:
    # Only `status` for now; the parser requires a subcommand.
    return cmd_cluster_status(args)


def cmd_cluster_status(args: argparse.Namespace) -> int:
    from shiptrack_tui.cli_common import config_if_any, db_for_reading, open_store

    target = db_for_reading(args)  # --db, $SHIPTRACK_DB, [storage] url or path (store_target.py)
    if not target.is_postgres:  # said before any file is opened or created
        raise UsageError(NEEDS_POSTGRES)
    config = config_if_any(args)
    lease = config.cluster.lease if config is not None and config.cluster is not None else DEFAULT_LEASE
    store = open_store(target)
    try:
        nodes = store.cluster_nodes(lease)
    finally:
        store.close()
    wanted = wanted_locations(config.monitors) if config is not None else {}
    print(json.dumps(cluster_json(nodes, wanted), indent=2) if args.json else cluster_table(nodes, wanted))
    return EXIT_OK
