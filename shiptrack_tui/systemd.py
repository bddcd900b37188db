"""systemd's notify protocol (sd_notify(3)) without a dependency: datagrams to $NOTIFY_SOCKET.

`READY=1` once the engine runs, `WATCHDOG=1` while it is healthy, `STATUS=...` with a summary and
`STOPPING=1` on the way out. Outside systemd (no NOTIFY_SOCKET) every call does nothing.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger("shiptrack.systemd")


def socket_address(raw: str) -> str | bytes:
    """NOTIFY_SOCKET as `sendto` takes it: a path, or '@name' for an abstract socket (Linux)."""
    if raw.startswith("@"):
        return b"\0" + raw[1:].encode()
    return raw


class SystemdNotifier:
    """Sends notify messages to the service manager; never raises, never blocks."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        raw = env.get("NOTIFY_SOCKET", "")
        self._raw = raw
        self._address: str | bytes | None = socket_address(raw) if raw else None
        self._socket: socket.socket | None = None
        self._failed = False
        self.watchdog_seconds = _watchdog_seconds(env)

    @property
    def enabled(self) -> bool:
        return self._address is not None

    def send(self, *assignments: str) -> None:
        """Send `KEY=value` lines in one datagram; a failure is logged once and otherwise ignored."""
        if self._address is None:
            return
        try:
            if self._socket is None:
                self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                self._socket.setblocking(False)
            self._socket.sendto("\n".join(assignments).encode(), self._address)
        except OSError as error:
            if not self._failed:
                self._failed = True
                log.warning("cannot notify systemd at %s: %s", self._raw, error)

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None


def _watchdog_seconds(env: Mapping[str, str]) -> float | None:
    """WatchdogSec as systemd passes it (WATCHDOG_USEC), when it is meant for this process."""
    usec, pid = env.get("WATCHDOG_USEC", ""), env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if pid and pid != str(os.getpid()):
        return None
    return int(usec) / 1_000_000
