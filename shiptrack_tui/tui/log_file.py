"""The dashboard's log file (`<db>.log`): the screen belongs to the dashboard, so logs go here.

It rotates (5 MB × 3 older files by default) so a dashboard left open for months cannot fill the
disk, and every file it creates, rotated ones included, is private (0600): logs name targets and
errors that may carry hostnames or tokens.
"""

from __future__ import annotations

import logging
import os
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import IO, Final

from shiptrack_tui.failures import RuntimeFailure

MAX_BYTES: Final = 5 * 1024 * 1024
BACKUPS: Final = 3
FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"
NOISY: Final = ("aiohttp", "httpx", "httpcore", "peewee", "apprise")


class PrivateRotatingFileHandler(RotatingFileHandler):
    """A RotatingFileHandler whose files are created (and kept) with mode 0600.

    The standard handler opens files with the process umask (usually 0644); rotation renames the
    old file, so only the opening needs to change for every file to stay private.
    """

    def _open(self) -> IO[str]:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.fchmod(fd, 0o600)  # a file left by an older version may be wider
        return os.fdopen(fd, "a", encoding=self.encoding, errors=self.errors)


def log_path_for(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".log")


def log_to_file(db_path: Path, max_bytes: int = MAX_BYTES, backups: int = BACKUPS) -> Path:
    """Send every log record to `<db>.log` (rotated); returns the file's path."""
    path = log_path_for(db_path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = PrivateRotatingFileHandler(path, maxBytes=max_bytes, backupCount=backups,
                                             encoding="utf-8")
    except OSError as error:
        raise RuntimeFailure(f"shiptrack: cannot write the dashboard's log {path}: "
                              f"{error.strerror or error}; free that path or pass another --db") from None
    handler.setFormatter(logging.Formatter(FORMAT))
    root = logging.getLogger()
    for old in root.handlers:
        old.close()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return path
