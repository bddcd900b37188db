"""An Apprise config file that cannot be read when a transition happens: the transition is kept and
delivered to each of the file's entries, in order, once the file reads again. Real engine, real
SQLite file, real Apprise delivery to loopback receivers."""

from __future__ import annotations

import re
import shutil
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from receiver import Post, Receiver
from waiting import wait_for

from shiptrack_tui.config import Config, NotifySettings
from shiptrack_tui.core.model import MonitorSpec
from shiptrack_tui.demo import DemoTargetsThread
from shiptrack_tui.engine import Engine, EngineThread
from shiptrack_tui.storage import Store


class Rig:
    def __init__(self, tmp_path: Path, targets: DemoTargetsThread, rx: Receiver) -> None:
        self.db = tmp_path / "st.db"
        self.targets = targets
        self.rx = rx
        self.file = tmp_path / "apprise.yml"
        self.file.write_text(f"urls:\n  - {rx.url('one')}\n  - {rx.url('two')}\n")
        self.aside = tmp_path / "apprise.yml.aside"
        self.before = 0  # incidents up to this id were not the test's (see set_down)
        spec = MonitorSpec(name="api", url=f"{targets.base_url}/t/api", interval=0.25, timeout=0.2,
                           failure_threshold=1, recovery_threshold=1)
        notify = NotifySettings(urls=(rx.url("plain"),), apprise_config=self.file)
        self.store = Store.open(self.db)
        self.handle = EngineThread(Engine(Config(path=tmp_path / "none.toml", monitors=(spec,),
                                                 notify=notify), self.store))

    # Only the first incident opened after `set_down` is the test's: on a busy machine a 200 ms
    # check may time out and open (and resolve) one before it (a CI run did, while the fixture
    # waited) or open the next one after the recovery, whose messages then follow these.
    def set_down(self) -> None:
        def settled() -> tuple[int] | None:  # none open (an early one resolves at the next check)
            with sqlite3.connect(self.db) as conn:
                open_now, newest = conn.execute("SELECT count(*) FILTER (WHERE state != 'resolved'), "
                                                "coalesce(max(id), 0) FROM incident").fetchone()
            return None if open_now else (newest,)

        (self.before,) = wait_for(settled)
        self.targets.set_down("t/api")

    def _first(self) -> tuple[int, str] | None:
        with sqlite3.connect(self.db) as conn:
            return conn.execute("SELECT id, state FROM incident WHERE id > ? ORDER BY id LIMIT 1",
                                (self.before,)).fetchone()

    def incident(self) -> str | None:
        first = self._first()
        return first[1] if first else None

    def posts(self, path: str | None = None) -> list[Post]:
        first = self._first()
        if first is None:
            return []
        mine = re.compile(rf"^Incident: #{first[0]}\b", re.M)
        return [p for p in self.rx.posts if mine.search(str(p.payload.get("message")))
                and (path is None or p.path.split("?")[0] == f"/{path}")]

    def titles(self, path: str) -> list[str]:
        return [post.title.split(" — ")[0] for post in self.posts(path)]


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    targets = DemoTargetsThread()
    targets.start()
    with Receiver() as rx:
        rig = Rig(tmp_path, targets, rx)
        rig.handle.start()
        wait_for(lambda: rig.store.load_states().get("api") is not None
                 and rig.store.load_states()["api"].last_check_at is not None)
        try:
            yield rig
        finally:
            rig.handle.stop()
            rig.store.close()
            targets.stop()


def test_open_and_resolve_while_the_file_is_renamed_away_reach_each_entry_once_it_is_back(rig: Rig) -> None:
    rig.file.rename(rig.aside)
    rig.set_down()
    wait_for(lambda: rig.incident() == "open")
    rig.targets.set_up("t/api")
    wait_for(lambda: rig.incident() == "resolved")
    wait_for(lambda: rig.titles("plain") == ["[OPEN] api", "[RESOLVED] api"])  # plain URLs do not wait
    assert rig.titles("one") == rig.titles("two") == []
    rig.aside.rename(rig.file)
    # The OPEN's retry comes after its backoff (5 s, or 10 s more if it fell before the file was
    # back): allow for a loaded machine. At least 6, then exactly 6: a double delivery shows as such.
    wait_for(lambda: len(rig.posts()) >= 6, timeout=45)
    time.sleep(0.5)  # nothing more may follow
    assert rig.titles("one") == rig.titles("two") == ["[OPEN] api", "[RESOLVED] api"]
    assert len(rig.posts()) == 6


def test_a_directory_in_place_of_the_file_delays_the_open_and_the_later_resolve_waits(rig: Rig) -> None:
    rig.file.rename(rig.aside)
    rig.file.mkdir()  # exists, but is no file Apprise can read
    rig.set_down()
    wait_for(lambda: rig.titles("plain") == ["[OPEN] api"])
    rig.file.rmdir()
    shutil.move(rig.aside, rig.file)
    rig.targets.set_up("t/api")  # RESOLVED is routed to the entries at once; the OPEN must go first
    wait_for(lambda: len(rig.posts()) >= 6, timeout=45)
    time.sleep(0.5)
    assert rig.titles("one") == rig.titles("two") == ["[OPEN] api", "[RESOLVED] api"]
    assert rig.titles("plain") == ["[OPEN] api", "[RESOLVED] api"]
