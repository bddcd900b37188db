"""The engine's retention run: apply `[storage]` retention in small steps, pack closed periods of
checks into blocks (PostgreSQL, storage/compaction.py), then return free pages.

Small transactions keep the writer from ever waiting long: 10,000 monitors at 30 s store 20,000
checks a minute, so a run keeps stepping until it has caught up, yielding between steps.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Final

from shiptrack_tui.config import StorageSettings
from shiptrack_tui.storage import Retention, Store

log = logging.getLogger("shiptrack.engine")

STEP_ROWS: Final = 5000
STEP_PAGES: Final = 1000
PAUSE_SECONDS: Final = 0.05
REPORT_AFTER_SECONDS: Final = 10.0


class RetentionRun:
    """Prunes one store by its settings; says once when the file cannot return its free pages."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._told_vacuum = False

    async def run(self, settings: StorageSettings, now: float) -> None:
        keep = Retention(raw=settings.keep_raw, hourly=settings.keep_hourly, daily=settings.keep_daily,
                         incidents=settings.keep_incidents)
        started, deleted, returned, packed = time.monotonic(), 0, 0, 0
        try:
            while (count := await asyncio.to_thread(self._store.prune, now, keep, STEP_ROWS)) == STEP_ROWS:
                deleted += count
                await asyncio.sleep(PAUSE_SECONDS)
            deleted += count
            after: int | None = 0  # PostgreSQL: closed periods of checks packed into blocks
            while after is not None:
                count, after = await asyncio.to_thread(self._store.pack_checks, now, STEP_ROWS, after)
                packed += count
                if after is not None:
                    await asyncio.sleep(PAUSE_SECONDS)
            free, incremental = await asyncio.to_thread(self._store.free_pages)
            while incremental and (count := await asyncio.to_thread(self._store.reclaim, STEP_PAGES)) > 0:
                returned += count
                await asyncio.sleep(PAUSE_SECONDS)
            await asyncio.to_thread(self._store.checkpoint)
        except Exception as error:  # e.g. the writer kept the lock past the busy timeout
            if self._store.outage.failed(error) and self._store.outage.since is not None:
                log.debug("retention postponed: the database is unreachable (%s)", error)
            else:
                log.warning("retention postponed to the next minute: %s", error)
            return
        if not incremental and free > 10 * STEP_PAGES and not self._told_vacuum:
            self._told_vacuum = True
            log.warning("%s keeps %d free pages it cannot return (made before auto_vacuum); stop "
                        "ShipTrack and run `shiptrack db vacuum` once", self._store.path, free)
        if time.monotonic() - started > REPORT_AFTER_SECONDS:
            log.info("retention caught up: %d rows removed, %d checks packed, %d pages returned in %.0f s",
                     deleted, packed, returned, time.monotonic() - started)
