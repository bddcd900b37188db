"""A config the engine already runs (the dashboard hands its saves over at once) is not read again
when the file watch then sees the same bytes on disk; a different edit still is."""

from __future__ import annotations

import hashlib
from pathlib import Path

from shiptrack_tui.config import load_config
from shiptrack_tui.engine.config_reload import ConfigReloads


def test_the_file_watch_skips_a_config_already_applied_and_reads_a_new_one(tmp_path: Path) -> None:
    path = tmp_path / "shiptrack.toml"
    path.write_text('[[monitor]]\nname = "api"\nurl = "http://127.0.0.1:9/"\n')
    running = [load_config(path)]
    loads: list[int] = []

    def loader():  # counts the reads the watch makes
        loads.append(1)
        return load_config(path)

    reloads = ConfigReloads(path, running[0].digest, loader, running=lambda: running[0].digest)
    path.write_text('[[monitor]]\nname = "api2"\nurl = "http://127.0.0.1:9/"\n')
    running[0] = load_config(path)  # the dashboard saved it and handed it to the engine
    assert hashlib.sha256(path.read_bytes()).hexdigest() == running[0].digest
    assert reloads.attempt(asked=False) is None and loads == []

    path.write_text('[[monitor]]\nname = "api-three"\nurl = "http://127.0.0.1:9/"\n')  # an editor's save
    fresh = reloads.attempt(asked=False)
    assert fresh is not None and [m.name for m in fresh.monitors] == ["api-three"] and loads == [1]
