"""``cf-aig-*`` request headers → one immutable :class:`RequestPolicy`.

Parsed once per request, before anything else; a bad value is a 400 naming the header. The
gateway's own headers are consumed here and never forwarded upstream. A universal step's
``config`` object (:func:`parse_step_config`) sets the same retry and timeout fields, and its
errors name the step's config key instead.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping

import orjson

from proxy_core.cache.keys import ttl_from_header
from proxy_core.errors import ErrorCode, GatewayError

__all__ = [
    "RequestPolicy", "CustomCost", "parse_policy", "parse_step_config", "STEP_CONFIG_KEYS", "MAX_METADATA_ENTRIES",
    "DEFAULT_POLICY", "BACKOFFS",
]  # fmt: skip

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
    """What one request asks of the gateway, on top of the gateway's own settings.

    ``None`` means "not said here": the next level down (request, then gateway) decides.
    """

    metadata: Mapping[str, str | int | float | bool] | None = None
    """Up to five ``cf-aig-metadata`` entries (later ones dropped)."""
    collect_log: bool | None = None
    """``cf-aig-collect-log``; ``None`` means the gateway's ``collect_logs`` decides."""
    event_id: str | None = None
    """``cf-aig-event-id``: the client's id for this event, echoed and filterable."""
    custom_cost: CustomCost | None = None
    """``cf-aig-custom-cost``: prices overriding the pricing table for this request."""
    cache_ttl: int | None = None
    """``cf-aig-cache-ttl`` (legacy ``cf-cache-ttl``) in seconds; 0 = do not cache."""
    skip_cache: bool | None = None
    """``cf-aig-skip-cache`` (legacy ``cf-skip-cache``): neither read nor write the cache."""
    cache_key: str | None = None
    """``cf-aig-cache-key``: a custom key; cached even when gateway caching is off (5 min default)."""
    request_timeout_ms: int | None = None
    """``cf-aig-request-timeout``: milliseconds to the first byte of the answer."""
    max_attempts: int | None = None
    """``cf-aig-max-attempts`` (1–5)."""
    retry_delay_ms: int | None = None
    """``cf-aig-retry-delay`` (0–5000 ms)."""
    backoff: str | None = None
    """``cf-aig-backoff``: constant, linear or exponential."""

    def overlay(self, top: "RequestPolicy") -> "RequestPolicy":
        """This policy with every field that ``top`` sets taken from ``top`` (step > request)."""
        changes = {name: getattr(top, name) for name in self.__slots__ if getattr(top, name) is not None}
        return replace(self, **changes) if changes else self


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


BACKOFFS = ("constant", "linear", "exponential")


class _Invalid(ValueError):
    """A bad retry/timeout value; the caller names where it came from (header or config key)."""


def _whole(raw: str, low: int, high: int) -> int:
    text = raw.strip()
    if not text.isdigit():
        raise _Invalid(f"expected a whole number from {low} to {high}")
    value = int(text)
    if not low <= value <= high:
        raise _Invalid(f"{value} is out of range ({low}–{high})")
    return value


def _backoff(raw: str) -> str:
    backoff = raw.strip().lower()
    if backoff not in BACKOFFS:
        raise _Invalid("expected constant, linear or exponential")
    return backoff


# universal step config key → (header it stands for, RequestPolicy field, value parser)
_STEP_CONFIG: dict[str, tuple[str, str, Callable[[str], Any]]] = {
    "requestTimeout": ("cf-aig-request-timeout", "request_timeout_ms", lambda raw: _whole(raw, 1, 3_600_000)),
    "maxAttempts": ("cf-aig-max-attempts", "max_attempts", lambda raw: _whole(raw, 1, 5)),
    "retryDelay": ("cf-aig-retry-delay", "retry_delay_ms", lambda raw: _whole(raw, 0, 5000)),
    "backoff": ("cf-aig-backoff", "backoff", _backoff),
}
_RETRY_HEADERS = {header: (field, parse) for header, field, parse in _STEP_CONFIG.values()}
STEP_CONFIG_KEYS = tuple(_STEP_CONFIG)
"""The keys a universal step's ``config`` may set (the reference's names)."""


def parse_step_config(config: Mapping[str, Any], where: str) -> RequestPolicy:
    """A universal step's ``config`` (``requestTimeout``, ``maxAttempts``, ``retryDelay``,
    ``backoff``); a bad entry is a 400 naming ``{where}.config.{key}``, e.g. ``steps[0].config.requestTimeout``."""
    fields: dict[str, Any] = {}
    for key, value in config.items():
        known = _STEP_CONFIG.get(key)
        if known is None:
            raise GatewayError(
                ErrorCode.BAD_REQUEST, f"{where}.config: unknown key '{key}' (expected {', '.join(STEP_CONFIG_KEYS)})"
            )
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise GatewayError(ErrorCode.BAD_REQUEST, f"{where}.config.{key}: must be a number or string")
        _, field, parse = known
        try:
            fields[field] = parse(str(value))
        except _Invalid as exc:
            raise GatewayError(ErrorCode.BAD_REQUEST, f"{where}.config.{key}: {exc}") from None
    return RequestPolicy(**fields) if fields else DEFAULT_POLICY


def _cache_ttl(header: str, raw: str) -> int:
    try:
        return ttl_from_header(raw, header)
    except ValueError as exc:
        raise GatewayError(ErrorCode.BAD_HEADER, f"Invalid {exc}") from None


def parse_policy(headers: Mapping[str, str]) -> RequestPolicy:
    """Read the ``cf-aig-*`` (and legacy ``cf-*-cache``) headers of one request.

    ``headers`` may be any mapping (a request's CIMultiDict, a universal step's ``headers``);
    names are matched case-insensitively. A bad value raises ``GatewayError`` naming the header.
    """
    found: dict[str, str] = {}
    for name, value in headers.items():
        if name[:3].lower() == "cf-":
            found[name.lower()] = value if isinstance(value, str) else str(value)
    if not found:
        return DEFAULT_POLICY
    fields: dict[str, Any] = {}
    for name, raw in found.items():
        if name == "cf-aig-metadata":
            fields["metadata"] = _metadata(raw)
        elif name == "cf-aig-collect-log":
            fields["collect_log"] = _boolean(name, raw)
        elif name == "cf-aig-event-id":
            if len(raw) > 256 or not raw.isprintable():
                raise _bad(name, "must be printable and at most 256 characters")
            fields["event_id"] = raw or None
        elif name == "cf-aig-custom-cost":
            fields["custom_cost"] = _custom_cost(raw)
        elif name in ("cf-aig-cache-ttl", "cf-cache-ttl"):
            fields["cache_ttl"] = _cache_ttl(name, raw)
        elif name in ("cf-aig-skip-cache", "cf-skip-cache"):
            fields["skip_cache"] = _boolean(name, raw)
        elif name == "cf-aig-cache-key":
            if not raw or len(raw) > 1024 or not raw.isprintable():
                raise _bad(name, "must be 1 to 1024 printable characters")
            fields["cache_key"] = raw
        elif name in _RETRY_HEADERS:
            field, parse = _RETRY_HEADERS[name]
            try:
                fields[field] = parse(raw)
            except _Invalid as exc:
                raise _bad(name, str(exc)) from None
    return RequestPolicy(**fields) if fields else DEFAULT_POLICY
