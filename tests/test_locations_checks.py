"""Location checkers in-process on a real PostgreSQL (engine/locations.py): three nodes, each leaving
from its own loopback address, keep their locations' runs of failures against the monitor's
threshold and write them fenced by their location leases; the owner's fold reads them back.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import replace
from types import SimpleNamespace

import psycopg
from address_target import AddressTarget

from shiptrack_tui.core.model import MonitorSpec, Outcome
from shiptrack_tui.engine.cluster import CHORES
from shiptrack_tui.engine.locations import LocationChecks, owner_result
from shiptrack_tui.probes import ClientPool, probe
from shiptrack_tui.storage import Store
from shiptrack_tui.storage.cluster import CLUSTER_SCHEMA, acquire
from shiptrack_tui.storage.locations import PgLocationBook

PLACES = {"eu-west": "127.0.0.2", "us-east": "127.0.0.3", "ap-south": "127.0.0.4"}
NODES = {"eu-west": "fra-1", "us-east": "nyc-1", "ap-south": "bom-1"}


def _schema(url: str) -> None:
    Store.open(url).close()  # the store's own tables first: the cluster DDL alters the outbox
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in CLUSTER_SCHEMA:
            conn.execute(statement)


def _take(url: str, node: str, keys: list[tuple[str, str]], lease: float = 30.0
          ) -> dict[tuple[str, str], int]:
    with psycopg.connect(url) as conn:
        held = acquire(conn, node, keys, lease)
        conn.commit()
    return held


async def until(predicate: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        await asyncio.sleep(0.05)


@asynccontextmanager
async def checker(url: str, location: str, spec: MonitorSpec, node: str | None = None
                  ) -> AsyncIterator[LocationChecks]:
    """One node's location checker for `spec` from `location`, holding its lease, running."""
    node = node or NODES[location]
    async with AsyncExitStack() as stack:
        pool = await stack.enter_async_context(ClientPool(local_address=PLACES[location]))
        book = PgLocationBook.at(url)
        stack.callback(book.close)
        checks = LocationChecks(book, node, lambda s: probe(s, pool))
        checks.configure({spec.name: spec})
        checks.hold(await asyncio.to_thread(_take, url, node, [(spec.name, location)]))
        task = asyncio.create_task(checks.run())
        try:
            yield checks
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


def _by_location(book: PgLocationBook, monitor: str) -> dict[str, object]:
    return {row.result.location: row for row in book.read([monitor])}


async def test_each_location_counts_its_own_failures_and_confirm_decides(pg_url: str) -> None:
    await asyncio.to_thread(_schema, pg_url)
    with AddressTarget() as target:
        target.set_refused(PLACES["ap-south"])
        spec = MonitorSpec(name="api", url=target.url, interval=0.3, timeout=1.0, failure_threshold=2,
                           locations=tuple(PLACES), confirm=2)
        reader = PgLocationBook.at(pg_url)
        try:
            async with checker(pg_url, "eu-west", spec), checker(pg_url, "us-east", spec), \
                    checker(pg_url, "ap-south", spec) as south:
                def ap_south_confirmed() -> bool:
                    rows = _by_location(reader, "api")
                    return len(rows) == 3 and rows["ap-south"].result.failures >= 2  # type: ignore[attr-defined]

                await until(ap_south_confirmed, 10, "ap-south to reach its failure threshold")
                rows = _by_location(reader, "api")
                assert {loc: (r.result.ok, r.node) for loc, r in rows.items()} == {  # type: ignore[attr-defined]
                    "eu-west": (True, "fra-1"), "us-east": (True, "nyc-1"), "ap-south": (False, "bom-1")}
                assert rows["ap-south"].result.reason.startswith("HTTP 503")  # type: ignore[attr-defined]
                assert rows["eu-west"].result.failures == 0  # type: ignore[attr-defined]
                assert target.clients() == set(PLACES.values())
                assert south.state(("api", "ap-south")).consecutive_failures >= 2  # type: ignore[union-attr]

                one = await owner_result(reader, spec, time.time())
                assert one is not None and one.outcome is Outcome.DEGRADED  # one place fails: no incident
                assert one.reason is not None and one.reason.startswith("ok from eu-west, us-east; HTTP 503")
                assert one.reason.endswith("from ap-south")

                target.set_refused("*")

                async def confirmed() -> bool:
                    result = await owner_result(reader, spec, time.time())
                    return result is not None and result.outcome is Outcome.DOWN

                deadline = time.monotonic() + 10
                while not await confirmed():
                    assert time.monotonic() < deadline, "no DOWN once every location is refused"
                    await asyncio.sleep(0.1)
                down = await owner_result(reader, spec, time.time())
                assert down is not None and down.reason is not None
                assert down.reason.startswith("HTTP 503")
                assert "eu-west" in down.reason and "us-east" in down.reason
        finally:
            reader.close()


async def test_a_checker_that_lost_its_leasebooks_nothing_and_the_next_one_continues_the_run(
        pg_url: str) -> None:
    await asyncio.to_thread(_schema, pg_url)
    with AddressTarget() as target:
        target.set_refused("*")
        spec = MonitorSpec(name="api", url=target.url, interval=0.3, timeout=1.0, failure_threshold=50,
                           locations=("ap-south",), confirm=1)
        reader = PgLocationBook.at(pg_url)
        try:
            async with checker(pg_url, "ap-south", spec, node="old") as old:
                key = ("api", "ap-south")

                def stored_failures() -> int:
                    row = _by_location(reader, "api").get("ap-south")
                    return row.result.failures if row is not None else 0  # type: ignore[attr-defined]

                await until(lambda: stored_failures() >= 3, 10, "the old node's first failures")
                # The old node's lease is taken over: it never beat (no node row), so it is dead
                # to the others and the new node takes the lease at once. It must stop writing.
                async with checker(pg_url, "ap-south", spec, node="new") as new:
                    assert new.held[key] == old.held.get(key, 0) + 1 or key not in old.held
                    await until(lambda: key not in old.held, 10, "the old node to notice it was fenced")
                    assert old.fenced == 1
                    await until(lambda: _by_location(reader, "api")["ap-south"].node == "new", 10,  # type: ignore[attr-defined]
                                "the new node's first write")
                    taken_at = stored_failures()
                    await until(lambda: stored_failures() > taken_at, 10, "the new node's next failure")
                    state = new.state(key)
                    assert state is not None and state.consecutive_failures > 3  # continued, not restarted
                    checks_then = old.checks
                    await asyncio.sleep(1.0)  # the old node's schedule is gone: it checks no more
                    assert old.checks == checks_then
        finally:
            reader.close()


async def test_the_node_follows_its_engine_and_the_chores_holder_drops_removed_locations(pg_url: str) -> None:
    """Driven by a source as the engine drives it: its config (a new object on each reload) and
    the leases it holds. A location dropped from the config stops being checked, and the holder of
    the chores lease deletes its stored state."""
    await asyncio.to_thread(_schema, pg_url)
    with AddressTarget() as target:
        both = MonitorSpec(name="api", url=target.url, interval=0.3, timeout=1.0,
                           locations=("eu-west", "us-east"))
        book = PgLocationBook.at(pg_url)
        keys = [("api", "eu-west"), ("api", "us-east"), CHORES]
        held = await asyncio.to_thread(_take, pg_url, "fra-1", keys)
        config: list[object] = [SimpleNamespace(monitors=(both,))]
        async with ClientPool(local_address="127.0.0.2") as pool:
            checks = LocationChecks(book, "fra-1", lambda s: probe(s, pool), source=lambda: (config[0], held))
            task = asyncio.create_task(checks.run())
            try:
                await until(lambda: set(_by_location(book, "api")) == {"eu-west", "us-east"}, 10,
                            "both locations stored")
                assert set(checks.held) == {("api", "eu-west"), ("api", "us-east")}  # not the chores key
                config[0] = SimpleNamespace(monitors=(replace(both, locations=("eu-west",)),))
                await until(lambda: set(_by_location(book, "api")) == {"eu-west"}, 10, "us-east dropped")
                assert set(checks.held) == {("api", "eu-west")}
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
