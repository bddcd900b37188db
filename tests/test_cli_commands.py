"""`monitor add`/`rm` and `incidents --monitor` as an operator meets them: errors that point at the
file as it is, what happens to a running engine, and names that are not known."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_cli_reports import db  # noqa: F401  (the seeded database fixture)

from shiptrack_tui.cli import main

CONFIG = """\
# two monitors
[[monitor]]
name = "a"
url = "http://a.example.test/"

[[monitor]]
name = "b"
url = "http://b.example.test/"
"""


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (["--interval", "5x"], 'interval "5x" is not a duration'),
        (["--interval", "0s"], 'expected a duration like "30s"'),  # the closing quote stays
        (["--url", "ftp://x"], 'url "ftp://x" must start with'),
    ],
)
def test_monitor_add_errors_cite_the_file_as_it_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], says: str
) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(CONFIG)
    argv = ["monitor", "add", "--config", str(cfg), "--name", "c", "--url", "http://c.example.test/", *extra]
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == "" and cfg.read_text() == CONFIG
    (line,) = err.strip().splitlines()
    # No `config.toml:12:` for a monitor that is not in the 8-line file.
    assert line.startswith(f"{cfg}: the new monitor was not added: ") and says in line, line


def test_a_problem_after_the_added_monitor_keeps_its_own_line(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(CONFIG + '\n[notify]\nevents = ["open", "nope"]\n')  # line 11 of the file
    code, _out, err = run(capsys, "monitor", "add", "--config", str(cfg), "--name", "c", "--url", "http://c/")
    assert code == 2
    assert err.startswith(f"{cfg}:11:"), err


def test_monitor_add_says_it_created_the_file_and_when_the_engine_sees_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "new" / "config.toml"
    code, out, _ = run(capsys, "monitor", "add", "--config", str(cfg), "--name", "c", "--url", "http://c/")
    assert code == 0 and cfg.exists()
    lines = out.splitlines()
    assert lines[0] == f"created {cfg}"
    assert "within 2 s" in lines[-1] and "SIGHUP" not in out
    code, out, _ = run(capsys, "monitor", "rm", "--config", str(cfg), "c")
    assert code == 0 and "created" not in out and "within 2 s" in out


def test_monitor_rm_of_an_unknown_name_keeps_its_quotes(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(CONFIG)
    code, _out, err = run(capsys, "monitor", "rm", "--config", str(cfg), "zz")
    assert code == 2 and err.strip() == f'no monitor named "zz" in {cfg}'


def test_incidents_for_an_unknown_monitor_names_it(db: Path,  # noqa: F811
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "incidents", "--monitor", "nosuch", "--db", str(db))
    assert code == 2 and out == ""
    assert err.strip() == "shiptrack: no monitor named 'nosuch' (known: api, quiet, web)"
