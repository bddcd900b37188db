"""`push = true` monitors in the config: what they take, what they refuse (PATH:LINE, exit 2), and a
push_token that no message repeats."""

from __future__ import annotations

from pathlib import Path

import pytest

from shiptrack_tui.cli import main
from shiptrack_tui.config import ConfigError, load_config

TOKEN = "Backup-Token_0123456789abcdef"


def problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "cfg.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return [line.replace(str(path), "cfg.toml") for line in caught.value.problems]


def test_a_push_monitor_and_its_defaults(tmp_path: Path) -> None:
    path = tmp_path / "cfg.toml"
    path.write_text('[defaults]\ninterval = "30s"\nfailure_threshold = 3\ndegraded_after = "2s"\n\n'
                    '[[monitor]]\nname = "nightly-backup"\npush = true\ninterval = "1d"\ngrace = "1h"\n'
                    f'push_token = "{TOKEN}"\ndegraded_after = "2h"\ntags = ["cron"]\n\n'
                    '[[monitor]]\nname = "hourly"\npush = true\ninterval = "1h"\n\n'
                    '[[monitor]]\nname = "api"\nurl = "https://example.com"\npush = false\n')
    backup, hourly, api = load_config(path).monitors
    assert (backup.push, backup.kind, backup.url, backup.interval, backup.grace, backup.push_token) == (
        True, "push", "push", 86400.0, 3600.0, TOKEN)
    assert (backup.degraded_after, backup.tags, backup.failure_threshold, backup.recovery_threshold) == (
        7200.0, ("cron",), 1, 1)
    # [defaults] thresholds and degraded_after are for probed monitors; the grace is 10 % of the interval.
    assert (hourly.grace, hourly.degraded_after, hourly.failure_threshold, hourly.push_token) == (
        360.0, None, 1, None)
    assert (api.push, api.failure_threshold, api.degraded_after) == (False, 3, 2.0)


def test_what_a_push_monitor_refuses(tmp_path: Path) -> None:
    text = ('[[monitor]]\nname = "a"\npush = true\nurl = "https://example.com"\ntimeout = "5s"\n'  # 1-5
            f'body_contains = "ok"\npush_token = "{TOKEN}"\nretries = 2\n\n'  # 6-9
            f'[[monitor]]\nname = "b"\npush = true\npush_token = "{TOKEN}"\ngrace = "-1s"\n\n'  # 10-15
            '[[monitor]]\nname = "c"\npush = "yes"\n\n'  # 16-19
            '[[monitor]]\nname = "d"\nurl = "https://example.com"\ngrace = "1m"\npush_token = "x"\n')  # 20-24
    hint = "does not apply to a push monitor (it is checked by the pings its job sends to /push/<token>, " \
           "not probed); remove it"
    assert problems(tmp_path, text) == [
        f'cfg.toml:4: monitor "a": url {hint}',
        f'cfg.toml:5: monitor "a": timeout {hint}',
        f'cfg.toml:6: monitor "a": body_contains {hint}',
        'cfg.toml:8: unknown key "retries" in monitor "a"; expected one of name, push, push_token, interval, '
        "grace, degraded_after, failure_threshold, recovery_threshold, tags, maintenance, severity",
        'cfg.toml:13: monitor "b": push_token is the same as the push_token at line 7; each push monitor '
        "needs its own (or leave it out and ShipTrack generates one)",
        'cfg.toml:14: monitor "b": grace "-1s" cannot be negative; expected a duration like "30s"',
        'cfg.toml:18: monitor "c": push "yes" must be true or false, not a string',
        'cfg.toml:23: monitor "d": grace applies to push monitors only; add push = true, or remove it',
        'cfg.toml:24: monitor "d": push_token applies to push monitors only; add push = true, or remove it',
    ]


@pytest.mark.parametrize("token", ["short", "has spaces but is long enough", "x" * 129, 'ab"cdefghijklmnopq'])
def test_a_bad_push_token_is_refused_without_repeating_it(tmp_path: Path, token: str) -> None:
    [line] = problems(tmp_path, f"[[monitor]]\nname = \"job\"\npush = true\npush_token = '{token}'\n")
    assert line.startswith('cfg.toml:4: monitor "job": push_token must be 16 to 128 characters of A-Z, a-z')
    assert token not in line


def test_check_config_exits_2_with_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "cfg.toml"
    path.write_text(f'[[monitor]]\nname = "a"\npush = true\npush_token = "{TOKEN}"\n\n'
                    f'[[monitor]]\nname = "b"\npush = true\npush_token = "{TOKEN}"\n')
    assert main(["check-config", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:9: monitor \"b\": push_token is the same as the push_token at line 4" in err
    assert TOKEN not in err


def test_push_monitors_without_a_listening_server_are_warned_about(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "cfg.toml"
    path.write_text('[[monitor]]\nname = "backup"\npush = true\n')
    assert main(["check-config", "--config", str(path)]) == 0
    assert (f"{path}: warning: push monitors (backup) receive pings over HTTP, and [http] listen is not set"
            in capsys.readouterr().err)
    path.write_text('[http]\nlisten = "127.0.0.1:8080"\n\n[[monitor]]\nname = "backup"\npush = true\n')
    assert main(["check-config", "--config", str(path)]) == 0
    assert "warning" not in capsys.readouterr().err
