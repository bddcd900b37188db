"""`[storage] url` and `password_file`, and the one resolution of "which store" (store_target.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shiptrack_tui.cli import main
from shiptrack_tui.config import ConfigError, load_config
from shiptrack_tui.config.redact import scrub_secrets
from shiptrack_tui.config.warnings import config_warnings
from shiptrack_tui.core.dsn import redact
from shiptrack_tui.store_target import StoreTarget, demo_target, resolve

URL = "postgresql://shiptrack@db.internal/shiptrack"


def _load(tmp_path: Path, text: str) -> object:
    path = tmp_path / "cfg.toml"
    path.write_text(text)
    return load_config(path)


def _problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, text)
    return caught.value.problems


def test_url_and_a_password_file_relative_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "pg-password").write_text("s3cret\n")
    (tmp_path / "pg-password").chmod(0o600)
    config = _load(tmp_path, f'[storage]\nurl = "{URL}"\npassword_file = "pg-password"\n')
    assert config.storage.url == URL
    assert config.storage.password_file == tmp_path / "pg-password"
    assert config.storage.path is None
    assert "s3cret" not in repr(config)
    assert config_warnings(config)[1:] == []  # only "no monitors": no password in the URL


@pytest.mark.parametrize(("text", "problem"), [
    (f'[storage]\npath = "x.db"\nurl = "{URL}"\n',
     "cfg.toml:3: [storage] url and path are both set; keep url (a PostgreSQL database) or path (a SQLite "
     "file), not both"),
    ('[storage]\n\nurl = "mysql://u:hunter2@h/db"\n',
     '[storage] url "mysql://u:***@h/db" is not a PostgreSQL URL; expected "postgresql://USER@HOST[:PORT]/'
     'DATABASE" (for a SQLite file, set path instead)'),
    ('[storage]\nurl = 5\n', 'cfg.toml:2: [storage] url 5 must be a string like "postgresql://'),
    (f'[storage]\nurl = "{URL}"\npassword_file = "missing"\n',
     "cfg.toml:3: [storage] password_file \"{dir}/missing\" cannot be read (No such file or directory); "
     "create it with the PostgreSQL password on one line, readable by this user only (chmod 600)"),
])
def test_storage_url_problems_name_their_line(tmp_path: Path, text: str, problem: str) -> None:
    problems = _problems(tmp_path, text)
    assert len(problems) == 1
    expected = problem.replace("{dir}", str(tmp_path))
    assert expected in problems[0]
    assert "hunter2" not in problems[0]


def test_an_empty_password_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("\n")
    problems = _problems(tmp_path, f'[storage]\nurl = "{URL}"\npassword_file = "pw"\n')
    assert problems == [f'{tmp_path}/cfg.toml:3: [storage] password_file "{tmp_path}/pw" is empty; write the '
                        "PostgreSQL password in it on one line"]


def test_a_password_in_the_url_is_a_warning_that_never_shows_it(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "cfg.toml"
    path.write_text('[storage]\nurl = "postgresql://shiptrack:hunter2@db.internal/shiptrack"\n'
                    '[[monitor]]\nname = "api"\nurl = "https://example.com/"\n')
    assert main(["check-config", "--config", str(path)]) == 0
    out, err = capsys.readouterr()
    assert "hunter2" not in out + err
    assert f"{path}: warning: [storage] url holds a password" in err
    assert "password_file" in err


def test_redaction_masks_every_form_of_the_password() -> None:
    url = "postgresql://bob:s%40cret@db:5433/ship?sslmode=require&password=other"
    assert redact(url) == "postgresql://bob:***@db:5433/ship?sslmode=require&password=***"
    text = scrub_secrets(f"connection to {url} failed for s@cret and s%40cret; password=x", url)
    assert "s@cret" not in text and "s%40cret" not in text and "password=x" not in text
    assert redact("postgresql://db/ship") == "postgresql://db/ship"


def test_resolution_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pw").write_text("pw\n")
    config = _load(tmp_path, f'[storage]\nurl = "{URL}"\npassword_file = "pw"\n')
    target = resolve(None, config)
    assert target.is_postgres and target.url == URL and target.password_file == tmp_path / "pw"
    assert resolve(str(tmp_path / "a.db"), config).path == tmp_path / "a.db"
    monkeypatch.setenv("SHIPTRACK_DB", "postgresql://other@h/x")
    assert resolve(None, config).url == "postgresql://other@h/x"  # the environment beats the file
    assert resolve(None, config).password_file == tmp_path / "pw"  # the config's password goes with it
    assert resolve(str(tmp_path / "b.db"), config).path == tmp_path / "b.db"  # --db beats both
    assert demo_target(None).url == "postgresql://other@h/x"
    monkeypatch.delenv("SHIPTRACK_DB")
    assert resolve(None, None).path is not None  # the platform data dir


def test_a_postgres_target_prints_without_its_password_and_keeps_local_files_apart() -> None:
    target = StoreTarget("postgresql://bob:hunter2@db.internal:6543/ship")
    assert str(target) == target.display == "postgresql://bob:***@db.internal:6543/ship"
    assert "hunter2" not in repr(target) and "hunter2" not in str(target.local)
    assert target.local.name == "postgresql-bob@db.internal-6543-ship"
    assert StoreTarget("postgresql://db.internal/other").local != target.local
    assert StoreTarget("/tmp/x.db").local == Path("/tmp/x.db")


def test_db_info_and_vacuum_say_one_line_on_postgres(capsys: pytest.CaptureFixture[str],
                                                     tmp_path: Path) -> None:
    url = "postgresql://bob:hunter2@127.0.0.1:1/none"
    for command in ("info", "vacuum"):
        assert main(["db", command, "--db", url, "--config", str(tmp_path / "none.toml")]) == 2
        out, err = capsys.readouterr()
        assert err.count("\n") == 1 and "PostgreSQL" in err and "hunter2" not in err and out == ""


def test_a_malformed_url_is_one_line_without_its_password(capsys: pytest.CaptureFixture[str]) -> None:
    # psycopg quotes the whole URI back in this error.
    assert main(["status", "--db", "postgres://bob:hunter2@[::1/db"]) == 1
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and err.startswith("shiptrack: ") and "hunter2" not in out + err


def test_a_password_file_others_can_read_is_a_warning(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("s3cret\n")
    secret.chmod(0o644)
    config = _load(tmp_path, f'[storage]\nurl = "{URL}"\npassword_file = "pw"\n')
    expected = (f"{tmp_path}/cfg.toml: warning: [storage] password_file {secret} can be read by other users; "
                f"make it owner-only: chmod 600 {secret}")
    assert config_warnings(config)[-1] == expected
    secret.chmod(0o600)
    assert not any("can be read by other users" in w for w in config_warnings(config))
