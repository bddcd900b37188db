"""The project's own docs: links stay inside the repository, and docs/json.md says what the CLI prints."""

from __future__ import annotations

import json
import re
from pathlib import Path

from test_tui_seed import NOW, WITH_ACK, open_store, seed

from shiptrack_tui.report import incidents_json, status_json

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def test_relative_links_point_at_files_in_the_repository() -> None:
    for doc in DOCS:
        for target in LINK.findall(doc.read_text()):
            if re.match(r"[a-z]+://", target):
                continue
            resolved = (doc.parent / target).resolve()
            assert resolved.is_relative_to(ROOT), f"{doc.name} links outside the repository: {target}"
            assert resolved.exists(), f"{doc.name} links to a missing file: {target}"


def _documented_fields(section: str) -> set[str]:
    """The `field` names in the first column of the table under `## ...section...`."""
    text = (ROOT / "docs" / "json.md").read_text()
    body = text.split(f"## `{section}`", 1)[1].split("\n## ", 1)[0]
    fields: set[str] = set()
    for row in re.findall(r"^\| (`[^|]+) \|", body, flags=re.MULTILINE):
        fields |= set(re.findall(r"`([a-z0-9_]+)`", row))
    return fields


def test_json_doc_names_every_field_the_cli_prints(tmp_path: Path) -> None:
    db = tmp_path / "st.db"
    seed(db, WITH_ACK)
    with open_store(db) as store:
        status = status_json(store.monitor_summaries(NOW))
        incidents = incidents_json(store.incidents())
    json.dumps([status, incidents])  # serialisable as printed
    assert _documented_fields("shiptrack status --json") == set(status[0])
    assert _documented_fields("shiptrack incidents --json") == set(incidents[0])
    assert set(status[0]["uptime"]) == {"1h", "24h", "7d", "30d"}
    assert set(incidents[0]["events"][0]) == {"at", "kind", "detail", "by"}
