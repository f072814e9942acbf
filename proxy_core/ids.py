"""ULIDs for log ids: 48-bit millisecond time + 80 random bits, Crockford base32, sortable by time."""

from __future__ import annotations

import os
import time

__all__ = ["new_ulid", "ulid_time_ms"]

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_DECODE = {c: i for i, c in enumerate(_ALPHABET)}


def new_ulid(now_ms: int | None = None) -> str:
    """A new 26-character ULID for ``now_ms`` (default: the current time)."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    value = (ms << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def ulid_time_ms(ulid: str) -> int:
    """The millisecond timestamp encoded in ``ulid``'s first ten characters."""
    value = 0
    for char in ulid[:10].upper():
        value = (value << 5) | _DECODE[char]
    return value
