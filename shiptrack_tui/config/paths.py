"""Where the config file and the database live when nobody says."""

from __future__ import annotations

import getpass
import os
from pathlib import Path

import platformdirs

from shiptrack_tui.config.settings import Config
from shiptrack_tui.core.model import actor

APP_NAME = "shiptrack"


def default_config_path() -> Path:
    """`$SHIPTRACK_CONFIG`, else the platform config dir (`~/.config/shiptrack/config.toml` on Linux)."""
    override = os.environ.get("SHIPTRACK_CONFIG")
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "config.toml"


def default_db_path(config: Config | None = None) -> Path:
    """`[storage] path` when configured, else the platform data dir (`~/.local/share/shiptrack/`)."""
    if config is not None and config.storage.path is not None:
        return config.storage.path
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "shiptrack.db"


def operator(where: str) -> str:
    """Who is acting from here, for action rows and the timeline: "alice (cli)", "alice (dashboard)"."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name and no passwd entry (some containers)
        user = ""
    return actor(user, where)
