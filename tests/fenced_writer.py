"""A node that writes under its lease as fast as it can, never noticing it was declared dead: run
by tests/test_cluster_fencing.py, which pauses it (SIGSTOP) past the liveness timeout and lets
another node take over. Every write goes through `fence_node` (its own node row's generation);
the database must refuse all of them after that.

    python tests/fenced_writer.py URL NODE LEASE_SECONDS
"""

from __future__ import annotations

import sys
import time
from typing import Any

import peewee
import psycopg

from shiptrack_tui.storage.cluster import acquire, fence_node, session_options
from shiptrack_tui.storage.cluster_nodes import NodeInfo, heartbeat

KEY = ("api", "")


def connect(url: str, lease: float) -> psycopg.Connection[Any]:
    return psycopg.connect(url, options=session_options(lease), connect_timeout=5)


def main(url: str, node: str, lease: float) -> None:
    conn = connect(url, lease)
    info = NodeInfo(node, "here", "h", ("api",), pid=1, host=node)
    generation = heartbeat(conn, info, lease).generation
    held = acquire(conn, node, [KEY], lease, generation=generation)
    conn.commit()
    print("held", held[KEY], flush=True)
    beat_at = time.monotonic()
    while True:
        try:
            if time.monotonic() - beat_at > lease / 4:
                heartbeat(conn, info, lease, generation)  # what it says is ignored: the worst case
                conn.commit()
                beat_at = time.monotonic()
            conn.execute("UPDATE attempts SET n = n + 1")
            allowed = fence_node(conn, node, generation)
            time.sleep(0.02)  # the write is being prepared: a pause most likely lands in here
            if allowed:
                conn.execute("INSERT INTO fenced_write (node, epoch) VALUES (%s, %s)", (node, held[KEY]))
            conn.commit()
        except (psycopg.Error, peewee.PeeweeException) as error:
            # The server ended the transaction it was paused in: connect again and carry on.
            print("fenced_writer:", type(error).__name__, str(error).strip().split("\n")[0], file=sys.stderr,
                  flush=True)
            conn.close()
            conn = connect(url, lease)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]))
