"""Hold a database's engine lock as a daemon with a given pid would: an attached dashboard follows
whoever holds the lock, so a test that shows "attached to daemon (pid 4242)" must hold it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from shiptrack_tui.lock import EngineLock


@contextmanager
def held_by(db: Path, pid: int) -> Iterator[None]:
    with EngineLock(db) as lock:
        lock.path.write_text(f"{pid}\n")  # the name in the file; the flock stays on our descriptor
        yield
