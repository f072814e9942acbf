"""ULIDs for log ids: 48-bit millisecond time + 80 random bits, Crockford base32, sortable by time.

Monotonic within a process: ids made in the same millisecond increment the random part, so the
attempts of one request (made within a millisecond of each other) sort in the order they happened.
"""

from __future__ import annotations

import os
import time

__all__ = ["new_ulid", "ulid_time_ms"]

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_DECODE = {c: i for i, c in enumerate(_ALPHABET)}
_PAIRS = [a + b for a in _ALPHABET for b in _ALPHABET]
"""Two base32 digits per lookup: 10 bits at a time."""
_RANDOM_MASK = (1 << 80) - 1
_last_ms = -1
_last_random = 0


def _encode(value: int) -> str:
    # 130 bits = 13 pairs of 10 bits; a ULID is the low 26 digits (128 bits fit).
    out = []
    for _ in range(13):
        out.append(_PAIRS[value & 1023])
        value >>= 10
    return "".join(reversed(out))


def new_ulid(now_ms: int | None = None) -> str:
    """A new 26-character ULID for ``now_ms`` (default: the current time)."""
    global _last_ms, _last_random
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    if ms == _last_ms and _last_random < _RANDOM_MASK:
        random_part = _last_random + 1
    else:
        random_part = int.from_bytes(os.urandom(10), "big")
    _last_ms, _last_random = ms, random_part
    return _encode((ms << 80) | random_part)


def ulid_time_ms(ulid: str) -> int:
    """The millisecond timestamp encoded in ``ulid``'s first ten characters."""
    value = 0
    for char in ulid[:10].upper():
        value = (value << 5) | _DECODE[char]
    return value
