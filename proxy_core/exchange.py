"""What the request path records about one exchange, before any of it is parsed or stored.

The proxy fills an :class:`Exchange` with raw facts (bytes, header lists, timings) and hands it
to the log pipeline after the client has its answer; parsing usage, pricing and redaction happen
there, off the response path.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from proxy_core.policy import RequestPolicy
from proxy_core.providers.base import ProviderFamily

__all__ = ["Exchange"]


@dataclass(slots=True)
class Exchange:
    id: str
    account_id: str
    gateway_id: str
    started_ms: int
    provider: str
    family: ProviderFamily | None
    path: str
    """The provider path with ``key=`` credentials already redacted from its query."""
    method: str
    request_type: str
    policy: RequestPolicy
    collect_bodies: bool
    collect_log: bool = True
    """``False`` (``cf-aig-collect-log: false`` or the gateway's ``collect_logs`` off): no log row
    is stored; the exchange is only counted in the analytics rollups."""
    request_headers: list[tuple[str, str]] = field(default_factory=list)
    request_body: bytes = b""
    status_code: int = 0
    error_code: int | None = None
    error: str | None = None
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    response_body: bytes | None = None
    response_truncated: bool = False
    unread_reason: str | None = None
    """Why the gateway could not read the response's content (over the decoding cap, corrupt, a
    coding it does not decode); the client still got the bytes. ``None`` when it was read."""
    streamed: bool = False
    cached: bool = False
    step: int = 0
    ttfb_ms: int | None = None
    duration_ms: int = 0
    response_size: int = 0
    guardrails: dict[str, Any] | None = None

    def ended(self, started: float) -> Exchange:
        """This exchange, its duration measured from ``started`` (``time.perf_counter()``), ready
        for the log pipe."""
        self.duration_ms = int((time.perf_counter() - started) * 1000)
        return self

    @property
    def weight(self) -> int:
        """Bytes this exchange holds in memory while it waits for the store."""
        return 512 + len(self.request_body) + (len(self.response_body) if self.response_body else 0)
