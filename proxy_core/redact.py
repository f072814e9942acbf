"""Redaction of secrets from headers and URLs, for every place a log can go.

The client's credentials are forwarded upstream unchanged, but never stored, printed or exported:
the store, stdout, error messages and exports all see :func:`redact_headers` output.
"""

from __future__ import annotations

import re
from typing import Iterable, Mapping

__all__ = ["SECRET_HEADERS", "REDACTED", "redact_headers", "redact_query", "is_secret_header"]

REDACTED = "[REDACTED]"

SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cf-aig-authorization",
        "x-api-key",
        "api-key",
        "x-goog-api-key",
        "xi-api-key",
        "cookie",
        "set-cookie",
        "x-amz-security-token",
        "x-auth-token",
        "x-auth-key",  # Cloudflare's legacy global API key, accepted by Workers AI
    }
)

_KEY_PARAM = re.compile(r"(?i)(^|[?&])(key|api_key|api-key|access_token)=[^&#]*")


def is_secret_header(name: str) -> bool:
    return name.lower() in SECRET_HEADERS


def redact_headers(headers: Iterable[tuple[str, str]] | Mapping[str, str]) -> dict[str, str]:
    """Headers as a plain dict (lower-case names), secret values replaced by ``[REDACTED]``."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    out: dict[str, str] = {}
    for name, value in items:
        lower = name.lower()
        out[lower] = REDACTED if lower in SECRET_HEADERS else value
    return out


def redact_query(query: str) -> str:
    """A query string with ``key=…`` style credentials (Google's ``?key=``) replaced."""
    if not query:
        return query
    return _KEY_PARAM.sub(lambda m: f"{m.group(1)}{m.group(2)}={REDACTED}", query)
