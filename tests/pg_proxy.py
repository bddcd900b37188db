"""A loopback TCP proxy in front of PostgreSQL that can lose a connection at the worst moment.

`drop_after_commit()` arms it: the next COMMIT a client sends is forwarded to the server, the
server's answer is read until it is ready for the next query (so the transaction HAS committed),
and then both sides are closed without the answer reaching the client. The client sees the
connection die during COMMIT and cannot know whether its transaction landed: the case an
exactly-once retry must get right.

It speaks just enough of the wire protocol to find message boundaries: the untyped startup
packets first (an SSL or GSS encryption request is answered "N" by the proxy itself, so the
stream stays readable), then typed messages (one type byte, a 4-byte length counting itself).
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from dataclasses import dataclass, field

SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104


def _read_exact(sock: socket.socket, count: int) -> bytes:
    data = bytearray()
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return bytes(data)


def _read_typed(sock: socket.socket) -> bytes:
    head = _read_exact(sock, 5)
    (length,) = struct.unpack("!I", head[1:])
    return head + _read_exact(sock, length - 4)


def _is_commit(message: bytes) -> bool:
    """A simple query ('Q') or a parse ('P') whose statement is COMMIT."""
    kind = message[:1]
    if kind == b"Q":
        text = message[5:].split(b"\0", 1)[0]
    elif kind == b"P":
        parts = message[5:].split(b"\0", 2)  # statement name, query text, rest
        text = parts[1] if len(parts) > 1 else b""
    else:
        return False
    return text.strip().rstrip(b";").strip().upper() in (b"COMMIT", b"END", b"COMMIT TRANSACTION")


@dataclass
class _Link:
    client: socket.socket
    server: socket.socket
    swallow: threading.Event = field(default_factory=threading.Event)  # eat the answer, then cut

    def close(self) -> None:
        for sock in (self.client, self.server):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


class PgProxy:
    """`PgProxy(host, port)`: listens on 127.0.0.1:`self.port` and forwards to the server."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._lock = threading.Lock()
        self._armed = 0
        self._links: list[_Link] = []
        self.dropped_commits = 0  # COMMITs whose answer was swallowed and connection cut
        self.connections = 0
        self._closed = False
        self._down = False
        threading.Thread(target=self._accept, name="pg-proxy", daemon=True).start()

    def url(self, database_url: str) -> str:
        """`database_url` with its host:port replaced by this proxy's."""
        scheme, rest = database_url.split("://", 1)
        userinfo, _, tail = rest.rpartition("@")
        _hostport, _, path = tail.partition("/")
        prefix = f"{userinfo}@" if userinfo else ""
        return f"{scheme}://{prefix}127.0.0.1:{self.port}/{path}"

    def drop_after_commit(self, times: int = 1) -> None:
        with self._lock:
            self._armed += times

    def down(self) -> None:
        """The server is gone: cut every connection, and every new one at once, until `up()`."""
        self._down = True
        self.cut_all()

    def up(self) -> None:
        self._down = False

    def cut_all(self) -> None:
        """Close every open connection now (a network failure without any answer)."""
        with self._lock:
            links, self._links = self._links, []
        for link in links:
            link.close()

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        self.cut_all()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self._down:
                client.close()
                continue
            try:
                server = socket.create_connection(self._target, timeout=5)
                server.settimeout(None)
            except OSError:
                client.close()
                continue
            link = _Link(client, server)
            with self._lock:
                self._links.append(link)
                self.connections += 1
            threading.Thread(target=self._upstream, args=(link,), daemon=True).start()
            threading.Thread(target=self._downstream, args=(link,), daemon=True).start()

    def _upstream(self, link: _Link) -> None:
        """Client to server, message by message."""
        try:
            while True:  # untyped startup packets
                head = _read_exact(link.client, 8)
                length, code = struct.unpack("!II", head)
                if code in (SSL_REQUEST, GSSENC_REQUEST):
                    link.client.sendall(b"N")
                    continue
                link.server.sendall(head + _read_exact(link.client, length - 8))
                break
            while True:
                message = _read_typed(link.client)
                cut = False
                if _is_commit(message):
                    with self._lock:
                        if self._armed > 0:
                            self._armed -= 1
                            cut = True
                if cut:
                    link.swallow.set()
                link.server.sendall(message)
        except (OSError, ConnectionError):
            link.close()

    def _downstream(self, link: _Link) -> None:
        """Server to client; once told to swallow, read to ReadyForQuery and cut both sides."""
        try:
            while True:
                message = _read_typed(link.server)
                if link.swallow.is_set():
                    if message[:1] == b"Z":
                        with self._lock:
                            self.dropped_commits += 1
                        link.close()
                        return
                    continue
                link.client.sendall(message)
        except (OSError, ConnectionError):
            link.close()
