"""The writer gathers plain check results for the backend's gather time (longer on PostgreSQL,
whose transactions cost more), but a write carrying a transition is committed at once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from storage_helpers import T0, Feed, check
from waiting import wait_for

from shiptrack_tui.core.model import Outcome
from shiptrack_tui.storage import Store, Writer


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path / "shiptrack.db")
    yield opened
    opened.close()


def test_each_backend_says_how_long_its_writer_gathers(store: Store, pg_url: str) -> None:
    postgres = Store.open(pg_url)
    try:
        assert store.gather_seconds == pytest.approx(0.02)
        assert postgres.gather_seconds == pytest.approx(0.25)
    finally:
        postgres.close()


def test_plain_checks_wait_for_company_but_a_transition_goes_at_once(store: Store) -> None:
    writer = Writer(store, gather_seconds=60.0)  # a minute-long gather: only urgency can end it
    feed = Feed("api")  # failure threshold 2: the first DOWN makes it pending, the second opens
    writer.submit(feed.write(check("api", T0, Outcome.UP)))  # unknown -> up: a status change
    writer.flush()
    for i in (1, 2):
        writer.submit(feed.write(check("api", T0 + i, Outcome.UP)))  # plain check results
    time.sleep(0.3)
    assert writer.batches == 1 and len(store.recent_checks("api", limit=10)) == 1
    failing = feed.write(check("api", T0 + 3, Outcome.DOWN))
    assert failing.events  # up -> pending
    started = time.monotonic()
    writer.submit(failing)
    wait_for(lambda: writer.batches >= 2, timeout=10)
    assert time.monotonic() - started < 10
    assert writer.batches == 2  # the waiting checks went in the same transaction
    assert len(store.recent_checks("api", limit=10)) == 4
    opening = feed.write(check("api", T0 + 4, Outcome.DOWN))
    writer.submit(opening)
    wait_for(lambda: len(store.incidents()) == 1, timeout=10)
    writer.close(timeout=10)


def test_a_gathering_writer_still_flushes_and_closes_promptly(store: Store) -> None:
    writer = Writer(store, gather_seconds=60.0)
    feed = Feed("api")
    for i in range(5):
        writer.submit(feed.write(check("api", T0 + i, Outcome.UP)))
    started = time.monotonic()
    writer.flush()
    assert time.monotonic() - started < 10 and len(store.recent_checks("api", limit=10)) == 5
    writer.submit(feed.write(check("api", T0 + 10, Outcome.UP)))
    writer.close(timeout=10)
    assert len(store.recent_checks("api", limit=10)) == 6
