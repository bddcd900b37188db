# ruff: noqa: E501  (the table holds exact one-line messages; wrapping them would hide them)
"""`[[service]]` tables and `severity` (DESIGN §10): parsed, and each mistake one line with its place."""

from __future__ import annotations

from pathlib import Path

import pytest

from shiptrack_tui.cli import main
from shiptrack_tui.config import ConfigError, load_config
from shiptrack_tui.core.model import Severity
from shiptrack_tui.core.services import ServiceSpec

MONITORS = ('[[monitor]]\nname = "api"\nurl = "http://127.0.0.1:9/"\ntags = ["checkout"]\n'
            '[[monitor]]\nname = "db"\nurl = "tcp://127.0.0.1:9"\nseverity = "medium"\n')


def load(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "cfg.toml"
    path.write_text(text)
    return load_config(path)


def test_services_and_severities_are_read(tmp_path: Path) -> None:
    config = load(tmp_path, '[defaults]\nseverity = "low"\n' + MONITORS
                  + '[[service]]\nname = "Checkout"\ndescription = "Cart"\nmonitors = ["db"]\ntags = ["checkout"]\n'
                  + '[[service]]\nname = "Data"\nmonitors = ["db"]\n')
    assert config.services == (ServiceSpec("Checkout", "Cart", ("db",), ("checkout",)), ServiceSpec("Data", "", ("db",)))
    assert [spec.severity for spec in config.monitors] == [Severity.LOW, Severity.MEDIUM]
    tags = {spec.name: spec.tags for spec in config.monitors}
    assert config.services[0].members(tags) == ("db", "api")


def test_severity_defaults_to_high(tmp_path: Path) -> None:
    assert load(tmp_path, MONITORS).monitor("api").severity is Severity.HIGH  # type: ignore[union-attr]


BROKEN = [
    ('[[service]]\nname = "Checkout"\nmonitors = ["api", "nope"]\n',
     'cfg.toml:11: service "Checkout": monitors names "nope", which is not a configured monitor; expected one of the [[monitor]] names'),
    ('[[service]]\nname = "Checkout"\ntags = ["web"]\n',
     'cfg.toml:11: service "Checkout": tags names "web", which no monitor carries; add it to a monitor\'s tags or remove it'),
    ('[[service]]\nname = "A"\nmonitors = ["api"]\n[[service]]\nname = "A"\nmonitors = ["db"]\n',
     'cfg.toml:13: service "A" is defined twice (first at line 10); service names must be unique'),
    ('[[service]]\nname = "A"\nmonitors = ["api"]\nowner = "me"\n',
     'cfg.toml:12: unknown key "owner" in service "A"; expected one of name, description, monitors, tags'),
    ('[[service]]\nname = "A"\n',
     'cfg.toml:9: service "A" has no members; add monitors = ["..."] and/or tags = ["..."]'),
    ('[[service]]\nmonitors = ["api"]\n',
     'cfg.toml:9: [[service]] #1 has no name; add name = "..."'),
    ('[service]\nname = "A"\n',
     'cfg.toml:9: service must be written as [[service]] tables (double brackets), not a table'),
]


@pytest.mark.parametrize(("extra", "problem"), BROKEN)
def test_service_mistakes_are_one_line_with_file_and_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          extra: str, problem: str) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cfg.toml").write_text(MONITORS + extra)
    with pytest.raises(ConfigError) as caught:
        load_config("cfg.toml")
    assert caught.value.problems == [problem]


@pytest.mark.parametrize(("text", "problem"), [
    ('[defaults]\nseverity = "urgent"\n', 'cfg.toml:2: [defaults] severity "urgent" is not a severity; expected one of "critical", "high", "medium", "low"'),
    ('[[monitor]]\nname = "api"\nurl = "http://127.0.0.1:9/"\nseverity = 3\n', 'cfg.toml:4: monitor "api": severity 3 must be a string like "high", not an integer'),
])
def test_a_bad_severity_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, problem: str) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cfg.toml").write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config("cfg.toml")
    assert caught.value.problems == [problem]


def test_check_config_exits_2_on_a_service_mistake(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "shiptrack.toml"
    config.write_text(MONITORS + '[[service]]\nname = "A"\nmonitors = ["nope"]\n')
    assert main(["check-config", "--config", str(config)]) == 2
    _, err = capsys.readouterr()
    assert err.strip().count("\n") == 0 and f"{config}:11: " in err
