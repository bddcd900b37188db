"""The dashboard's light reads: monitor marks and summaries for a few named monitors."""

from __future__ import annotations

from pathlib import Path

from test_tui_seed import NOW, WITH_INCIDENT, Plan, fold, open_store, seed

from shiptrack_tui.core.incidents import acknowledge
from shiptrack_tui.core.model import ActionKind
from shiptrack_tui.storage.pipeline import PipelineWrite


def test_marks_change_only_for_the_monitor_that_was_checked(store_target: str | Path) -> None:
    db = store_target
    seed(db, WITH_INCIDENT, end=NOW - 60)
    with open_store(db) as store:
        timeline_before, before = store.monitor_marks()
        assert sorted(before) == ["api", "billing", "search", "tcp-db", "web"]
        # One more check for "web" (the next one in its history), written like the engine would.
        (write,) = fold(Plan("web", "u" * 41), end=NOW)[-1:]
        store.commit_batch([write])
        timeline_after, after = store.monitor_marks()
    assert [name for name in after if after[name] != before[name]] == ["web"]
    assert timeline_after == timeline_before  # no incident moved


def test_timeline_id_moves_when_an_incident_changes(store_target: str | Path) -> None:
    db = store_target
    seed(db, WITH_INCIDENT)
    with open_store(db) as store:
        timeline_before, _ = store.monitor_marks()
        (incident, *_) = store.incidents(open_only=True)
        store.add_action(ActionKind.ACK, at=NOW, incident_id=incident.id)  # a row, not yet applied
        assert store.monitor_marks()[0] == timeline_before
        states = store.load_states()
        state, events = acknowledge(states[incident.monitor], incident.monitor, NOW, "on it")
        store.commit_batch([PipelineWrite(incident.monitor, state, events=tuple(events))])
        timeline_after, marks = store.monitor_marks()
    assert timeline_after > timeline_before
    assert marks[incident.monitor][-1] == "acknowledged"


def test_summaries_for_named_monitors_match_the_full_read(store_target: str | Path) -> None:
    db = store_target
    seed(db, WITH_INCIDENT)
    with open_store(db) as store:
        full = {s.name: s for s in store.monitor_summaries(NOW, windows=("24h",))}
        some = store.monitor_summaries(NOW, windows=("24h",), names={"api", "tcp-db", "absent"})
        none = store.monitor_summaries(NOW, windows=("24h",), names=set())
        many = store.monitor_summaries(NOW, windows=(), names={f"x{i}" for i in range(600)} | {"web"})
    assert [s.name for s in some] == ["api", "tcp-db"]
    assert some == [full["api"], full["tcp-db"]]
    assert none == []
    assert [s.name for s in many] == ["web"] and many[0].windows == {}
