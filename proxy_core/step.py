"""A step: one upstream target of a request, with the body and headers to send it.

A provider passthrough or a compat request is one step; the universal endpoint (HTTP or
WebSocket) is a list of steps tried in order (:mod:`proxy_core.universal`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from proxy_core.compat_endpoint import CompatReply
from proxy_core.policy import RequestPolicy
from proxy_core.providers.registry import ResolvedProvider
from proxy_core.redact import redact_query
from proxy_core.relay import HOP_BY_HOP

__all__ = ["Step", "forward_headers"]

_STRIP_REQUEST = HOP_BY_HOP | {"host", "content-length", "expect", "cf-cache-ttl", "cf-skip-cache"}
"""Request headers not forwarded. ``Accept-Encoding`` is: the provider compresses only when the
client asked, and the answer goes back still compressed (the gateway adds none of its own)."""


def forward_headers(headers: Any) -> dict[str, str]:
    """The client's headers as sent upstream: no hop-by-hop, no ``cf-aig-*`` (the gateway's own)."""
    out: dict[str, str] = {}
    for name, value in headers.items():
        lower = name.lower()
        if lower in _STRIP_REQUEST or lower.startswith("cf-aig-"):
            continue
        out[name] = value
    return out


@dataclass(slots=True)
class Step:
    """One upstream target: a provider, its resolved base and path, the body and headers to send."""

    index: int
    provider: str
    resolved: ResolvedProvider
    query: str
    method: str
    body: bytes
    headers: dict[str, str]
    policy: RequestPolicy
    reply: CompatReply | None = None
    """Set for the OpenAI-compatible endpoint: answers are translated back to OpenAI's format."""

    @property
    def url(self) -> str:
        return self.resolved.upstream_base + self.resolved.path + ("?" + self.query if self.query else "")

    @property
    def logged_path(self) -> str:
        return self.resolved.path + ("?" + redact_query(self.query) if self.query else "")
