"""One engine per database: an exclusive lock file next to it that names the holder's pid."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from pathlib import Path
from typing import Final

PROBE_RETRIES: Final = 5
PROBE_WAIT: Final = 0.02


class LockHeld(RuntimeError):
    """Another engine runs on this database; `pid` names it when it could be read."""

    def __init__(self, path: Path, pid: int | None) -> None:
        self.path = path
        self.pid = pid
        who = f"pid {pid}" if pid else "another process"
        super().__init__(f"another ShipTrack engine ({who}) already runs on this database; lock file {path}")


class LockUnusable(RuntimeError):
    """The lock file cannot be created or opened (its folder is missing, unwritable, or not a folder)."""

    def __init__(self, path: Path, error: OSError) -> None:
        self.path = path
        if path.exists() and not path.is_file():
            fix = f"remove or rename {path}: ShipTrack keeps its lock file there"
        else:
            fix = "check the --db path: its folder must be a writable directory"
        super().__init__(f"cannot create the lock file {path} ({error.strerror or error}); {fix}")


def lock_path_for(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".lock")


class EngineLock:
    """An advisory flock that the kernel releases when the holder dies, even by kill -9."""

    def __init__(self, db_path: Path) -> None:
        self.path = lock_path_for(db_path)
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as error:
            raise LockUnusable(self.path, error) from error
        for attempt in range(PROBE_RETRIES + 1):
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                # Readers (`status`, an attached dashboard) probe with a shared lock for a few
                # microseconds: an engine still holds it a moment later, a probe does not.
                if attempt == PROBE_RETRIES:
                    os.close(fd)
                    raise LockHeld(self.path, holder_pid(self.path)) from None
                time.sleep(PROBE_WAIT)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        os.fsync(fd)
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, 0)
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> EngineLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def holder_pid(lock_path: Path) -> int | None:
    """The pid written in a lock file, if any."""
    try:
        text = lock_path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def running_engine_pid(db_path: Path) -> int | None:
    """The pid of the engine holding this database's lock, or None when nobody holds it."""
    path = lock_path_for(db_path)
    if not path.exists():
        return None
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return holder_pid(path) or 0
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
