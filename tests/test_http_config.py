"""`[http]`: one line per problem with its line (exit 2), the token's two sources and which wins,
a public bind without a token refused, and a port in use said in one line (exit 1)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from shiptrack_tui.cli import main
from shiptrack_tui.config import ConfigError, load_config
from shiptrack_tui.daemon import run_daemon

MONITOR = '\n[[monitor]]\nname = "api"\nurl = "http://127.0.0.1:9/"\n'


def write(tmp_path: Path, http: str) -> Path:
    path = tmp_path / "shiptrack.toml"
    path.write_text(f"[http]\n{http}\n{MONITOR}")
    return path


def problems(tmp_path: Path, http: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, http))
    return caught.value.problems


def test_absent_means_off_and_loopback_needs_no_token(tmp_path: Path) -> None:
    plain = tmp_path / "plain.toml"
    plain.write_text(MONITOR)
    assert not load_config(plain).http.enabled
    http = load_config(write(tmp_path, 'listen = "127.0.0.1:8080"')).http
    assert (http.enabled, http.host, http.port) == (True, "127.0.0.1", 8080)
    assert (http.token, http.public_api) == (None, False)
    v6 = load_config(write(tmp_path, 'listen = "[::1]:0"\npublic_api = true')).http
    assert (v6.host, v6.port, v6.listen, v6.public_api) == ("::1", 0, "[::1]:0", True)


def test_a_public_address_without_a_token_is_refused_with_exit_2(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, 'listen = "0.0.0.0:8080"')
    expected = (f"{path}:2: [http] listen \"0.0.0.0:8080\" is reachable from other machines but no token is "
                "set; add token_file = \"...\" (or set SHIPTRACK_HTTP_TOKEN), or listen on 127.0.0.1")
    assert main(["check-config", "--config", str(path)]) == 2
    assert capsys.readouterr().err.strip() == expected
    # The daemon itself, in its own process (in this one it would install its log handlers).
    daemon = subprocess.run([sys.executable, "-m", "shiptrack_tui", "--daemon", "--config", str(path),
                             "--db", str(tmp_path / "st.db")], capture_output=True, text=True, timeout=60)
    assert (daemon.returncode, daemon.stderr.strip()) == (2, expected)


def test_the_token_comes_from_the_file_or_the_environment_which_wins(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "http.token").write_text("from-file\n")
    path = write(tmp_path, 'listen = "0.0.0.0:8080"\ntoken_file = "http.token"')
    http = load_config(path).http
    assert (http.token, http.token_source) == ("from-file", str(tmp_path / "http.token"))
    assert "from-file" not in repr(load_config(path))
    monkeypatch.setenv("SHIPTRACK_HTTP_TOKEN", "from-env")
    assert load_config(path).http.token == "from-env"
    public = load_config(write(tmp_path, 'listen = "0.0.0.0:8080"')).http  # the env alone suffices
    assert (public.token, public.token_source) == ("from-env", "SHIPTRACK_HTTP_TOKEN")


def test_every_bad_value_is_one_line_at_its_key(tmp_path: Path) -> None:
    assert problems(tmp_path, 'listen = "8080"\npublic_api = "yes"\nport = 1') == [
        f"{tmp_path / 'shiptrack.toml'}:2: [http] listen \"8080\" is not an address to listen on; expected "
        'host:port like "127.0.0.1:8080" or "[::1]:8080"',
        f"{tmp_path / 'shiptrack.toml'}:3: [http] public_api \"yes\" must be true or false, not a string",
        f"{tmp_path / 'shiptrack.toml'}:4: unknown key \"port\" in [http]; expected one of listen, "
        "token_file, public_api",
    ]
    [missing] = problems(tmp_path, 'listen = "127.0.0.1:1"\ntoken_file = "nope.token"')
    assert missing.startswith(f"{tmp_path / 'shiptrack.toml'}:3: [http] token_file \"{tmp_path}/nope.token\" "
                              "does not exist")
    (tmp_path / "empty.token").write_text("\n")
    [empty] = problems(tmp_path, 'listen = "127.0.0.1:1"\ntoken_file = "empty.token"')
    assert "is empty" in empty
    [port] = problems(tmp_path, 'listen = "127.0.0.1:70000"')
    assert "ports go from 1 to 65535" in port


def test_a_port_in_use_is_one_line_and_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        config = load_config(write(tmp_path, f'listen = "127.0.0.1:{port}"'))
        assert run_daemon(config, tmp_path / "st.db", reload_config=lambda: config) == 1
    err = capsys.readouterr().err
    assert err == (f"shiptrack: cannot listen on 127.0.0.1:{port}: the port is already in use (another "
                   "ShipTrack, or another server?); change [http] listen\n")
