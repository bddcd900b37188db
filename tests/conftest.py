"""Fixtures every test shares: the test machine's own config and data stay out of every test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shiptrack_tui.core.formats import set_display_zone


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
    return home


@pytest.fixture(autouse=True)
def local_display_zone() -> Iterator[None]:
    """`[display] timezone` is process-wide once a CLI command loads a config: reset it per test."""
    yield
    set_display_zone(None)
