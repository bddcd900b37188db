"""One incident from the operator's phone to their shell: the real engine, real Apprise delivery to
the loopback receiver, and the CLI acting on the number the message gave."""

from __future__ import annotations

import json
import re
import socket
import sqlite3
import time
from pathlib import Path

import pytest
from receiver import Post, Receiver
from waiting import wait_for

from shiptrack_tui.cli import main
from shiptrack_tui.config import Config, NotifySettings, operator
from shiptrack_tui.core.formats import zone_abbreviation
from shiptrack_tui.core.model import ActionKind, MonitorSpec
from shiptrack_tui.demo import DemoTargetsThread
from shiptrack_tui.engine import Engine, EngineThread
from shiptrack_tui.storage import Store


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def _readable(post: Post, reason: str) -> None:
    """What every message of the incident shares: the reason once, local times, whole seconds."""
    text = post.title + "\n" + str(post.payload["message"])
    assert text.count(reason) == 1, text
    assert not re.search(r"\d\.\ds\b", text), text  # `1m 25s`, never `5.0s` beside it
    zone = zone_abbreviation(post.at)  # the display zone (UTC in tests), never ISO's bare `Z`
    assert f" {zone}\n" in text and "Z\n" not in text.replace(f" {zone}\n", ""), text
    assert f"Sent by: ShipTrack on {socket.gethostname()}" in text


def test_messages_name_the_incident_and_the_cli_acts_on_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "flow.db"
    targets = DemoTargetsThread()
    targets.start()
    store = Store.open(db)
    try:
        with Receiver() as rx:
            spec = MonitorSpec(name="api", url=f"{targets.base_url}/t/api", interval=0.25, timeout=0.2,
                               failure_threshold=1, recovery_threshold=1)
            config = Config(path=tmp_path / "none.toml", monitors=(spec,),
                            notify=NotifySettings(urls=(rx.url(),)))
            handle = EngineThread(Engine(config, store))
            targets.set_down("t/api")
            handle.start()
            try:
                opened = rx.wait_for(1)[0]
                with sqlite3.connect(db) as conn:
                    [(incident_id, reason)] = conn.execute("SELECT id, cause FROM incident").fetchall()
                assert opened.title == f"[OPEN] api — {reason}"
                assert f"shiptrack ack {incident_id}" in opened.payload["message"]
                _readable(opened, reason)

                code, out, _ = run(capsys, "ack", str(incident_id), "--note", "on it", "--db", str(db))
                assert code == 0, out
                acked = rx.wait_for(2)[1]
                assert acked.title == f"[ACK] api — {reason}"
                assert f"#{incident_id}" in acked.payload["message"]
                assert f" by {operator('cli')}\n" in acked.payload["message"]
                _readable(acked, reason)

                # Again: not an error; the operator's wish already holds.
                code, out, err = run(capsys, "ack", str(incident_id), "--db", str(db))
                assert code == 0 and err == ""
                already = f"incident #{incident_id} was already acknowledged by {operator('cli')}"
                assert out.startswith(already)

                # The engine agrees, for a dashboard that acts on what it showed a moment ago.
                again = store.add_action(ActionKind.ACK, time.time(), incident_id=incident_id,
                                         note="still on it", source="bob (dashboard)")
                handle.wake()
                wait_for(lambda: store.action_outcome(again) != (None, None))
                assert store.action_outcome(again)[1] is None

                targets.set_up("t/api")
                resolved = rx.wait_for(3)[2]
                assert resolved.title.startswith("[RESOLVED] api — down for ")
                assert f"#{incident_id}" in resolved.payload["message"]
                _readable(resolved, reason)
            finally:
                handle.stop()
        code, out, _ = run(capsys, "incidents", "--json", "--db", str(db))
        # By its number: on a busy machine a 200 ms check after the recovery may time out and open
        # the next incident, which is listed first.
        [incident] = [i for i in json.loads(out) if i["id"] == incident_id]
        (acknowledged,) = [e for e in incident["events"] if e["kind"] == "acknowledged"]
        assert acknowledged["by"] == operator("cli") and acknowledged["detail"] == "on it"
        notes = [e for e in incident["events"] if e["kind"] == "note"]
        assert [(e["by"], e["detail"]) for e in notes] == [("bob (dashboard)", "still on it")]
        code, out, _ = run(capsys, "incidents", "--db", str(db))
        assert f"acknowledged by {operator('cli')}: on it" in out
    finally:
        store.close()
        targets.stop()
