"""Status updates and severity changes (DESIGN §10) through the real engine, a real database and
real Apprise delivery to the loopback receiver; the CLI posts them as an operator would."""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from receiver import Post, Receiver
from waiting import wait_for

from shiptrack_tui.cli import main
from shiptrack_tui.config import Channel, Config, NotifySettings, operator
from shiptrack_tui.core.model import ActionKind, MonitorSpec, Severity
from shiptrack_tui.core.services import ServiceSpec
from shiptrack_tui.demo import DemoTargetsThread
from shiptrack_tui.engine import Engine, EngineThread
from shiptrack_tui.lock import EngineLock
from shiptrack_tui.storage import Store


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@dataclass
class Live:
    db: Path
    store: Store
    engine: Engine
    handle: EngineThread
    targets: DemoTargetsThread
    rx: Receiver
    quiet: Receiver  # a channel that takes every event but "update"

    def incident_id(self, monitor: str = "api") -> int:
        def found() -> int | None:
            return next((i.id for i in self.store.incidents(open_only=True) if i.monitor == monitor), None)

        return wait_for(found, what=f"{monitor}'s open incident")

    def told(self, incident: int, count: int, receiver: Receiver | None = None) -> list[Post]:
        """The first `count` messages about one incident (each names its incident; a loaded machine
        may flap the other monitor on a slow answer, and its messages are not these)."""
        mark = re.compile(rf"^Incident: #{incident}\b", re.MULTILINE)

        def mine() -> list[Post]:
            posts = list((receiver or self.rx).posts)
            return [p for p in posts if mark.search(str(p.payload.get("message", "")))]

        wait_for(lambda: len(mine()) >= count, what=f"{count} messages about incident {incident}")
        return mine()[:count]

    def act(self, kind: ActionKind, incident_id: int, value: str, note: str | None = None) -> tuple[
            float | None, str | None]:
        """Write an action as another client would (a dashboard), and wait for its outcome."""
        action = self.store.add_action(kind, time.time(), incident_id=incident_id, note=note,
                                       source="bob (dashboard)", value=value)
        self.handle.wake()
        wait_for(lambda: self.store.action_outcome(action) != (None, None), what="the action's outcome")
        return self.store.action_outcome(action)


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    """`api` (high) and `web` in the service Checkout, `api` down; notifications to two receivers."""
    db = tmp_path / "updates.db"
    targets = DemoTargetsThread()
    targets.start()
    store = Store.open(db)
    # The lock tells the CLI an engine runs, so it waits for each action's outcome as it would beside
    # a daemon.
    with EngineLock(db), Receiver() as rx, Receiver() as quiet:
        api = MonitorSpec(name="api", url=f"{targets.base_url}/t/api", interval=0.25, timeout=0.2,
                          failure_threshold=1, recovery_threshold=1, severity=Severity.HIGH)
        web = MonitorSpec(name="web", url=f"{targets.base_url}/t/web", interval=0.5, timeout=0.45,
                          failure_threshold=2)
        channel = Channel((quiet.url(),), events=frozenset({"open", "ack", "resolve"}))
        config = Config(path=tmp_path / "none.toml", monitors=(api, web),
                        notify=NotifySettings(urls=(rx.url(),), channels=(channel,)),
                        services=(ServiceSpec("Checkout", monitors=("api", "web")),
                                  ServiceSpec("Storefront", monitors=("api",))))
        engine = Engine(config, store)
        handle = EngineThread(engine)
        targets.set_down("t/api")
        handle.start()
        try:
            yield Live(db, store, engine, handle, targets, rx, quiet)
        finally:
            handle.stop()
            store.close()
            targets.stop()


def test_updates_move_forward_notify_and_land_in_incidents_json(
    live: Live, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(live.db)
    incident = live.incident_id()
    [opened] = live.told(incident, 1)
    assert opened.title.startswith("[OPEN] api — ")
    assert "Severity: high\nServices: Checkout, Storefront\n" in opened.payload["message"]

    code, out, err = run(capsys, "update", str(incident), "identified", "bad deploy, rolling back",
                         "--db", db)
    assert (code, err) == (0, ""), err
    assert out == f"posted identified on incident #{incident}\n"
    update = live.told(incident, 2)[1]
    assert update.title == "[IDENTIFIED] Checkout, Storefront (high) — bad deploy, rolling back"
    assert update.type == "info"
    body = str(update.payload["message"])
    assert f"Incident #{incident} is now identified." in body and "Monitor: api\n" in body
    assert f" by {operator('cli')}\n" in body and f"Incident: #{incident}" in body

    # Backwards, unknown, by hand "resolved": one line each, exit 2, nothing written.
    for argv, said in [
        (("investigating", "false alarm?"),
         f"incident {incident} is identified and cannot go back to investigating"),
        (("fixed", "done"), "'fixed' is not a status: post one of investigating, identified, monitoring"),
        (("resolved", "done"), "resolved is written by recovery; post monitoring while you watch"),
    ]:
        code, out, err = run(capsys, "update", str(incident), *argv, "--db", db)
        assert (code, out, err) == (2, "", f"shiptrack: {said}\n")
    code, _, err = run(capsys, "update", "999", "identified", "x", "--db", db)
    assert code == 2 and err.count("\n") == 1 and "no incident #999" in err

    code, out, err = run(capsys, "severity", str(incident), "critical", "--note", "checkout fails",
                         "--db", db)
    assert (code, err) == (0, "") and out == f"incident #{incident} is now critical (was high)\n"
    code, out, _ = run(capsys, "severity", str(incident), "critical", "--db", db)
    assert code == 0 and out == f"incident #{incident} is already critical; nothing to do\n"
    code, _, err = run(capsys, "severity", str(incident), "apocalyptic", "--db", db)
    assert (code, err) == (2, "shiptrack: 'apocalyptic' is not a severity: "
                              "use one of critical, high, medium, low\n")

    code, _, err = run(capsys, "update", str(incident), "monitoring", "fix deployed, watching", "--db", db)
    assert code == 0, err
    monitoring = live.told(incident, 3)[2]
    assert monitoring.title == "[MONITORING] Checkout, Storefront (critical) — fix deployed, watching"

    live.targets.set_up("t/api")
    resolved = live.told(incident, 4)[3]
    assert resolved.title.startswith("[RESOLVED] api — down for ")
    code, _, err = run(capsys, "update", str(incident), "monitoring", "still watching", "--db", db)
    assert (code, err) == (2, f"shiptrack: incident {incident} is resolved and takes no further update\n")
    code, _, err = run(capsys, "severity", str(incident), "low", "--db", db)
    assert code == 2 and "resolved" in err
    # The channel without "update" in its events heard the transitions only.
    quiet = live.told(incident, 2, live.quiet)
    assert [p.title.split(" ")[0] for p in quiet] == ["[OPEN]", "[RESOLVED]"]
    assert len(live.told(incident, 4)) == 4 and len(live.rx.posts) >= 4

    code, out, _ = run(capsys, "incidents", "--json", "--db", db)
    [shown] = [i for i in json.loads(out) if i["id"] == incident]
    assert (shown["status"], shown["severity"], shown["state"]) == ("resolved", "critical", "resolved")
    by = operator("cli")
    assert [(u["status"], u["message"], u["by"]) for u in shown["updates"]] == [
        ("identified", "bad deploy, rolling back", by), ("monitoring", "fix deployed, watching", by)]
    kinds = [(e["kind"], e["status"], e["detail"]) for e in shown["events"]
             if e["kind"] in ("update", "severity", "resolved")]
    assert kinds[:3] == [("update", "identified", "bad deploy, rolling back"),
                         ("severity", None, "high → critical — checkout fails"),
                         ("update", "monitoring", "fix deployed, watching")]
    assert kinds[3][0] == "resolved"
    code, out, _ = run(capsys, "incidents", "--db", db)
    assert "— critical, resolved\n" in out
    assert f"identified by {by}: bad deploy, rolling back" in out
    assert f"severity changed by {by}: high → critical — checkout fails" in out


def test_the_engine_judges_each_update_against_the_last_one_even_before_it_is_stored(live: Live) -> None:
    """Two updates queued back to back by another client: the second goes backwards from the
    first, which the writer may not have committed yet."""
    incident = live.incident_id()
    live.told(incident, 1)
    first = live.store.add_action(ActionKind.UPDATE, time.time(), incident_id=incident, note="watching",
                                  source="bob (dashboard)", value="monitoring")
    second = live.store.add_action(ActionKind.UPDATE, time.time(), incident_id=incident, note="found it",
                                   source="bob (dashboard)", value="identified")
    live.handle.wake()
    wait_for(lambda: (None, None) not in map(live.store.action_outcome, (first, second)),
             what="both outcomes")
    assert live.store.action_outcome(first)[1] is None
    assert live.store.action_outcome(second) == (
        None, f"incident {incident} is monitoring and cannot go back to identified")
    stored = live.store.incident(incident)
    assert stored is not None and str(stored.status) == "monitoring"
    # Words the engine does not know, from a client that did not check them, are refused too.
    assert live.act(ActionKind.UPDATE, incident, "bogus")[1] == (
        "'bogus' is not a status: post one of investigating, identified, monitoring")
    assert live.act(ActionKind.UPDATE, incident, "resolved")[1] == (
        "resolved is written by recovery; post monitoring while you watch")
    assert live.act(ActionKind.SEVERITY, incident, "huge")[1] == (
        "'huge' is not a severity: use one of critical, high, medium, low")
    # The same status again is a new message, not a move.
    assert live.act(ActionKind.UPDATE, incident, "monitoring", "error rate back to normal")[1] is None
    assert [p.title for p in live.told(incident, 3)[1:]] == [
        "[MONITORING] Checkout, Storefront (high) — watching",
        "[MONITORING] Checkout, Storefront (high) — error rate back to normal"]
    entries = [(e.status, e.detail, e.by) for e in live.store.incident(incident).events  # type: ignore[union-attr]
               if e.kind == "update"]
    assert entries == [("monitoring", "watching", "bob (dashboard)"),
                       ("monitoring", "error rate back to normal", "bob (dashboard)")]


def test_a_severity_change_moves_the_service_status(live: Live, capsys: pytest.CaptureFixture[str]) -> None:
    """high → outage; lowered to medium → degraded: derived from the stored severity."""
    from shiptrack_tui.cli_services import config_memberships, services_json

    incident = live.incident_id()
    live.told(incident, 1)

    def checkout() -> str:
        services, members = config_memberships(live.engine.config)
        rows = services_json(services, members, live.store.monitor_summaries(time.time(), windows=()),
                             live.store.incidents(open_only=True))
        return str(rows[0]["status"])

    assert checkout() == "outage"
    applied, error = live.act(ActionKind.SEVERITY, incident, "medium", "one region only")
    assert error is None and applied is not None
    assert checkout() == "degraded"
    stored = live.store.incident(incident)
    assert stored is not None and stored.severity is Severity.MEDIUM
    [entry] = [e for e in stored.events if e.kind == "severity"]
    assert (entry.detail, entry.by) == ("high → medium — one region only", "bob (dashboard)")
    # A severity change is not announced (only updates are): an update posted after it is the next.
    assert live.act(ActionKind.UPDATE, incident, "identified", "one region")[1] is None
    assert live.told(incident, 2)[1].title == "[IDENTIFIED] Checkout, Storefront (medium) — one region"


def test_an_incident_that_opened_silenced_stays_quiet_through_its_updates(
    live: Live, capsys: pytest.CaptureFixture[str]
) -> None:
    live.incident_id()  # the engine runs and knows its monitors
    code, _, err = run(capsys, "silence", "web", "--for", "1h", "--db", str(live.db))
    assert code == 0, err
    live.targets.set_down("t/web")
    web = live.incident_id("web")
    assert live.act(ActionKind.UPDATE, web, "identified", "cache node lost")[1] is None
    # The outbox rows would have been written with the action's outcome, in the same transaction.
    with sqlite3.connect(live.db) as conn:
        told = conn.execute("SELECT transition FROM outbox WHERE monitor = 'web'").fetchall()
    assert told == []
    stored = live.store.incident(web)
    assert stored is not None and str(stored.status) == "identified"
