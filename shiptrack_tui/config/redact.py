"""Print notification URLs and database URLs without their secrets (DESIGN §7, §12: never in full,
anywhere)."""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import parse_qsl, unquote, urlsplit

from shiptrack_tui.core import dsn

_MASK: Final = "***"
_TOKENISH: Final = re.compile(r"^(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9_\-]{16,}$")


def redact_url(url: str) -> str:
    """Keep the scheme, user and host; replace password, path, query and fragment with `***`.

    `slack://T000/B000/XXXX` → `slack://T000/***`;
    `json://user:pw@127.0.0.1:9000/hook?token=x` → `json://user:***@127.0.0.1:9000/***`.
    A host that itself looks like a token (long, no dots, letters and digits) is masked too.
    """
    scheme, sep, rest = url.strip().partition("://")
    if not sep or not scheme:
        return _MASK
    end = len(rest)
    for mark in "/?#":
        found = rest.find(mark)
        if found >= 0:
            end = min(end, found)
    authority, tail = rest[:end], rest[end:]
    userinfo, at, hostport = authority.rpartition("@")
    if at:
        user, colon, _password = userinfo.partition(":")
        userinfo = f"{_mask_token(user)}:{_MASK}" if colon else _mask_token(user)
    host, colon, port = _split_port(hostport)
    if colon and not port.isdigit():
        port = _MASK  # "tgram://123456:AAH-bot-token/..." puts a secret where a port would be
    shown = (f"{userinfo}@" if at else "") + _mask_token(host) + (f":{port}" if colon else "")
    secret_tail = tail not in ("", "/")
    return f"{scheme}://{shown}" + (f"/{_MASK}" if secret_tail else tail)


def _split_port(hostport: str) -> tuple[str, str, str]:
    if hostport.startswith("["):  # IPv6 literal
        close = hostport.find("]")
        if close >= 0:
            host, rest = hostport[: close + 1], hostport[close + 1 :]
            return host, ":" if rest.startswith(":") else "", rest[1:]
    return hostport.partition(":")


def _mask_token(text: str) -> str:
    return _MASK if _TOKENISH.match(text) else text


def dsn_password(url: str) -> str | None:
    """The password written in a PostgreSQL URL (`user:PASSWORD@` or `?password=`), if any."""
    try:
        parts = urlsplit(url)
        if parts.password:
            return parts.password
        query = parts.query
    except ValueError:  # a malformed URL (an unclosed IPv6 bracket): find the userinfo by hand
        userinfo = re.match(r"^[^:/]+://([^/?#]*)@", url.strip())
        if userinfo and ":" in userinfo.group(1):
            return userinfo.group(1).split(":", 1)[1] or None
        query = url.partition("?")[2]
    found = [value for key, value in parse_qsl(query, keep_blank_values=True) if key == "password"]
    return found[0] if found and found[0] else None


def scrub_secrets(text: str, url: str | None = None) -> str:
    """`text` (an error message) with `url`'s password and any `password=...` masked."""
    if url:
        secret = dsn_password(url)
        text = text.replace(url, dsn.redact(url))
        for form in {secret, unquote(secret)} if secret else ():
            text = text.replace(form, _MASK)
    return re.sub(r"(password\s*=\s*)('[^']*'|\S+)", rf"\g<1>{_MASK}", text, flags=re.IGNORECASE)
