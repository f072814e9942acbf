"""What makes two requests "the same" for the cache, and how long an answer may be kept.

A key is the hex SHA-256 of a length-prefixed record of the request: provider, method, path and
query, body, the headers that change the answer, and a fingerprint of the credentials. The
record is only ever hashed: it is never stored, logged or returned.

Credentials enter the record only as an HMAC of their values, so two API keys never share an
entry (a client cannot read answers bought with someone else's key, nor get answers with a key
the provider would refuse) unless the operator turns on ``share_across_credentials``.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Mapping, Protocol
from urllib.parse import unquote_plus

__all__ = [
    "ANSWER_HEADERS",
    "ANSWER_HEADER_PREFIXES",
    "CREDENTIAL_HEADERS",
    "CREDENTIAL_QUERY_PARAMS",
    "MAX_CACHEABLE_BYTES",
    "MIN_TTL",
    "MAX_TTL",
    "cache_key",
    "custom_cache_key",
    "ttl_from_header",
]

MAX_CACHEABLE_BYTES = 25 * 1024 * 1024
"""Largest request (and response) body the cache takes; bigger ones always go upstream."""
MIN_TTL = 60
"""Shortest TTL a request may ask for, in seconds (0 means "do not cache")."""
MAX_TTL = 30 * 24 * 3600
"""Longest TTL a request may ask for: a month (30 days), in seconds."""

ANSWER_HEADERS = frozenset(
    {
        "content-type",  # the same bytes mean something else as JSON, form or multipart
        "accept",  # response format: SSE vs JSON, audio/mpeg vs audio/wav (ElevenLabs, Bedrock)
        "anthropic-version",
        "anthropic-beta",
        "openai-organization",
        "openai-project",
        "openai-beta",
        "x-goog-user-project",  # Google bills and quotas by project; Vertex answers per project
        "cartesia-version",
        "prefer",  # Replicate: "wait" returns the finished prediction instead of a pending one
    }
)
"""Request headers (lower-case) whose values change the upstream's answer, so they enter the key.

Everything else (``user-agent``, SDK telemetry such as ``x-stainless-*`` with its per-attempt
retry count, tracing ids, ``cf-aig-*`` gateway headers) is left out, so it does not split the
cache. OpenRouter's ``http-referer``/``x-title`` are attribution only and are left out too.
"""
ANSWER_HEADER_PREFIXES = ("x-amzn-bedrock-",)
"""Header name prefixes that change the answer: Bedrock's accept, trace, guardrail and performance headers."""

CREDENTIAL_HEADERS = frozenset(
    {
        "authorization",
        "x-api-key",
        "api-key",
        "x-goog-api-key",
        "xi-api-key",
        "x-amz-security-token",
        "x-auth-key",  # Cloudflare's legacy global API key (Workers AI), with its e-mail
        "x-auth-email",
    }
)
"""Headers that identify the caller to the provider; they enter the key only as a salted hash."""
CREDENTIAL_QUERY_PARAMS = frozenset({"key", "api_key", "api-key", "access_token"})
"""Query parameters that carry credentials (Google's ``?key=``): taken out of the path, hashed like headers."""

_VERSION = b"aigw-cache/1"
_CREDENTIAL_SALT = b"aigw-console cache credential fingerprint v1"


def cache_key(
    provider: str,
    method: str,
    upstream_path_and_query: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    share_across_credentials: bool = False,
) -> str:
    """The exact-match key (hex SHA-256) of one upstream request.

    Any byte of ``provider``, ``method`` (case-insensitive), path, query or ``body``, and any
    value of an :data:`ANSWER_HEADERS` header, changes the key; other headers do not. Header
    names are case-insensitive and their order does not matter. Credentials
    (:data:`CREDENTIAL_HEADERS`, :data:`CREDENTIAL_QUERY_PARAMS`) enter only as a salted hash,
    and not at all when ``share_across_credentials`` is set, in which case requests that differ
    only in their API key share one entry.
    """
    path, query_credentials = _split_credentials(upstream_path_and_query)
    answer_headers, header_credentials = _classify_headers(headers)
    digest = hashlib.sha256()
    for field in (_VERSION, b"request", _b(provider), _b(method.upper()), _b(path), body):
        _frame(digest, field)
    _frame(digest, str(len(answer_headers)).encode())
    for name, value in answer_headers:
        _frame(digest, _b(name))
        _frame(digest, _b(value))
    if share_across_credentials:
        _frame(digest, b"credentials:shared")
    else:
        _frame(digest, b"credentials:" + _fingerprint(query_credentials + header_credentials))
    return digest.hexdigest()


def custom_cache_key(account_id: str, gateway_id: str, value: str) -> str:
    """The key (hex SHA-256) for a ``cf-aig-cache-key: value`` request on one gateway.

    The body and headers do not enter it: the client named the entry itself. Never equal to a
    :func:`cache_key` result, and different for the same value on another gateway.
    """
    digest = hashlib.sha256()
    for field in (_VERSION, b"custom", _b(account_id), _b(gateway_id), _b(value)):
        _frame(digest, field)
    return digest.hexdigest()


def ttl_from_header(raw: str, header: str = "cf-aig-cache-ttl") -> int:
    """Seconds from a ``cf-aig-cache-ttl`` value: 0 (do not cache) or 60 … 2,592,000 (a month).

    Raises ``ValueError`` naming ``header`` (pass ``"cf-cache-ttl"`` for the legacy name) when
    the value is not a whole number in that range.
    """
    text = raw.strip()
    if not text.isascii() or not text.isdigit():
        raise ValueError(f"{header}: expected a whole number of seconds, 0 or {MIN_TTL} to {MAX_TTL}, got {raw!r}")
    value = int(text)
    if value != 0 and not MIN_TTL <= value <= MAX_TTL:
        raise ValueError(f"{header}: {value} is out of range (0 to disable, or {MIN_TTL} to {MAX_TTL} seconds)")
    return value


class _Digest(Protocol):
    def update(self, data: bytes, /) -> None: ...


def _b(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")  # lossless for any str a server may hand us


def _frame(digest: _Digest, data: bytes) -> None:
    """Feed one field, length first, so no two different records hash the same bytes."""
    digest.update(len(data).to_bytes(8, "big"))
    digest.update(data)


def _split_credentials(path_and_query: str) -> tuple[str, list[tuple[str, str]]]:
    """The path and query without credential parameters, and those parameters."""
    path, sep, query = path_and_query.partition("?")
    if not sep:
        return path, []
    kept: list[str] = []
    found: list[tuple[str, str]] = []
    for part in query.split("&"):
        name, _, value = part.partition("=")
        if unquote_plus(name).lower() in CREDENTIAL_QUERY_PARAMS:
            found.append(("?" + unquote_plus(name).lower(), value))
        else:
            kept.append(part)
    if not kept and found:  # "…?key=k" and "…" are the same request once the key is set aside
        return path, found
    return path + "?" + "&".join(kept), found


def _classify_headers(headers: Mapping[str, str]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The answer-changing headers, sorted by name, and the credential headers."""
    answer: list[tuple[str, str]] = []
    credentials: list[tuple[str, str]] = []
    for name, value in headers.items():
        lower = name.lower()
        if lower in CREDENTIAL_HEADERS:
            credentials.append((lower, value))
        elif lower in ANSWER_HEADERS or lower.startswith(ANSWER_HEADER_PREFIXES):
            answer.append((lower, value.strip()))
    answer.sort(key=lambda item: item[0])  # stable: repeated names keep their order
    return answer, credentials


def _fingerprint(credentials: list[tuple[str, str]]) -> bytes:
    """HMAC-SHA256 of the credentials (a fixed marker for an anonymous request), order-independent."""
    if not credentials:
        return b"none"
    mac = hmac.new(_CREDENTIAL_SALT, digestmod="sha256")
    for name, value in sorted(credentials):
        _frame(mac, _b(name))
        _frame(mac, _b(value))
    return mac.digest()
