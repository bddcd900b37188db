# ruff: noqa: E501  (the table holds exact one-line messages; wrapping them would hide them)
"""`[status_page]` (issue #13): parsed, what it makes public, and each mistake one line with its place."""

from __future__ import annotations

from pathlib import Path

import pytest

from shiptrack_tui.cli import main
from shiptrack_tui.config import ConfigError, load_config
from shiptrack_tui.config.status_page import StatusPageSettings

MONITORS = ('[[monitor]]\nname = "api"\nurl = "http://127.0.0.1:9/"\ntags = ["site"]\n'
            '[[monitor]]\nname = "db"\nurl = "tcp://127.0.0.1:9"\n'
            '[[monitor]]\nname = "cdn"\nurl = "http://127.0.0.1:9/cdn"\ntags = ["site"]\n'
            '[[service]]\nname = "Website"\ntags = ["site"]\n')  # lines 1-14


def load(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "cfg.toml"
    path.write_text(text)
    return load_config(path)


def test_no_table_means_nothing_is_public(tmp_path: Path) -> None:
    assert load(tmp_path, MONITORS).status_page is None


def test_the_table_is_read_and_names_what_is_public(tmp_path: Path) -> None:
    config = load(tmp_path, MONITORS + '[status_page]\ntitle = "Acme status"\ndescription = "  Our services  "\n'
                                       'services = ["Website"]\nmonitors = ["db", "db"]\nshow_errors = true\n')
    page = config.status_page
    assert page == StatusPageSettings(title="Acme status", description="Our services", services=("Website",),
                                      monitors=("db",), show_errors=True)
    tags = {spec.name: spec.tags for spec in config.monitors}
    assert page.public_monitors(config.services, tags) == {"api", "cdn", "db"}


def test_defaults_publish_only_the_listed_monitor(tmp_path: Path) -> None:
    config = load(tmp_path, MONITORS + '[status_page]\nmonitors = ["api"]\n')
    assert config.status_page == StatusPageSettings(title="Status", monitors=("api",))
    tags = {spec.name: spec.tags for spec in config.monitors}
    assert config.status_page.public_monitors(config.services, tags) == {"api"}


BROKEN = [
    ('[status_page]\nmonitors = ["api", "nope"]\n',
     'cfg.toml:16: [status_page] monitors names "nope", which is not a configured monitor; expected one of the [[monitor]] names'),
    ('[status_page]\nservices = ["Shop"]\n',
     'cfg.toml:16: [status_page] services names "Shop", which is not a configured service; expected one of the [[service]] names'),
    ('[status_page]\ntitle = "x"\n',
     'cfg.toml:15: [status_page] makes nothing public; add services = ["..."] and/or monitors = ["..."] naming what the page may show'),
    ('[status_page]\nmonitors = ["api"]\ntheme = "dark"\n',
     'cfg.toml:17: unknown key "theme" in [status_page]; expected one of title, description, services, monitors, show_errors'),
    ('[status_page]\nmonitors = ["api"]\nshow_errors = "yes"\n',
     'cfg.toml:17: [status_page] show_errors "yes" must be true or false, not a string'),
    ('[status_page]\nmonitors = "api"\n',
     'cfg.toml:16: [status_page] monitors "api" must be a list of strings like ["api", "website"], not a string'),
    ('[status_page]\nmonitors = ["api"]\ntitle = ""\n',
     'cfg.toml:17: [status_page] title "" must not be empty; expected a string like "Example Inc. status"'),
]


@pytest.mark.parametrize(("extra", "problem"), BROKEN)
def test_status_page_mistakes_are_one_line_with_file_and_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              extra: str, problem: str) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cfg.toml").write_text(MONITORS + extra)
    with pytest.raises(ConfigError) as caught:
        load_config("cfg.toml")
    assert caught.value.problems == [problem]


def test_a_status_page_that_is_not_a_table_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cfg.toml").write_text('status_page = ["api"]\n' + MONITORS)
    with pytest.raises(ConfigError) as caught:
        load_config("cfg.toml")
    assert caught.value.problems == ["cfg.toml:1: status_page must be a table written [status_page], not a list"]


def test_check_config_exits_2_on_a_status_page_mistake(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "shiptrack.toml"
    config.write_text(MONITORS + '[status_page]\nmonitors = ["nope"]\n')
    assert main(["check-config", "--config", str(config)]) == 2
    _, err = capsys.readouterr()
    assert err.strip().count("\n") == 0 and f"{config}:16: " in err and "Traceback" not in err
