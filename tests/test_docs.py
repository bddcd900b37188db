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
    assert set(incidents[0]["events"][0]) == {"at", "kind", "detail", "by", "status"}


def _doc_table_keys(doc: str, heading: str) -> set[str]:
    """The `key` names in the first column of the tables under the `## ` heading that holds `heading`."""
    text = (ROOT / "docs" / doc).read_text()
    sections = {part.split("\n", 1)[0]: part for part in text.split("\n## ")[1:]}
    (body,) = [part for title, part in sections.items() if heading in title]
    return set(re.findall(r"^\| `([a-z_]+)` \|", body, flags=re.MULTILINE))


def test_config_doc_has_every_key_the_loader_accepts() -> None:
    from shiptrack_tui.config import cluster, http, loader, monitors, services, status_page, windows

    expected = {
        "Top level": loader.TOP_KEYS,
        "`[defaults]`": loader.DEFAULTS_KEYS,
        "`[storage]`": loader.STORAGE_KEYS,
        "`[notify]`": loader.NOTIFY_KEYS,
        "`[[notify.channel]]`": loader.CHANNEL_KEYS,
        "`[display]`": loader.DISPLAY_KEYS,
        "`[[monitor]]`": monitors.MONITOR_KEYS,
        "`[[maintenance]]`": (*windows.GLOBAL_KEYS, *windows.MONITOR_KEYS),
        "`[[service]]`": services.SERVICE_KEYS,
        "`[http]`": http.HTTP_KEYS,
        "`[status_page]`": status_page.STATUS_PAGE_KEYS,
        "`[cluster]`": cluster.CLUSTER_KEYS,
    }
    for heading, keys in expected.items():
        assert set(keys) <= _doc_table_keys("config.md", heading), heading


def test_config_doc_and_the_example_name_the_same_keys() -> None:
    import tomllib

    example = tomllib.loads((ROOT / "config" / "example.toml").read_text())
    documented = _doc_table_keys("config.md", "Top level")
    for section in ("defaults", "storage", "notify", "display"):
        assert section in documented
        tables = {k for k, v in example[section].items() if not isinstance(v, list | dict)}
        assert tables <= _doc_table_keys("config.md", f"`[{section}]`"), section
    monitor_keys = {k for table in example["monitor"] for k in table}
    assert monitor_keys <= _doc_table_keys("config.md", "`[[monitor]]`")


def test_cli_doc_has_every_subcommand_and_option() -> None:
    import argparse

    from shiptrack_tui.cli import build_parser

    text = (ROOT / "docs" / "cli.md").read_text()
    headings = [line for line in text.splitlines() if line.startswith("## ")]

    def walk(parser: argparse.ArgumentParser, path: str) -> None:
        for action in parser._actions:
            for option in action.option_strings:
                if option not in ("-h", "--help"):
                    assert f"`{option}" in text, f"{path or 'shiptrack'} {option} is not in docs/cli.md"
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    command = f"{path} {name}".strip()
                    assert any(f"`{command}`" in h or f"`{command} " in h for h in headings), (
                        f"`shiptrack {command}` has no section in docs/cli.md")
                    walk(child, command)

    walk(build_parser(), "")


def test_http_doc_lists_every_route_and_metric(tmp_path: Path) -> None:
    from shiptrack_tui.config import Config
    from shiptrack_tui.core.vitals import Buckets, EngineVitals, StorageVitals
    from shiptrack_tui.storage import Store
    from shiptrack_tui.web import WebContext, create_app
    from shiptrack_tui.web.metrics import ShipTrackCollector

    text = (ROOT / "docs" / "http.md").read_text()
    store = Store.open(tmp_path / "st.db")
    try:
        app = create_app(WebContext(store=store, config=lambda: Config(path=tmp_path / "c.toml")))
        paths = app.openapi()["paths"]
        assert len(paths) >= 14
        for path, methods in paths.items():
            for method in methods:
                shown = f"`{method.upper()} {path}`"
                assert shown in text, f"{shown} is not in docs/http.md"
        histogram = Buckets((1.0,)).snapshot()
        vitals = EngineVitals(at=1.0, started_at=0.0, last_tick=1.0, config_loaded=True, monitors=0, checks=0,
                              lateness=histogram, storage=StorageVitals(batch_writes=histogram,
                                                                        commit_seconds=histogram))
        everything = ShipTrackCollector(WebContext(store=store, config=lambda: Config(path=tmp_path / "c"),
                                                   vitals=lambda _detail: vitals), everything=True)
        for family in everything.collect():
            shown = family.name + ("_total" if family.type == "counter" else "")
            shown = shown + "_info" if family.type == "info" else shown
            assert f"`{shown}`" in text, f"{shown} is not in docs/http.md"
    finally:
        store.close()
