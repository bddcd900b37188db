"""Days left on the certificate a server presented, read from an open TLS connection.

The pool's response class reads the live `ssl.SSLObject` while the response holds its connection
(probes/pool.py). `getpeercert()` only returns fields for a verified certificate, so for
`verify=False` pools we read notAfter from the DER bytes ourselves (no third-party parser in the
runtime dependencies).
"""

from __future__ import annotations

import calendar
import math
import ssl

_DAY = 86400.0


def not_after(ssl_object: ssl.SSLObject | ssl.SSLSocket) -> float | None:
    """The certificate's notAfter as POSIX seconds, or None when there is none to read."""
    try:
        info = ssl_object.getpeercert()
        if info and "notAfter" in info:
            return float(ssl.cert_time_to_seconds(str(info["notAfter"])))
        der = ssl_object.getpeercert(binary_form=True)
    except (ValueError, ssl.SSLError):
        return None
    return der_not_after(der) if der else None


def days_left(expires_at: float, now: float) -> int:
    """Whole days until expiry (negative once expired), counted the way people do: rounded down."""
    return math.floor((expires_at - now) / _DAY)


# --- a minimal DER walk: Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version?,
# serialNumber, signature, issuer, validity SEQUENCE { notBefore, notAfter }, ... }, ... }


def _read_tlv(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start of content, end of content) of the element at `pos`."""
    tag = data[pos]
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    return tag, pos, pos + length


def _parse_time(tag: int, raw: bytes) -> float:
    text = raw.decode("ascii").rstrip("Z")
    if tag == 0x17:  # UTCTime YYMMDDHHMMSS: years 50–99 are 19xx (RFC 5280)
        year = int(text[:2])
        text = f"{1900 + year if year >= 50 else 2000 + year}{text[2:]}"
    fields = (text[0:4], text[4:6], text[6:8], text[8:10], text[10:12], text[12:14] or "0")
    year_, month, day, hour, minute, second = (int(f) for f in fields)
    return float(calendar.timegm((year_, month, day, hour, minute, second)))


def der_not_after(der: bytes) -> float | None:
    try:
        _, cert, _ = _read_tlv(der, 0)
        _, tbs, _ = _read_tlv(der, cert)
        pos = tbs
        tag, _, end = _read_tlv(der, pos)
        if tag == 0xA0:  # explicit version
            pos = end
        for _ in range(3):  # serialNumber, signature, issuer
            _, _, pos = _read_tlv(der, pos)
        _, validity, _ = _read_tlv(der, pos)
        _, _, after_start = _read_tlv(der, validity)  # skip notBefore
        tag, start, end = _read_tlv(der, after_start)
        return _parse_time(tag, der[start:end])
    except (IndexError, ValueError, UnicodeDecodeError):
        return None
