"""AWS event stream frames for tests (the encoder side of :mod:`proxy_core.providers.bedrock.eventstream`)."""

from __future__ import annotations

import base64
import struct
import zlib

import orjson


def header(name: str, kind: int, value: bytes) -> bytes:
    encoded = name.encode()
    if kind in (6, 7):
        value = struct.pack(">H", len(value)) + value
    return bytes([len(encoded)]) + encoded + bytes([kind]) + value


def message(headers: bytes, payload: bytes) -> bytes:
    total = 12 + len(headers) + len(payload) + 4
    prelude = struct.pack(">II", total, len(headers))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + headers + payload
    return body + struct.pack(">I", zlib.crc32(body))


def event(kind: str, payload: object, *, extra: bytes = b"") -> bytes:
    headers = header(":event-type", 7, kind.encode()) + header(":message-type", 7, b"event") + extra
    headers += header(":content-type", 7, b"application/json")
    return message(headers, orjson.dumps(payload))


def chunk(model_event: object) -> bytes:
    return event("chunk", {"bytes": base64.b64encode(orjson.dumps(model_event)).decode()})


CONVERSE = b"".join([
    event("messageStart", {"role": "assistant"}),
    event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Hello"}}),
    event("messageStop", {"stopReason": "end_turn"}),
    event("metadata", {"usage": {"inputTokens": 21, "outputTokens": 7, "totalTokens": 28}, "metrics": {"latencyMs": 9}}),
])  # fmt: skip

INVOKE = b"".join([
    chunk({"type": "message_start", "message": {"usage": {"input_tokens": 15, "output_tokens": 1}}}),
    chunk({"type": "content_block_delta", "delta": {"type": "text_delta", "text": "Hi"}}),
    chunk({"type": "message_delta", "usage": {"output_tokens": 4}}),
    chunk({"type": "message_stop", "amazon-bedrock-invocationMetrics": {"inputTokenCount": 15, "outputTokenCount": 4}}),
])  # fmt: skip
