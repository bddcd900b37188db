"""How the dashboard hears of other processes' writes, and what it shows of a cluster.

SQLite: a poll of `PRAGMA data_version` twice a second. PostgreSQL: the store's LISTEN on
`shiptrack_changes` pushes each commit (the gateway's listening thread), and the nodes sharing
the database are read each second for the header (whether a node is alive is a matter of time,
not of writes).
"""

from __future__ import annotations

import asyncio
from typing import Final

from textual import work

from shiptrack_tui.core.cluster_view import DEFAULT_LEASE, ClusterHeader, wanted_locations
from shiptrack_tui.tui.messages import DataChanged
from shiptrack_tui.tui.screens.service_filter import ServiceFilter
from shiptrack_tui.tui.widgets.status_bar import StatusBar

POLL_SECONDS: Final = 0.5


class DatabaseWatch(ServiceFilter):
    """Posts `DataChanged` when another connection commits; keeps the header's cluster line."""

    backend: str | None = None
    """"sqlite" or "postgresql", once the store has been opened."""
    cluster_reads = 0
    """How many times the nodes were read (tests wait on it)."""

    def watch_database(self) -> None:
        self._listen_for_changes()

    def on_unmount(self) -> None:
        self._gateway.stop_listening()

    def read_cluster(self) -> None:
        """Re-read the nodes for the header (on a cluster; nothing on SQLite)."""
        if self.backend == "postgresql":
            self._read_cluster()

    @work(group="watch", exit_on_error=False)
    async def _listen_for_changes(self) -> None:
        self.backend = await self._gateway.call(lambda store: store.backend)
        if self.backend == "postgresql":
            await self._gateway.listen(lambda: self.post_message(DataChanged()))
            self._read_cluster()
        else:
            self._poll_data_version()

    @work(group="poll", exit_on_error=False)
    async def _poll_data_version(self) -> None:
        """The attached dashboard's news of the daemon's writes on SQLite; harmless with an engine too."""
        last: int | None = None
        while True:
            version = await self._gateway.call(lambda store: store.data_version())
            if last is not None and version != last:
                self.post_message(DataChanged())
            last = version
            await asyncio.sleep(POLL_SECONDS)

    @work(group="cluster", exclusive=True, exit_on_error=False)
    async def _read_cluster(self) -> None:
        """The nodes sharing the database, alive by `[cluster] lease` of the config in the file."""
        from peewee import PeeweeException  # loaded with the store, already open

        from shiptrack_tui.storage.db import StorageError

        config = self.snapshot.config if self.snapshot is not None else None
        lease = config.cluster.lease if config is not None and config.cluster is not None else DEFAULT_LEASE
        try:
            nodes = await self._gateway.call(lambda store: store.cluster_nodes(lease))
        except (StorageError, PeeweeException):  # the database is away: the monitors' reads say so
            return
        self.cluster_reads += 1
        bar = self.query_one(StatusBar)
        shown = bar.cluster
        # An engine on PostgreSQL without [cluster] is no node: no cluster to speak of.
        wanted = wanted_locations(config.monitors) if config is not None else {}
        bar.cluster = ClusterHeader.of(nodes, wanted) if nodes else None
        if (shown is None) != (bar.cluster is None):  # the detail says who checks, or stops saying
            self.reload_detail()

    def reload_detail(self) -> None:
        """Re-read the selected monitor's detail (the dashboard's)."""
