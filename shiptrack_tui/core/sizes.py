"""Byte counts in the words an operator reads."""

from __future__ import annotations


def size_text(size: int) -> str:
    """Bytes for people: `1 MiB`, `512 KiB`, `1.5 MiB`, `100 bytes`."""
    value = float(size)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            if unit == "bytes":
                return f"{size} bytes"
            return f"{value:.1f}".removesuffix(".0") + f" {unit}"
        value /= 1024
    raise AssertionError("unreachable")
