"""A throwaway PostgreSQL server (tests, `bench --scenario cluster`): Debian's `postgresql`
binaries, a cluster in a temp dir.

`initdb` refuses to run as root, so as root the server runs as the `postgres` user (the Debian
package creates it) in a directory that user owns. It listens on 127.0.0.1 on a free port and on
a Unix socket in its own directory; authentication is `trust` (loopback only, throwaway data).
fsync is off: these tests restart the server, they do not crash the machine.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

SUPERUSER = "shiptrack"
PREFIX = "shiptrack-pg-"
OWNER_FILE = "owner.pid"  # the process that made the server: once it is gone, so may the server be


def postgres_bin_dir() -> Path | None:
    """The newest `/usr/lib/postgresql/N/bin` holding initdb and pg_ctl, or None."""
    def version(initdb: str) -> int:
        name = Path(initdb).parent.parent.name
        return int(name) if name.isdigit() else 0

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=version)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def _free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """One throwaway PostgreSQL cluster. `start()`, `stop()`, `restart()`, `create_database()`."""

    def __init__(self, bin_dir: Path | None = None, host: str = "127.0.0.1") -> None:
        found = bin_dir or postgres_bin_dir()
        if found is None:
            raise RuntimeError("PostgreSQL is not installed (initdb not found): apt-get install postgresql")
        self.bin_dir = found
        self.host = host
        self.port = _free_port(host)
        sweep_orphans()
        self.root = Path(tempfile.mkdtemp(prefix=PREFIX))
        (self.root / OWNER_FILE).write_text(str(os.getpid()))
        self.data = self.root / "data"
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            entry = pwd.getpwnam("postgres")
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", SUPERUSER, "--no-sync",
                  "-E", "UTF8", "--locale=C.UTF-8")
        self.running = False

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin_dir / tool), *args]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=check, capture_output=True, text=True, timeout=60)

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.root} -c listen_addresses={self.host} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-w", "-t", "60",
                  "-l", str(self.root / "server.log"), "start")
        self.running = True

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (`fast` ends sessions; `immediate` is a crash without a clean shutdown)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)
        self.running = False

    def restart(self) -> None:
        self.stop()
        self.start()

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@{self.host}:{self.port}/{database}"

    def create_database(self, name: str | None = None) -> str:
        """A new empty database; returns its URL."""
        import psycopg

        name = name or f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        import psycopg

        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def log(self) -> str:
        try:
            return (self.root / "server.log").read_text(errors="replace")
        except OSError:
            return ""

    def destroy(self) -> None:
        if self.running:
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


def sweep_orphans(tmp: Path | None = None) -> list[Path]:
    """Stop and delete the throwaway servers whose owner process is gone (a test run or a
    benchmark killed before it could clean up leaves its server running); return their roots.
    A server without an owner file, or whose owner lives, is left alone."""
    swept = []
    for root in Path(tmp or tempfile.gettempdir()).glob(f"{PREFIX}*"):
        try:
            owner = int((root / OWNER_FILE).read_text().strip())
        except (OSError, ValueError):
            continue
        if _alive(owner):
            continue
        bin_dir = postgres_bin_dir()
        data = root / "data"
        if bin_dir is not None and (data / "postmaster.pid").exists():
            command = [str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]
            if os.geteuid() == 0:
                command = ["runuser", "-u", "postgres", "--", *command]
            stopped = subprocess.run(command, capture_output=True, timeout=60, check=False)
            if stopped.returncode != 0 and (data / "postmaster.pid").exists():
                continue  # still running, for a reason we do not know: keep its files
        shutil.rmtree(root, ignore_errors=True)
        swept.append(root)
    return swept
