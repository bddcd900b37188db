"""Command-line parsing: options before or after the subcommand, and the benchmark's own args."""

from __future__ import annotations

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


def test_missing_database_is_one_line_and_exit_2(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "--db", str(tmp_path / "none.db")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no ShipTrack database here yet" in err[0]
