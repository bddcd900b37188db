"""Every command the README documents works after the README's install, `pip install -e .`.

The test venv also holds the test extra (pytest, hypothesis, ...). Each command runs in a child
process where the top-level modules of every installed package that pyproject's runtime
`dependencies` do not pull in cannot be imported (tests/fixtures/plain_install/sitecustomize.py,
inherited by the processes those commands start), so a command that needs a test-only package
fails here as it would for a user.
"""

from __future__ import annotations

import ast
import contextlib
import fcntl
import json
import os
import pty
import select
import signal
import socket
import struct
import subprocess
import sys
import termios
import time
import tomllib
import urllib.request
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from receiver import Receiver
from waiting import wait_for

ROOT = Path(__file__).resolve().parents[1]
HOOK_DIR = Path(__file__).parent / "fixtures" / "plain_install"


def runtime_distributions() -> set[str]:
    """pyproject's runtime dependencies and everything they require, as installed here."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    found: set[str] = set()
    queue = list(project["dependencies"])
    while queue:
        requirement = Requirement(queue.pop())
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue
        name = canonicalize_name(requirement.name)
        if name in found:
            continue
        found.add(name)
        with contextlib.suppress(metadata.PackageNotFoundError):
            queue.extend(metadata.distribution(requirement.name).requires or [])
    return found


def forbidden_modules() -> set[str]:
    """Top-level modules of installed packages that a plain install would not have."""
    runtime = runtime_distributions() | {"shiptrack"}
    return {
        module
        for module, dists in metadata.packages_distributions().items()
        if not any(canonicalize_name(d) in runtime for d in dists)
        and module not in sys.stdlib_module_names
        and not module.startswith("shiptrack_tui")
    }


def test_the_test_extra_is_what_gets_refused() -> None:
    """The check can fail: pytest is refused, and so would be psutil if it were test-only again."""
    forbidden = forbidden_modules()
    assert {"pytest", "hypothesis", "trustme"} <= forbidden
    assert not {"textual", "httpx", "peewee", "apprise", "tomlkit", "psutil"} & forbidden


class Plain:
    """Runs `shiptrack ...` as a plain install would, in `workdir`, with its own HOME."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.refused_log = workdir / "refused.log"
        home = workdir / "home"
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(HOOK_DIR), str(ROOT)]),
            "SHIPTRACK_FORBIDDEN_IMPORTS": ",".join(sorted(forbidden_modules())),
            "SHIPTRACK_REFUSED_LOG": str(self.refused_log),
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_DATA_HOME": str(home / ".local/share"),
            "XDG_STATE_HOME": str(home / ".local/state"),
            "XDG_CACHE_HOME": str(home / ".cache"),
            "TERM": "xterm-256color",
        }
        self.env.pop("TEXTUAL", None)

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "shiptrack_tui", *args]

    def refused(self) -> str:
        return self.refused_log.read_text() if self.refused_log.exists() else ""

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(self.argv(*args), capture_output=True, text=True, timeout=timeout,
                                cwd=self.workdir, env=self.env, stdin=subprocess.DEVNULL)
        assert "Traceback" not in result.stderr, result.stderr + self.refused()
        return result

    def ok(self, *args: str, timeout: float = 60) -> str:
        result = self.run(*args, timeout=timeout)
        assert result.returncode == 0, f"{args}: {result.stderr}\nrefused: {self.refused()}"
        return result.stdout

    @contextlib.contextmanager
    def background(self, *args: str) -> Iterator[Callable[[], str]]:
        """A long-running command (the daemon); yields its stderr so far; SIGTERM must exit 0."""
        log_path = self.workdir / f"bg-{time.monotonic_ns()}.log"
        with log_path.open("w") as log:
            proc = subprocess.Popen(self.argv(*args), cwd=self.workdir, env=self.env,
                                    stdout=subprocess.DEVNULL, stderr=log, stdin=subprocess.DEVNULL)
        try:
            yield log_path.read_text
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(20)
            assert code == 0, log_path.read_text() + self.refused()
            assert "Traceback" not in log_path.read_text(), log_path.read_text()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    def dashboard(self, *args: str, shows: bytes, timeout: float = 40) -> None:
        """The dashboard in a real pty: wait until it shows `shows`, press q, expect exit 0."""
        pid, fd = pty.fork()
        if pid == 0:  # the child
            try:
                os.chdir(self.workdir)
                os.execve(sys.executable, self.argv(*args), self.env)
            finally:
                os._exit(127)
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 120, 0, 0))
        screen = b""
        deadline = time.monotonic() + timeout
        pressed = False
        try:
            while time.monotonic() < deadline:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    assert pressed, f"the dashboard exited early: {screen[-800:]!r}\n{self.refused()}"
                    assert os.waitstatus_to_exitcode(status) == 0, screen[-800:]
                    return
                readable, _, _ = select.select([fd], [], [], 0.05)
                if readable:  # a terminal must be read, or the app blocks writing to it
                    with contextlib.suppress(OSError):
                        screen = (screen + os.read(fd, 1 << 16))[-200_000:]
                if not pressed and shows in screen:
                    os.write(fd, b"q")
                    pressed = True
            raise AssertionError(f"the dashboard did not show {shows!r} and quit: {screen[-800:]!r}\n"
                                 f"{self.refused()}")
        finally:
            with contextlib.suppress(ChildProcessError, ProcessLookupError):
                if os.waitpid(pid, os.WNOHANG) == (0, 0):
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
            os.close(fd)




def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(url: str) -> str | None:
    """The page's text, or None while nothing answers yet."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return str(response.read().decode())
    except OSError:
        return None


@pytest.fixture
def plain(tmp_path: Path) -> Plain:
    return Plain(tmp_path)


def test_every_readme_command_runs_on_the_runtime_dependencies_alone(plain: Plain) -> None:
    with Receiver() as rx:
        config = plain.workdir / "shiptrack.toml"
        config.write_text(
            f'[defaults]\ninterval = "1s"\ntimeout = "500ms"\nfailure_threshold = 1\n\n'
            f'[notify]\nurls = ["{rx.url("hook")}"]\n\n'
            '[[monitor]]\nname = "api"\nurl = "http://127.0.0.1:9/health"\ntags = ["prod"]\n'
        )
        db = plain.workdir / "st.db"
        where = ("--config", str(config), "--db", str(db))
        assert plain.ok("--version").startswith("shiptrack ")
        assert "ok — 1 monitor" in plain.ok("check-config", "--config", str(config))
        with plain.background("--daemon", *where) as log:
            rx.wait_for(1, timeout=30)  # the daemon checked, opened an incident and notified
            assert rx.titles()[0].startswith("[OPEN] api")
            assert json.loads(plain.ok("status", "--json", *where))[0]["name"] == "api"
            assert "api" in plain.ok("status", *where)
            [incident] = json.loads(plain.ok("incidents", "--json", *where))
            assert "api" in plain.ok("incidents", "--open", "--monitor", "api", *where)
            number = str(incident["id"])
            assert "acknowledged" in plain.ok("ack", number, "--note", "on it", *where)
            assert "noted" in plain.ok("note", number, "looking", *where)
            assert "silenced" in plain.ok("silence", "api", "--for", "1h", *where)
            assert "lifted" in plain.ok("unsilence", "api", *where)
            assert "daemon started" in log()
            port = _free_port()
            with plain.background("serve-dashboard", *where, "--listen", f"127.0.0.1:{port}"):
                page = wait_for(lambda: _get(f"http://127.0.0.1:{port}/"), what="serve-dashboard's page")
                assert "textual-terminal" in page
        assert plain.ok("notify-test", "--config", str(config)).startswith("ok")
        plain.ok("monitor", "add", "--name", "web", "--url", "http://127.0.0.1:9/w", "--tag", "prod",
                 "--interval", "30s", "--config", str(config))
        plain.ok("monitor", "rm", "web", "--config", str(config))
    plain.dashboard(*where, shows=b"api")


def test_the_demo_runs_on_the_runtime_dependencies_alone(plain: Plain) -> None:
    demo_db = plain.workdir / "demo.db"
    with plain.background("--demo", "--daemon", "--db", str(demo_db)):
        # Each poll is a new process: a quarter second between them leaves the machine to the demo.
        wait_for(lambda: plain.run("status", "--db", str(demo_db)).returncode == 0,
                 what="the demo's database", poll=0.25)
        wait_for(lambda: "steady" in plain.run("status", "--db", str(demo_db)).stdout, what="demo monitors",
                 poll=0.25)
    plain.dashboard("--demo", "--db", str(demo_db), shows=b"steady")


def test_every_module_imports_on_the_runtime_dependencies_alone(plain: Plain) -> None:
    """Every module, the bench scenarios' included, imports without a test-only package.

    (tests/test_bench_smoke.py runs each scenario; running them all again here took 100 s.)"""
    code = ("import importlib, pkgutil, shiptrack_tui\n"
            "for m in pkgutil.walk_packages(shiptrack_tui.__path__, 'shiptrack_tui.'):\n"
            "    if not m.name.endswith('__main__'):  # those run their command\n"
            "        importlib.import_module(m.name)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            cwd=plain.workdir, env=plain.env, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr + plain.refused()
    assert plain.ok("bench", "--help").startswith("usage:")


def test_no_function_imports_a_test_only_package() -> None:
    """Imports inside functions run only when called: read them from the source instead."""
    forbidden = forbidden_modules()
    offenders = []
    for path in sorted((ROOT / "shiptrack_tui").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            offenders += [f"{path.relative_to(ROOT)}:{node.lineno}: {n}" for n in names
                          if n.split(".")[0] in forbidden]
    assert not offenders, offenders
