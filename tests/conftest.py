"""Fixtures every test shares: the test machine's own config and data stay out of every test."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC
from pathlib import Path

import pytest
from postgres_server import PostgresServer

from shiptrack_tui.core.formats import set_display_zone
from shiptrack_tui.demo import DemoTargetsThread


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point HOME and the XDG directories at a fresh folder and drop SHIPTRACK_* variables."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    for var, sub in (("XDG_CONFIG_HOME", ".config"), ("XDG_DATA_HOME", ".local/share"),
                     ("XDG_STATE_HOME", ".local/state"), ("XDG_CACHE_HOME", ".cache")):
        monkeypatch.setenv(var, str(home / sub))
    monkeypatch.delenv("SHIPTRACK_CONFIG", raising=False)
    monkeypatch.delenv("SHIPTRACK_DB", raising=False)
    monkeypatch.delenv("SHIPTRACK_HTTP_TOKEN", raising=False)
    return home


@pytest.fixture(autouse=True)
def utc_display_zone() -> Iterator[None]:
    """Times show in UTC in every test (snapshots must not follow the machine's TZ) unless a test
    sets a zone; `[display] timezone` is process-wide, so it is reset after each test."""
    set_display_zone(UTC)
    yield
    set_display_zone(UTC)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One real PostgreSQL server per test worker (tests/postgres_server.py), started on first use."""
    server = PostgresServer()
    server.start()
    try:
        yield server
    finally:
        server.destroy()


@pytest.fixture
def pg_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh empty database on the worker's PostgreSQL server, dropped after the test."""
    if not postgres_server.running:  # a test that stopped the shared server left it down
        postgres_server.start()
    url = postgres_server.create_database()
    try:
        yield url
    finally:
        if postgres_server.running:
            postgres_server.drop_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_target(request: pytest.FixtureRequest, tmp_path: Path) -> str | Path:
    """Where a storage test keeps its database: a fresh SQLite file path, or a fresh PostgreSQL
    database's URL. Tests taking it run once per backend."""
    if request.param == "sqlite":
        return tmp_path / "shiptrack.db"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def targets() -> Iterator[DemoTargetsThread]:
    """The demo's loopback targets (`/t/<name>` answers as told), on a free port for this test."""
    server = DemoTargetsThread()
    server.start()
    yield server
    server.stop()
