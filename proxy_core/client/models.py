"""Typed results: a log as the management API returns it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, Mapping

__all__ = ["GatewayLog"]


@dataclass(frozen=True, slots=True)
class GatewayLog:
    """One request's log, what the reference's ``getLog`` returns (bodies are not included).

    Fields a newer gateway adds are kept in :attr:`raw`, so an older client still reads them.
    """

    id: str
    created_at: datetime
    provider: str
    model: str
    model_type: str
    path: str
    request_type: str
    status_code: int
    success: bool
    cached: bool
    step: int
    duration: int
    """Milliseconds from request to the end of the answer."""
    gateway_id: str | None = None
    event_id: str | None = None
    ttfb: int | None = None
    """Milliseconds to the first byte of the answer."""
    tokens_in: int | None = None
    tokens_out: int | None = None
    cost: float | None = None
    custom_cost: bool = False
    metadata: dict[str, Any] | None = None
    feedback: int = 0
    """-1 thumbs down, 0 none, 1 thumbs up."""
    score: int | None = None
    """0–100, or ``None`` when not scored."""
    error: str | None = None
    error_code: int | None = None
    guardrails: dict[str, Any] | None = None
    request_content_type: str | None = None
    response_content_type: str | None = None
    request_size: int | None = None
    response_size: int | None = None
    streamed: bool = False
    body_stored: bool = False
    body_truncated: bool = False
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    """The log object exactly as the API sent it."""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> GatewayLog:
        values = {name: data[name] for name in _FIELDS if name in data and data[name] is not None}
        values["created_at"] = datetime.fromisoformat(data["created_at"])
        metadata = data.get("metadata")
        # The API sends metadata as a JSON string, as Cloudflare's does.
        values["metadata"] = json.loads(metadata) if isinstance(metadata, str) else metadata
        return cls(**values, raw=dict(data))


_FIELDS = tuple(f.name for f in fields(GatewayLog) if f.name != "raw")
