"""The universal endpoint's request: an object, or an array of fallbacks, each a :class:`Step`.

Each item names a ``provider`` and its ``endpoint`` (path and query), with the ``query`` (body),
``headers`` (the provider's own, plus ``cf-aig-*`` policy headers of the step) and ``config``
(``requestTimeout``, ``maxAttempts``, ``retryDelay``, ``backoff``). ``provider: "compat"`` is the
OpenAI-compatible endpoint as a step. The same parsing serves ``POST /v1/{account}/{gateway}``
and the WebSocket API's ``universal.create``.
"""

from __future__ import annotations

from typing import Any

import orjson

from proxy_core.compat import CompatError
from proxy_core.compat_endpoint import build_compat_request
from proxy_core.errors import ErrorCode, GatewayError
from proxy_core.policy import DEFAULT_POLICY, RequestPolicy, parse_policy, parse_step_config
from proxy_core.providers.registry import ProviderRegistry
from proxy_core.safepath import check_path
from proxy_core.step import Step, forward_headers

__all__ = ["MAX_STEPS", "parse_body", "parse_steps"]

MAX_STEPS = 16


def parse_body(body: bytes) -> Any:
    """The JSON of a universal request's body."""
    try:
        return orjson.loads(body) if body else None
    except orjson.JSONDecodeError as exc:
        raise GatewayError(ErrorCode.MALFORMED_JSON, f"Universal request body is not valid JSON: {exc}") from None


def parse_steps(registry: ProviderRegistry, account_id: str, payload: Any, policy: RequestPolicy) -> list[Step]:
    """The steps of a universal request, each with the request's ``policy`` under its own."""
    items = payload if isinstance(payload, list) else [payload]
    if not items or not all(isinstance(item, dict) for item in items):
        raise GatewayError(ErrorCode.BAD_REQUEST, "Universal request: expected an object or a non-empty array of objects")
    if len(items) > MAX_STEPS:
        raise GatewayError(ErrorCode.BAD_REQUEST, f"Universal request: at most {MAX_STEPS} steps")
    return [_step(registry, account_id, policy, index, item) for index, item in enumerate(items)]


def _step(registry: ProviderRegistry, account_id: str, policy: RequestPolicy, index: int, item: dict[str, Any]) -> Step:
    where = f"steps[{index}]"
    provider, endpoint = item.get("provider"), item.get("endpoint")
    if not isinstance(provider, str) or not provider:
        raise GatewayError(ErrorCode.BAD_REQUEST, f"{where}: 'provider' must be a provider name")
    if not isinstance(endpoint, str):
        raise GatewayError(ErrorCode.BAD_REQUEST, f"{where}: 'endpoint' must be the provider's path")
    headers = item.get("headers") or {}
    if not isinstance(headers, dict) or not all(isinstance(v, (str, int, float)) for v in headers.values()):
        raise GatewayError(ErrorCode.BAD_REQUEST, f"{where}: 'headers' must be an object of strings")
    headers = {str(k): str(v) for k, v in headers.items()}
    if isinstance(item.get("authorization"), str) and not any(k.lower() == "authorization" for k in headers):
        headers["Authorization"] = item["authorization"]
    step_policy = policy.overlay(parse_policy(headers).overlay(_config_policy(item.get("config"), where)))
    payload = item.get("query")
    body = b"" if payload is None else orjson.dumps(payload)
    if provider == "compat":  # the step POST …/compat/chat/completions sends, answered in OpenAI's format
        if endpoint.strip("/") != "chat/completions":
            raise GatewayError(ErrorCode.NOT_FOUND, f"{where}: provider 'compat' serves only 'chat/completions'")
        try:
            compat = build_compat_request(registry, account_id, body, headers)
        except CompatError as exc:
            raise GatewayError(ErrorCode.BAD_REQUEST, f"{where}: {exc.message}") from None
        except GatewayError as err:
            raise GatewayError(err.code, f"{where}: {err.message}") from None
        return Step(index, compat.provider, compat.resolved, compat.query, "POST", compat.body,
                    forward_headers(compat.headers), step_policy, reply=compat.reply)  # fmt: skip
    path, _, query = endpoint.lstrip("/").partition("?")
    raw_path = "/" + path
    check_path(raw_path)
    resolved = registry.resolve(provider, raw_path, account_id=account_id)
    forward = forward_headers(headers)
    if body and not any(k.lower() == "content-type" for k in forward):
        forward["Content-Type"] = "application/json"
    return Step(index, provider, resolved, query, "POST", body, forward, step_policy)


def _config_policy(config: Any, where: str) -> RequestPolicy:
    if config is None:
        return DEFAULT_POLICY
    if not isinstance(config, dict):
        raise GatewayError(ErrorCode.BAD_REQUEST, f"{where}: 'config' must be an object")
    return parse_step_config(config, where)
