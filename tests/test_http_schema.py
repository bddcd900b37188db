"""The API against its own OpenAPI schema: schemathesis generates requests for every operation
(valid and invalid ones) against a real engine and server over loopback, and checks that nothing
answers 500 and that every answer — status, content type, body — is one the schema declares."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from http_rig import AUTH, Rig
from hypothesis import HealthCheck, settings
from schemathesis.checks import negative_data_rejection

from shiptrack_tui.demo import DemoTargetsThread

EXAMPLES = 12  # per operation: bounded, so the whole run stays well under 30 s


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    targets = DemoTargetsThread()
    targets.start()
    started = Rig(tmp_path_factory.mktemp("schema"), targets)
    started.open_incident()  # so incident routes have something to find, ack and annotate
    yield started
    started.close()
    targets.stop()


@pytest.fixture
def api_schema(rig: Rig) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{rig.server.url}/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None,
          derandomize=True)
def test_every_answer_conforms_to_the_schema(case: schemathesis.Case) -> None:
    # Unknown query parameters are ignored, as HTTP APIs do (a client's extra `?utm=` must not
    # break it): the check that expects them refused is left out; every other check runs.
    case.call_and_validate(headers=AUTH, timeout=15, excluded_checks=[negative_data_rejection])


def test_the_schema_documents_every_route(rig: Rig, tmp_path: Path) -> None:
    paths = rig.get("/openapi.json").json()["paths"]
    monitors = paths["/api/v1/monitors"]["get"]["responses"]
    assert monitors["200"]["content"]["application/json"]["schema"]["items"] == {
        "$ref": "#/components/schemas/Monitor"}
    assert "Problem" in monitors["401"]["content"]["application/json"]["schema"]["$ref"]


def test_silence_lengths_are_what_the_schema_says(rig: Rig) -> None:
    def silence(length: str) -> dict[str, object]:
        return rig.post("/api/v1/silences", json={"target": "web", "for": length}, headers=AUTH).json()

    for bad in ("0s", "0.0m", "10000d", "1e3s", "٥m"):
        answer = silence(bad)
        assert answer["status"] == 422 and 'above 0s like "15m"' in str(answer["error"]), (bad, answer)
        assert "(?=" not in str(answer)  # the words, not the pattern
    assert silence("9999d")["state"] == "applied"  # the longest: its end is still a date
    rows = {row["name"]: row for row in rig.get("/api/v1/monitors", headers=AUTH).json()}
    assert str(rows["web"]["silenced_until"]).startswith("20")
    assert rig.client.delete("/api/v1/silences/web", headers=AUTH).json()["state"] == "applied"
