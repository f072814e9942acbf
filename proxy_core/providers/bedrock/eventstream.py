"""AWS event stream (``application/vnd.amazon.eventstream``): Bedrock's binary streaming framing.

Each message: total length (4 bytes, big-endian), headers length (4), prelude CRC32 (4), headers,
payload, message CRC32 (4). A header is a name (1-byte length + UTF-8), a type byte and a value;
only string values (type 7) matter here (``:event-type``, ``:message-type``). Bedrock's streams
carry JSON payloads: ``converse-stream`` one event per type (``metadata`` holds the usage),
``invoke-with-response-stream`` ``chunk`` events whose ``bytes`` are the model's own JSON, base64
(the last one of Anthropic models holds ``amazon-bedrock-invocationMetrics``).

:func:`iter_events` turns a captured body into events for the Bedrock family and the guardrails:
``{event_type: payload}`` for converse-stream, the model's own JSON for ``chunk`` events. A damaged
or truncated message ends the iteration (usage is best effort, never an error).
"""

from __future__ import annotations

import base64
import binascii
import struct
import zlib
from typing import Any, Iterator

import orjson

__all__ = ["CONTENT_TYPE", "iter_events", "iter_messages"]

CONTENT_TYPE = "application/vnd.amazon.eventstream"
_PRELUDE = struct.Struct(">III")
_STRING = 7
# Value sizes of the fixed-size header types (0/1 booleans carry no value).
_FIXED = {0: 0, 1: 0, 2: 1, 3: 2, 4: 4, 5: 8, 8: 8, 9: 16}


def iter_messages(body: bytes) -> Iterator[tuple[dict[str, str], bytes]]:
    """``(string headers, payload)`` of each whole, intact message, in order."""
    view = memoryview(body)
    offset = 0
    while offset + _PRELUDE.size + 4 <= len(body):
        total, headers_len, prelude_crc = _PRELUDE.unpack_from(body, offset)
        end = offset + total
        if total < _PRELUDE.size + 4 + headers_len or end > len(body):
            return
        if zlib.crc32(view[offset : offset + 8]) != prelude_crc:
            return
        (message_crc,) = struct.unpack_from(">I", body, end - 4)
        if zlib.crc32(view[offset : end - 4]) != message_crc:
            return
        start = offset + _PRELUDE.size
        headers = _headers(body, start, start + headers_len)
        if headers is None:
            return
        yield headers, bytes(view[start + headers_len : end - 4])
        offset = end


def _headers(body: bytes, at: int, end: int) -> dict[str, str] | None:
    headers: dict[str, str] = {}
    while at < end:
        name_len = body[at]
        name = body[at + 1 : at + 1 + name_len].decode("utf-8", "replace")
        at += 1 + name_len
        if at >= end:
            return None
        kind = body[at]
        at += 1
        if kind in (6, _STRING):  # byte array, string: 2-byte length
            (size,) = struct.unpack_from(">H", body, at)
            value = body[at + 2 : at + 2 + size]
            at += 2 + size
            if kind == _STRING:
                headers[name] = value.decode("utf-8", "replace")
        elif kind in _FIXED:
            at += _FIXED[kind]
        else:
            return None
    return headers if at == end else None


def iter_events(body: bytes) -> Iterator[dict[str, Any]]:
    """``{event_type: payload}`` for each JSON event message, except ``chunk`` messages, which
    yield the model's own JSON event (unwrapped from base64)."""
    for headers, payload in iter_messages(body):
        if headers.get(":message-type", "event") != "event":
            continue
        kind = headers.get(":event-type", "")
        try:
            data = orjson.loads(payload) if payload else {}
        except orjson.JSONDecodeError:
            continue
        if kind == "chunk" and isinstance(data, dict) and isinstance(data.get("bytes"), str):
            try:
                yield orjson.loads(base64.b64decode(data["bytes"], validate=True))
            except (binascii.Error, ValueError):
                pass
            continue
        yield {kind: data}
