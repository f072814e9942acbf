"""Validation of the client's provider path before it is appended to a configured base URL.

The raw path is percent-decoded until it stops changing; any layer that hides an encoded slash or
backslash is rejected, and so is a final path with ``.``/``..`` segments, backslashes or control
characters. What is forwarded is the client's raw (still encoded) path, unchanged, so providers
that rely on encoding (``models/gemini:generateContent``) keep working.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from proxy_core.errors import ErrorCode, GatewayError

__all__ = ["check_path"]

_ENCODED_SEPARATOR = re.compile(r"%(2f|5c)", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_MAX_DECODE_ROUNDS = 8


def check_path(raw: str) -> str:
    """Return ``raw`` if it is safe to append to a base URL, else raise ``GatewayError`` (400)."""
    current = raw
    for _ in range(_MAX_DECODE_ROUNDS):
        if _ENCODED_SEPARATOR.search(current):
            raise GatewayError(ErrorCode.INVALID_PATH, "Invalid path: encoded slashes are not allowed")
        decoded = unquote(current)
        if decoded == current:
            break
        current = decoded
    else:
        raise GatewayError(ErrorCode.INVALID_PATH, "Invalid path: too many layers of encoding")
    if "\\" in current:
        raise GatewayError(ErrorCode.INVALID_PATH, "Invalid path: backslashes are not allowed")
    if _CONTROL.search(current):
        raise GatewayError(ErrorCode.INVALID_PATH, "Invalid path: control characters are not allowed")
    for segment in current.split("/"):
        if segment in (".", ".."):
            raise GatewayError(ErrorCode.INVALID_PATH, "Invalid path: '.' and '..' segments are not allowed")
    if "?" in current or "#" in current:
        raise GatewayError(ErrorCode.INVALID_PATH, "Invalid path: encoded '?' or '#' is not allowed")
    return raw
