"""PostgreSQL outages (DESIGN §12, issue #14): the engine keeps checking while the server is away,
holds results in bounded memory, writes them when it is back, loses nothing and doubles nothing;
readiness says so meanwhile. And a connection lost during COMMIT is retried exactly once.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pg_proxy import PgProxy
from postgres_server import PostgresServer
from storage_helpers import T0, Feed, check
from waiting import wait_for

from shiptrack_tui.core.model import Outcome, TimelineKind
from shiptrack_tui.storage import PipelineWrite, Store, Writer
from shiptrack_tui.storage.outage import is_transient, is_unreachable


@pytest.fixture
def proxied(pg_url: str, postgres_server: PostgresServer) -> Iterator[tuple[Store, PgProxy]]:
    """A store whose connections go through a proxy that can cut one after its COMMIT."""
    proxy = PgProxy(postgres_server.host, postgres_server.port)
    store = Store.open(proxy.url(pg_url))
    try:
        yield store, proxy
    finally:
        store.close()
        proxy.close()


def _count(store: Store, sql: str, *params: object) -> int:
    with store.connection_context():
        return int(store._conn().execute(sql, params).fetchone()[0])


def _opened_incident(store: Store) -> tuple[Feed, PipelineWrite]:
    """An incident opened and stored (with its OPEN outbox row), and the feed that opened it."""
    feed = Feed("api", urls=("json://127.0.0.1:9/hook",))
    writes = [feed.write(check("api", T0 + i, Outcome.DOWN)) for i in range(2)]
    store.commit_batch(writes)
    assert feed.state.incident is not None
    return feed, writes[-1]


def _note_write(feed: Feed, at: float) -> PipelineWrite:
    """A check and a note on the open incident: rows that a second apply would double."""
    write = feed.write(check("api", at, Outcome.DOWN))
    return PipelineWrite(write.monitor, write.state, result=write.result,
                         timeline_notes=((at, "looking into it"),))


def test_a_batch_whose_commit_answer_is_lost_is_applied_exactly_once(
        proxied: tuple[Store, PgProxy]) -> None:
    store, proxy = proxied
    feed, _ = _opened_incident(store)
    writer = Writer(store)
    proxy.drop_after_commit()
    writer.submit(_note_write(feed, T0 + 10))
    writer.flush(timeout=30)
    writer.close()
    assert proxy.dropped_commits == 1  # the COMMIT reached the server, its answer never came back
    assert writer.retries >= 1 and writer.replayed == 1  # retried; found already stored
    assert _count(store, "SELECT COUNT(*) FROM timeline WHERE kind = ?", TimelineKind.NOTE.value) == 1
    assert _count(store, 'SELECT COUNT(*) FROM "check"') == 3
    assert _count(store, "SELECT COUNT(*) FROM incident") == 1
    assert _count(store, "SELECT COUNT(*) FROM write_batch") == 1  # one row per writer, not per batch
    # The writer goes on with the next batch on a new connection.
    writer = Writer(store)
    writer.submit(_note_write(feed, T0 + 11))
    writer.close(timeout=30)
    assert _count(store, "SELECT COUNT(*) FROM timeline WHERE kind = ?", TimelineKind.NOTE.value) == 2


def test_without_its_mark_the_same_lost_commit_would_be_applied_twice(
        proxied: tuple[Store, PgProxy]) -> None:
    """The hazard the mark removes is real: a blind retry of the same batch doubles its note."""
    store, proxy = proxied
    feed, _ = _opened_incident(store)
    write = _note_write(feed, T0 + 10)
    proxy.drop_after_commit()
    with pytest.raises(Exception) as lost:
        store.commit_batch([write])
    assert is_transient(lost.value) and is_unreachable(lost.value)
    store.commit_batch([write])  # the retry, with nothing to tell it the first one landed
    assert proxy.dropped_commits == 1
    assert _count(store, "SELECT COUNT(*) FROM timeline WHERE kind = ?", TimelineKind.NOTE.value) == 2


def test_a_mark_is_claimed_once_on_sqlite_too(tmp_path) -> None:
    store = Store.open(tmp_path / "shiptrack.db")
    try:
        feed, _ = _opened_incident(store)
        write = _note_write(feed, T0 + 10)
        assert store.commit_batch([write], mark=("w1", 1)) is True
        assert store.commit_batch([write], mark=("w1", 1)) is False
        assert store.commit_batch([write], mark=("w2", 1)) is True  # another writer, its own numbers
        assert _count(store, "SELECT COUNT(*) FROM timeline WHERE kind = ?", TimelineKind.NOTE.value) == 2
    finally:
        store.close()
