"""Command-line parsing: options before or after the subcommand, and the benchmark's own args."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pytest

from shiptrack_tui.cli import _bench_argv, build_parser, main


@pytest.mark.parametrize(
    "argv",
    [
        ["--config", "c.toml", "--db", "d.db", "status", "--json"],
        ["status", "--json", "--config", "c.toml", "--db", "d.db"],
        ["--config", "c.toml", "status", "--db", "d.db", "--json"],
    ],
)
def test_config_and_db_before_or_after_the_subcommand(argv: list[str]) -> None:
    args = build_parser().parse_args(argv)
    assert (args.command, args.config, args.db, args.json) == ("status", "c.toml", "d.db", True)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["bench", "--scenario", "pipeline"], ["--scenario", "pipeline"]),
        (["bench", "--", "--scenario", "stats"], ["--", "--scenario", "stats"]),
        (["--db", "x.db", "bench", "--scenario", "storage"], ["--scenario", "storage", "--db", "x.db"]),
        (["status"], None),
        (["--db", "bench", "status"], None),  # "bench" as the value of --db is not the subcommand
    ],
)
def test_bench_arguments_are_handed_over_whole(argv: list[str], expected: list[str] | None) -> None:
    assert _bench_argv(argv) == expected


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["no-such-command"])
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_missing_database_is_a_runtime_failure(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "--db", str(tmp_path / "none.db")]) == 1  # runtime, not usage: README's exit codes
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no database at" in err[0] and "shiptrack --daemon" in err[0]


def _actions(parser: argparse.ArgumentParser) -> Iterator[tuple[str, argparse.Action]]:
    for action in parser._actions:
        yield parser.prog, action
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                yield from _actions(child)


def test_every_option_and_argument_has_help() -> None:
    missing = [f"{prog} {'/'.join(a.option_strings) or a.dest}" for prog, a in _actions(build_parser())
               if not a.help]
    assert missing == []


@pytest.mark.parametrize("length", ["0s", "-5m", "0", "soon", "99999999d", "9" * 400 + "d"])
def test_a_silence_length_that_is_not_positive_or_too_long_is_a_usage_error(
    tmp_path, length: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # No database is needed to know the length is wrong: the usage error comes first.
    assert main(["silence", "api", "--for", length, "--db", str(tmp_path / "none.db")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("shiptrack: --for") and repr(length) in err[0]
