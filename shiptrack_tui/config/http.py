"""`[http]`: the HTTP surface (DESIGN §11) — where it listens and the bearer token it wants.

`listen` turns it on. The token comes from the environment variable `SHIPTRACK_HTTP_TOKEN` when
that is set and not empty, else from `token_file` (read here, when the config loads): an
environment set by a service manager overrides the file, as `--db` overrides `[storage] path`.
A listen address other than loopback without a token is refused (exit 2): anyone on the network
could otherwise acknowledge incidents and pause monitors.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from shiptrack_tui.config.checker import Checker, Scope
from shiptrack_tui.config.settings import HttpSettings
from shiptrack_tui.config.values import Bad, as_str, kind, show

HTTP_KEYS: Final = ("listen", "token_file", "public_api")
TOKEN_ENV: Final = "SHIPTRACK_HTTP_TOKEN"
LISTEN_EXAMPLE: Final = '"127.0.0.1:8080"'
_LISTEN: Final = re.compile(r"^(?:\[(?P<v6>[^\]]+)\]|(?P<host>[^:\[\]]+)):(?P<port>\d{1,5})$")


def parse_listen(text: str) -> tuple[str, int]:
    """`"127.0.0.1:8080"`, `"[::1]:8080"`, `"localhost:0"` → (host, port); Bad otherwise."""
    match = _LISTEN.match(text.strip())
    if match is None:
        raise Bad(f"{show(text)} is not an address to listen on; expected host:port like {LISTEN_EXAMPLE} "
                  'or "[::1]:8080"')
    host = match["v6"] or match["host"]
    port = int(match["port"])
    if port > 65535:
        raise Bad(f"{show(text)} names port {port}; ports go from 1 to 65535 (0: any free port)")
    if match["v6"] is not None:
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise Bad(f"{show(text)}: {host!r} is not an IPv6 address") from None
    return host, port


def is_loopback(host: str) -> bool:
    """Whether only this machine can reach `host` (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: whatever it resolves to, it is not known to be loopback


def _as_bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise Bad(f"{show(value)} must be true or false, not {kind(value)}")
    return value


def _read_token_file(value: object, base: Path) -> tuple[Path, str]:
    path = Path(as_str(value, '"~/.config/shiptrack/http.token"')).expanduser()
    path = path if path.is_absolute() else base / path
    try:
        token = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise Bad(f'"{path}" does not exist; write a token into it (e.g. `openssl rand -hex 32 > {path}`) '
                  "or remove the key") from None
    except (OSError, UnicodeDecodeError) as error:
        why = getattr(error, "strerror", None) or "not UTF-8 text"
        raise Bad(f'"{path}" cannot be read ({why}); check the path and its permissions') from None
    if not token:
        raise Bad(f'"{path}" is empty; write a token into it (e.g. `openssl rand -hex 32 > {path}`)')
    if any(ch.isspace() for ch in token):
        raise Bad(f'"{path}" must hold one token on one line, without spaces')
    return path, token


def read_http(ck: Checker, table: dict[str, Any], base: Path,
              environ: Mapping[str, str] = os.environ) -> HttpSettings:
    """The `[http]` table (no `listen`: no HTTP server), with the token it resolves to."""
    scope = Scope("[http]", ("http",))
    ck.known_keys(scope, table, HTTP_KEYS)
    listen = ck.read(scope, table, "listen", lambda v: parse_listen(as_str(v, LISTEN_EXAMPLE)))
    token_file = ck.read(scope, table, "token_file", lambda v: _read_token_file(v, base))
    public_api = ck.read(scope, table, "public_api", _as_bool) or False
    from_env = (environ.get(TOKEN_ENV) or "").strip()
    token, source = (from_env, TOKEN_ENV) if from_env else (
        (token_file[1], str(token_file[0])) if token_file else (None, None))
    unreadable = "token_file" in scope.invalid  # already reported
    if listen is not None and token is None and not is_loopback(listen[0]) and not unreadable:
        ck.report((*scope.path, "listen"),
                  f"[http] listen {show(table['listen'])} is reachable from other machines but no token is "
                  f"set; add token_file = \"...\" (or set {TOKEN_ENV}), or listen on 127.0.0.1")
    if listen is None:
        return HttpSettings(public_api=public_api)
    return HttpSettings(host=listen[0], port=listen[1], token=token, token_source=source,
                        public_api=public_api)
