"""The status page's reads: daily counts from the day rollups, statuses, recent public incidents."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

from test_tui_seed import Plan, fold

from shiptrack_tui.core.days import DayCounts, DayGrade, day_of, grade, pooled
from shiptrack_tui.core.incidents import step
from shiptrack_tui.core.model import (
    CheckResult,
    IncidentState,
    MonitorSpec,
    MonitorState,
    MonitorStatus,
    Outcome,
    Policy,
    TimelineKind,
)
from shiptrack_tui.storage import PipelineWrite, Store

DAY = 86400.0
END = 20_775 * DAY + 13 * 3600 + 120  # 13:02 UTC on a day: its hour is not folded yet


def _checks(rng: random.Random, start: float, end: float) -> list[CheckResult]:
    """A check every 7 minutes with a mix of outcomes, some inside maintenance."""
    found, at = [], start
    while at < end:
        outcome = rng.choices([Outcome.UP, Outcome.DEGRADED, Outcome.DOWN], [80, 10, 10])[0]
        found.append(CheckResult("api", at, outcome, None if outcome is Outcome.DOWN else 20.0,
                                 in_maintenance=rng.random() < 0.05))
        at += 420
    return found


def _store(store: Store, checks: list[CheckResult]) -> None:
    state = MonitorState()
    for index in range(0, len(checks), 50):  # batches, as the writer makes them
        writes = []
        for result in checks[index:index + 50]:
            state, events = step(state, result, Policy(failure_threshold=1000))
            writes.append(PipelineWrite("api", state, result=result, events=tuple(events)))
        store.commit_batch(writes)


def _expected(checks: list[CheckResult]) -> dict[int, DayCounts]:
    tally: dict[int, Counter[str]] = {}
    for check in checks:
        kind = "maintenance" if check.in_maintenance else str(check.outcome)
        tally.setdefault(day_of(check.at), Counter())[kind] += 1
    return {day: DayCounts(c["up"], c["degraded"], c["down"], c["maintenance"]) for day, c in tally.items()}


def test_daily_counts_match_the_checks_day_by_day(store_target: str | Path) -> None:
    rng = random.Random(7)
    checks = _checks(rng, END - 3.5 * DAY, END)
    store = Store.open(store_target)
    try:
        store.sync_monitors([MonitorSpec("api", "http://127.0.0.1:9/")], END - 4 * DAY)
        _store(store, checks)
        # A late check lands in an hour two days back that was folded long ago.
        late = CheckResult("api", END - 2 * DAY + 17, Outcome.DOWN, None)
        store.commit_batch([PipelineWrite("api", MonitorState(status=MonitorStatus.UP), result=late)])
        checks.append(late)
        today = day_of(END)
        found = store.daily_counts(["api", "nobody"], today - 5, today + 1)
        assert set(found) == {"api"}
        assert found["api"] == _expected(checks)
        assert sorted(found["api"]) == [today - 3, today - 2, today - 1, today]
        # The equality above covers the newest hour, which is not folded into the day block yet.
        (rolled,) = store._conn().execute("SELECT rolled_hour FROM monitor WHERE name = 'api'").fetchone()
        assert rolled < max(check.at for check in checks) // 3600
        assert store.daily_counts(["api"], today, today + 1) == {"api": {today: _expected(checks)[today]}}
        assert store.daily_counts(["api"], today - 90, today - 10) == {"api": {}}
    finally:
        store.close()


def test_statuses_and_recent_incidents_read_only_what_is_asked(store_target: str | Path) -> None:
    db = store_target
    end = END
    plans = (Plan("api", "u" * 10 + "x" * 5, interval=3600),
             Plan("web", "u" * 5 + "xxxx" + "u" * 30, interval=600),
             Plan("old", "xxxx" + "u" * 200, interval=3600), Plan("db", "u" * 20, interval=60))
    store = Store.open(db)
    try:
        store.sync_monitors([MonitorSpec(p.name, f"http://127.0.0.1:9/{p.name}", interval=p.interval)
                             for p in plans], end - 30 * DAY)
        store.commit_batch([write for plan in plans for write in fold(plan, end)])
        # Rows as the engine writes them for an update and a note (http_helpers does it on SQLite files).
        (api,) = store._conn().execute("SELECT i.id FROM incident AS i JOIN monitor AS m ON "
                                       "m.id = i.monitor_id WHERE m.name = 'api' AND i.state != 'resolved'"
                                       ).fetchone()
        store._conn().execute("INSERT INTO timeline (incident_id, at, kind, detail, by, status) "
                              "VALUES (?, ?, 'update', ?, 'alice (cli)', ?)",
                              (api, end - 100, "Rolled back", "identified"))
        store._conn().execute("UPDATE incident SET status = ? WHERE id = ?", ("identified", api))
        store._conn().execute("INSERT INTO timeline (incident_id, at, kind, detail, by) "
                              "VALUES (?, ?, 'note', ?, ?)",
                              (api, end - 50, "internal only", "bob (dashboard)"))
    finally:
        store.close()
    store = Store.open(db)
    try:
        assert store.statuses(["api", "web", "db", "ghost"]) == {
            "api": MonitorStatus.DOWN, "web": MonitorStatus.UP, "db": MonitorStatus.UP}
        found = store.recent_incidents(["api", "web", "old"], end - 7 * DAY, 10, [TimelineKind.UPDATE])
        # api's open incident first; web's resolved one (hours ago); old's resolved 8 days ago is left out
        assert [(i.monitor, i.state) for i in found] == [("api", IncidentState.OPEN),
                                                          ("web", IncidentState.RESOLVED)]
        assert [(e.kind, e.status, e.detail) for e in found[0].events] == [
            (TimelineKind.UPDATE, "identified", "Rolled back")]
        assert found[1].events == ()
        first = store.recent_incidents(["api", "web", "old"], end - 7 * DAY, 1, ())
        assert [i.monitor for i in first] == ["api"]
        assert store.recent_incidents(["db"], end - 7 * DAY, 10, ()) == []
        assert store.recent_incidents([], end, 10, ()) == []
    finally:
        store.close()


def test_days_are_graded_by_their_counted_checks() -> None:
    assert grade(None) is DayGrade.NONE
    assert grade(DayCounts()) is DayGrade.NONE
    assert grade(DayCounts(maintenance=4)) is DayGrade.MAINTENANCE
    assert grade(DayCounts(up=1000, degraded=40, maintenance=3)) is DayGrade.OK
    assert grade(DayCounts(up=990, down=10)) is DayGrade.PARTIAL  # exactly 99 % good
    assert grade(DayCounts(up=989, down=11)) is DayGrade.OUTAGE
    assert DayCounts(up=3, degraded=1, down=1).uptime == 80.0
    assert pooled([None, DayCounts(1, 0, 0, 0), None, DayCounts(0, 2, 1, 5)]) == DayCounts(1, 2, 1, 5)
    assert pooled([None, None]) is None
    assert day_of(86400 * 3 - 0.001) == 2 and day_of(86400 * 3) == 3
