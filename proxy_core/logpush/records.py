"""A stored log → one Logpush record, and a batch of records → one gzipped JSON-lines file.

Plain fields say what happened (ids, time, gateway, provider, model, status, tokens, cost, cache,
durations); ``Metadata``, ``RequestBody`` and ``ResponseBody`` carry what the caller sent and got,
so each is sealed (:mod:`proxy_core.logpush.encryption`) and never written in clear, even when
empty: the reference's script decrypts all three of every line. Bodies are held to Cloudflare's
1 MB per log: longer ones are cut and the record says ``BodyTruncated``.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping

import orjson
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from proxy_core.logpush.encryption import seal

__all__ = ["BODY_LIMIT", "SEALED_FIELDS", "PendingLog", "pending_log", "encode_record", "encode_file", "file_name"]

BODY_LIMIT = 1024 * 1024
"""Bytes of request and response body, together, that one record carries (Cloudflare: 1 MB per log)."""
SEALED_FIELDS = ("Metadata", "RequestBody", "ResponseBody")
RATE_LIMITED = 2007
"""The gateway's own error code for a request refused by the rate limit."""


@dataclass(frozen=True, slots=True)
class PendingLog:
    """A stored log waiting to be pushed: its row (no bodies) and its bodies, already cut to fit."""

    row: Mapping[str, Any]
    request_body: bytes
    response_body: bytes
    truncated: bool

    @property
    def weight(self) -> int:
        return len(self.request_body) + len(self.response_body)


def pending_log(row: Mapping[str, Any], body: Mapping[str, Any] | None) -> PendingLog:
    """Keep what a record needs of a stored row, the bodies cut to :data:`BODY_LIMIT` together
    (each keeps at least half of it when both are long)."""
    request = (body or {}).get("request_body") or b""
    response = (body or {}).get("response_body") or b""
    truncated = bool(row.get("body_truncated"))
    if len(request) + len(response) > BODY_LIMIT:
        half = BODY_LIMIT // 2
        request_room = max(half, BODY_LIMIT - len(response))
        request = request[:request_room]
        response = response[: BODY_LIMIT - len(request)]
        truncated = True
    return PendingLog(row, bytes(request), bytes(response), truncated)


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _plain(row: Mapping[str, Any], truncated: bool) -> dict[str, Any]:
    return {
        "ID": row["id"],
        "Timestamp": _iso(row["created_at"]),
        "Account": row["account_id"],
        "Gateway": row["gateway_id"],
        "Provider": row["provider"],
        "Model": row.get("model"),
        "ModelType": row.get("model_type"),
        "Endpoint": row.get("path"),
        "Method": row.get("method"),
        "RequestType": row.get("request_type"),
        "StatusCode": row["status_code"],
        "Success": bool(row.get("success")),
        "ErrorCode": row.get("error_code"),
        "Error": row.get("error"),
        "RateLimited": row.get("error_code") == RATE_LIMITED,
        "Cached": bool(row.get("cached")),
        "Step": row.get("step", 0),
        "EventID": row.get("event_id"),
        "Duration": row.get("duration"),
        "TimeToFirstByte": row.get("ttfb"),
        "TokensIn": row.get("tokens_in"),
        "TokensOut": row.get("tokens_out"),
        "Cost": row.get("cost"),
        "CustomCost": bool(row.get("custom_cost")),
        "Streamed": bool(row.get("streamed")),
        "RequestContentType": row.get("request_content_type"),
        "ResponseContentType": row.get("response_content_type"),
        "RequestSize": row.get("request_size"),
        "ResponseSize": row.get("response_size"),
        "BodyTruncated": truncated,
    }


def encode_record(log: PendingLog, public_key: RSAPublicKey) -> bytes:
    """One JSON line (without its newline): plain fields, then the three sealed ones."""
    record = _plain(log.row, log.truncated)
    metadata = log.row.get("metadata")
    record["Metadata"] = seal(orjson.dumps(metadata) if metadata else b"{}", public_key)
    record["RequestBody"] = seal(log.request_body, public_key)
    record["ResponseBody"] = seal(log.response_body, public_key)
    return orjson.dumps(record)


def encode_file(logs: Iterable[PendingLog], public_key: RSAPublicKey) -> bytes:
    """A gzipped JSON-lines file of ``logs`` (CPU-bound: run it off the event loop)."""
    lines = b"".join(encode_record(log, public_key) + b"\n" for log in logs)
    return gzip.compress(lines, compresslevel=6)


def file_name(account_id: str, gateway_id: str, at_ms: int, sequence: int) -> str:
    """``{account}/{gateway}/{YYYYMMDD}/{gateway}_{YYYYMMDDTHHMMSSZ}_{sequence}.log.gz``: by gateway
    and day, ordered by time and a per-gateway sequence that never repeats."""
    at = datetime.fromtimestamp(at_ms / 1000, tz=timezone.utc)
    return f"{account_id}/{gateway_id}/{at:%Y%m%d}/{gateway_id}_{at:%Y%m%dT%H%M%SZ}_{sequence:08d}.log.gz"
