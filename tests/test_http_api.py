"""The JSON API over real loopback HTTP against a real engine: the CLI's shapes, tokens, action rows
the engine applies, and JSON errors with the right status for everything a client can get wrong."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from http_rig import AUTH, TOKEN, Rig
from waiting import wait_for

from shiptrack_tui.cli import main
from shiptrack_tui.config import NotifySettings
from shiptrack_tui.demo import DemoTargetsThread

SECRET_URL = "json://127.0.0.1:9/hook?token=NOTIFYSECRET42"


@pytest.fixture
def rig(tmp_path: Path, targets: DemoTargetsThread) -> Iterator[Rig]:
    started = Rig(tmp_path, targets, notify=NotifySettings(urls=(SECRET_URL,)))
    yield started
    started.close()


def cli_json(capsys: pytest.CaptureFixture[str], *args: str) -> object:
    capsys.readouterr()
    assert main([*args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_reads_have_the_cli_json_shapes(rig: Rig, capsys: pytest.CaptureFixture[str]) -> None:
    incident_id = rig.open_incident()
    db = str(rig.db)
    status = {row["name"]: row for row in cli_json(capsys, "status", "--db", db)}  # type: ignore[union-attr]
    api = rig.monitors()
    assert set(api) == set(status) == {"api", "web"}
    for name in api:
        assert set(api[name]) == set(status[name])
        assert api[name]["target"] == status[name]["target"]
    one = rig.get("/api/v1/monitors/api", headers=AUTH).json()
    assert set(one) == set(status["api"]) | {"recent_checks"}
    assert one["recent_checks"] and {"at", "outcome", "latency_ms", "status_code", "error",
                                      "in_maintenance"} == set(one["recent_checks"][0])
    def three() -> list[dict[str, object]] | None:
        found = rig.get("/api/v1/monitors/api/checks", params={"limit": 3}, headers=AUTH).json()
        return found if len(found) == 3 else None

    checks = wait_for(three, what="three checks of api")
    assert checks[0]["at"] >= checks[-1]["at"]  # newest first
    latest = checks[0]["at"]
    since = rig.get("/api/v1/monitors/api/checks", params={"since": latest}, headers=AUTH).json()
    assert since and all(c["at"] >= latest for c in since)
    cli_incidents = cli_json(capsys, "incidents", "--db", db)
    api_incidents = rig.get("/api/v1/incidents", headers=AUTH).json()
    assert [i["id"] for i in api_incidents] == [i["id"] for i in cli_incidents]  # type: ignore[union-attr]
    assert set(api_incidents[0]) == set(cli_incidents[0])  # type: ignore[index]
    one_incident = rig.get(f"/api/v1/incidents/{incident_id}", headers=AUTH).json()
    assert one_incident["events"][0]["kind"] == "opened"
    assert rig.get("/api/v1/incidents", params={"state": "resolved"}, headers=AUTH).json() == []
    assert rig.get("/api/v1/incidents", params={"monitor": "web"}, headers=AUTH).json() == []
    assert rig.get("/api/v1/services", headers=AUTH).json() == []


def test_writes_need_the_token_and_land_in_the_timeline(rig: Rig) -> None:
    incident_id = rig.open_incident()
    path = f"/api/v1/incidents/{incident_id}/ack"
    missing = rig.post(path, json={"note": "on it"})
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    assert "Authorization: Bearer" in missing.json()["error"]
    wrong = rig.post(path, json={"note": "on it"}, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and TOKEN not in wrong.text
    acked = rig.post(path, json={"note": "on it"}, headers=AUTH)
    assert acked.status_code == 200, acked.text
    assert acked.json()["state"] == "applied" and acked.json()["action"] > 0
    events = rig.get(f"/api/v1/incidents/{incident_id}", headers=AUTH).json()["events"]
    ack = [e for e in events if e["kind"] == "acknowledged"]
    assert ack == [{"at": ack[0]["at"], "kind": "acknowledged", "detail": "on it", "by": "api",
                    "status": None}]
    noted = rig.post(f"/api/v1/incidents/{incident_id}/note", json={"text": "rolling back"}, headers=AUTH)
    assert noted.status_code == 200
    events = rig.get(f"/api/v1/incidents/{incident_id}", headers=AUTH).json()["events"]
    notes = [{k: e[k] for k in ("kind", "detail", "by")} for e in events if e["kind"] == "note"]
    assert notes == [{"kind": "note", "detail": "rolling back", "by": "api"}]


def test_monitor_actions_and_silences_are_applied(rig: Rig) -> None:
    assert rig.post("/api/v1/monitors/web/pause", headers=AUTH).status_code == 200
    assert rig.monitors()["web"]["state"] == "paused"
    again = rig.post("/api/v1/monitors/web/resume", headers=AUTH)
    assert again.status_code == 200
    wait_for(lambda: rig.monitors()["web"]["state"] != "paused", what="web resumed")
    assert rig.post("/api/v1/monitors/api/check", headers=AUTH).status_code == 200
    silenced = rig.post("/api/v1/silences", json={"target": "tag:prod", "for": "1h"}, headers=AUTH)
    assert silenced.status_code == 200, silenced.text
    assert rig.monitors()["api"]["silenced_until"] is not None
    assert rig.client.delete("/api/v1/silences/tag:prod", headers=AUTH).status_code == 200
    assert rig.monitors()["api"]["silenced_until"] is None
    nothing = rig.post("/api/v1/silences", json={"target": "tag:nope", "until_resolved": True}, headers=AUTH)
    assert nothing.status_code == 404 and "covers no monitor" in nothing.json()["error"]


def test_a_status_update_is_an_action_row_with_its_status(rig: Rig) -> None:
    incident_id = rig.open_incident()
    queued = rig.post(f"/api/v1/incidents/{incident_id}/update", params={"wait": 0}, headers=AUTH,
                      json={"status": "identified", "message": "bad deploy"})
    assert queued.status_code == 202 and queued.json()["state"] == "queued"
    with sqlite3.connect(rig.db) as conn:
        row = conn.execute("SELECT kind, value, note, source, incident_id FROM action WHERE id = ?",
                           (queued.json()["action"],)).fetchone()
    assert row == ("update", "identified", "bad deploy", "api", incident_id)
    bad = rig.post(f"/api/v1/incidents/{incident_id}/update", json={"status": "fixed", "message": "x"},
                   headers=AUTH)
    assert bad.status_code == 422 and bad.json()["details"][0]["where"] == "body.status"
    # The engine applies it like one from the CLI: status moves, the timeline says who.
    one = f"/api/v1/incidents/{incident_id}"
    wait_for(lambda: rig.get(one, headers=AUTH).json()["status"] == "identified", what="the update applied")
    updates = rig.get(f"/api/v1/incidents/{incident_id}", headers=AUTH).json()["updates"]
    assert [(u["status"], u["message"], u["by"]) for u in updates] == [("identified", "bad deploy", "api")]
    back = rig.post(f"/api/v1/incidents/{incident_id}/update", headers=AUTH,
                    json={"status": "investigating", "message": "hm"})
    assert back.status_code == 409 and "cannot go back to investigating" in back.json()["error"]


def test_a_refused_action_is_409_with_the_engines_reason(rig: Rig) -> None:
    incident_id = rig.open_incident()
    rig.targets.set_up("t/api")
    wait_for(lambda: rig.monitors()["api"]["open_incident"] is None, what="the incident resolved")
    refused = rig.post(f"/api/v1/incidents/{incident_id}/ack", headers=AUTH)
    assert refused.status_code == 409 and refused.json()["error"] == "api has no open incident"


def test_bad_requests_get_json_errors_with_the_right_status(rig: Rig) -> None:
    def error(response: httpx.Response, status: int) -> str:
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/json"
        body = response.json()
        assert body["status"] == status and "Traceback" not in response.text
        return str(body["error"])

    assert "no such route" in error(rig.get("/api/v1/nope", headers=AUTH), 404)
    assert "no monitor named 'ghost'" in error(rig.get("/api/v1/monitors/ghost", headers=AUTH), 404)
    assert "no incident #999" in error(rig.get("/api/v1/incidents/999", headers=AUTH), 404)
    assert "no incident #999" in error(rig.post("/api/v1/incidents/999/ack", headers=AUTH), 404)
    assert "no service named" in error(rig.get("/api/v1/incidents?service=x", headers=AUTH), 404)
    assert "not allowed" in error(rig.client.put("/api/v1/monitors", headers=AUTH), 405)
    assert "query.limit" in error(rig.get("/api/v1/monitors/api/checks?limit=0", headers=AUTH), 422)
    assert "path.incident_id" in error(rig.get("/api/v1/incidents/abc", headers=AUTH), 422)
    assert "body.text" in error(rig.post("/api/v1/incidents/1/note", json={}, headers=AUTH), 422)
    assert "body.extra" in error(rig.post("/api/v1/incidents/1/note", json={"text": "a", "extra": 1},
                                          headers=AUTH), 422)
    broken = rig.post("/api/v1/incidents/1/note", content=b"{not json", headers={
        **AUTH, "content-type": "application/json"})
    error(broken, 422)
    big = b'{"text": "' + b"x" * (65 * 1024) + b'"}'
    assert "64 KiB" in error(rig.post("/api/v1/incidents/1/note", content=big, headers=AUTH), 413)

    def chunks() -> Iterator[bytes]:  # no Content-Length: cut off once past the cap
        yield b'{"text": "'
        for _ in range(80):
            yield b"x" * 1024
        yield b'"}'

    chunked = rig.post("/api/v1/incidents/1/note", content=chunks(), headers=AUTH)
    assert "64 KiB" in error(chunked, 413)
    assert "how long" in error(rig.post("/api/v1/silences", json={"target": "api"}, headers=AUTH), 422)


def test_no_secret_in_any_response_and_no_cors(rig: Rig) -> None:
    rig.open_incident()
    paths = ["/api/v1/monitors", "/api/v1/monitors/api", "/api/v1/monitors/api/checks", "/api/v1/incidents",
             "/api/v1/services", "/metrics", "/health/live", "/health/ready", "/openapi.json", "/docs"]
    for path in paths:
        response = rig.get(path, headers={**AUTH, "Origin": "https://evil.example"})
        assert response.status_code == 200, path
        assert "NOTIFYSECRET42" not in response.text and TOKEN not in response.text, path
        assert "access-control-allow-origin" not in response.headers, path
    preflight = rig.client.options("/api/v1/monitors", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in preflight.headers


def test_reads_need_the_token_unless_public(tmp_path: Path, targets: DemoTargetsThread) -> None:
    private = Rig(tmp_path / "a", targets, start_engine=False)
    public = Rig(tmp_path / "b", targets, public_api=True, token=None, start_engine=False)
    try:
        for path in ("/api/v1/monitors", "/metrics"):
            assert private.get(path).status_code == 401
            assert private.get(path, headers=AUTH).status_code == 200
            assert public.get(path).status_code == 200
        assert private.get("/health/live").status_code == 200  # open by design
        no_token = public.post("/api/v1/monitors/api/pause")
        assert no_token.status_code == 403 and "none is configured" in no_token.json()["error"]
    finally:
        private.close()
        public.close()
