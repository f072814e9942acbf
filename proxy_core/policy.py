"""``cf-aig-*`` request headers → one immutable :class:`RequestPolicy`.

Parsed once per request, before anything else; a bad value is a 400 naming the header. The
gateway's own headers are consumed here and never forwarded upstream.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import orjson

from proxy_core.errors import ErrorCode, GatewayError

__all__ = ["RequestPolicy", "CustomCost", "parse_policy", "MAX_METADATA_ENTRIES"]

MAX_METADATA_ENTRIES = 5
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


@dataclass(frozen=True, slots=True)
class CustomCost:
    """Per-token prices from ``cf-aig-custom-cost`` (USD per token)."""

    per_token_in: float
    per_token_out: float


@dataclass(frozen=True, slots=True)
class RequestPolicy:
    """What one request asks of the gateway, on top of the gateway's own settings."""

    metadata: Mapping[str, str | int | float | bool] | None = None
    """Up to five ``cf-aig-metadata`` entries (later ones dropped)."""
    collect_log: bool | None = None
    """``cf-aig-collect-log``; ``None`` means the gateway's ``collect_logs`` decides."""
    event_id: str | None = None
    """``cf-aig-event-id``: the client's id for this event, echoed and filterable."""
    custom_cost: CustomCost | None = None
    """``cf-aig-custom-cost``: prices overriding the pricing table for this request."""


DEFAULT_POLICY = RequestPolicy()


def _bad(header: str, why: str) -> GatewayError:
    return GatewayError(ErrorCode.BAD_HEADER, f"Invalid {header} header: {why}")


def _metadata(raw: str) -> dict[str, str | int | float | bool]:
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise _bad("cf-aig-metadata", "not valid JSON") from None
    if not isinstance(value, dict):
        raise _bad("cf-aig-metadata", "must be a JSON object")
    out: dict[str, str | int | float | bool] = {}
    for key, item in value.items():
        if not isinstance(item, (str, int, float, bool)) or item is None:
            raise _bad("cf-aig-metadata", f"value of '{key}' must be a string, number or boolean")
        if len(out) < MAX_METADATA_ENTRIES:
            out[key] = item
    return out


def _boolean(header: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise _bad(header, "expected true or false")


def _custom_cost(raw: str) -> CustomCost:
    try:
        value: Any = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise _bad("cf-aig-custom-cost", "not valid JSON") from None
    if not isinstance(value, dict):
        raise _bad("cf-aig-custom-cost", 'expected {"per_token_in": x, "per_token_out": y}')
    prices = {}
    for key in ("per_token_in", "per_token_out"):
        price = value.get(key, 0)
        if isinstance(price, bool) or not isinstance(price, (int, float)) or price < 0:
            raise _bad("cf-aig-custom-cost", f"{key} must be a non-negative number")
        prices[key] = float(price)
    if "per_token_in" not in value and "per_token_out" not in value:
        raise _bad("cf-aig-custom-cost", "needs per_token_in and/or per_token_out")
    return CustomCost(prices["per_token_in"], prices["per_token_out"])


def parse_policy(headers: Mapping[str, str]) -> RequestPolicy:
    """Read the ``cf-aig-*`` headers of one request (case-insensitive ``headers``)."""
    metadata_raw = headers.get("cf-aig-metadata")
    collect_raw = headers.get("cf-aig-collect-log")
    event_id = headers.get("cf-aig-event-id")
    cost_raw = headers.get("cf-aig-custom-cost")
    if metadata_raw is None and collect_raw is None and event_id is None and cost_raw is None:
        return DEFAULT_POLICY
    if event_id is not None and (len(event_id) > 256 or not event_id.isprintable()):
        raise _bad("cf-aig-event-id", "must be printable and at most 256 characters")
    return RequestPolicy(
        metadata=_metadata(metadata_raw) if metadata_raw is not None else None,
        collect_log=_boolean("cf-aig-collect-log", collect_raw) if collect_raw is not None else None,
        event_id=event_id or None,
        custom_cost=_custom_cost(cost_raw) if cost_raw is not None else None,
    )
