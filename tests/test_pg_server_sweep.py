"""Throwaway PostgreSQL servers (tests, benchmarks) whose owner was killed are stopped and deleted
by the next one started: a killed pytest run used to leave its server running for good."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from shiptrack_tui.bench.pg_server import postgres_bin_dir, sweep_orphans

pytestmark = pytest.mark.skipif(postgres_bin_dir() is None, reason="PostgreSQL is not installed")

_OWNER = """
import sys, time
from shiptrack_tui.bench.pg_server import PostgresServer
server = PostgresServer()
server.start()
print(server.root, server.port, flush=True)
time.sleep(600)
"""


def _serving(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_a_server_whose_owner_was_killed_is_stopped_and_deleted_and_a_live_ones_is_kept() -> None:
    base = Path(tempfile.mkdtemp(prefix="shiptrack-sweep-test-"))
    base.chmod(0o755)  # the server runs as the postgres user when the tests run as root
    owner = subprocess.Popen([sys.executable, "-c", _OWNER], stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "TMPDIR": str(base)})
    try:
        root_text, port_text = owner.stdout.readline().split()  # type: ignore[union-attr]
        root, port = Path(root_text), int(port_text)
        assert root.parent == base and _serving(port)
        assert sweep_orphans(base) == [] and _serving(port)  # its owner lives: left alone
        owner.send_signal(signal.SIGKILL)
        owner.wait(10)
        assert _serving(port)  # killed before it could clean up: the server runs on
        assert sweep_orphans(base) == [root]
        assert not root.exists() and not _serving(port)
    finally:
        if owner.poll() is None:
            owner.kill()
        sweep_orphans(base)
        shutil.rmtree(base, ignore_errors=True)
