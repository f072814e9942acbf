"""Management API handlers for gateways, logs, tokens, audit logs and analytics: thin — validate, call
a service, wrap the answer in the envelope (datasets and evaluations: :mod:`proxy_core.api.dataset_handlers`)."""

from __future__ import annotations

import ipaddress
import logging
import re

from aiohttp import web

from proxy_core.api.envelope import ApiCode, ApiError, ok, read_json
from proxy_core.api.requests import (
    actor_of, bool_param, gateway_id_of, int_param, log_filter_of, services_of, stream_jsonl,
)  # fmt: skip
from proxy_core.api.serialize import (
    audit_json,
    gateway_json,
    log_json,
    log_page_info,
    page_info,
    point_json,
    token_json,
)
from proxy_core.client.urls import gateway_url as build_gateway_url
from proxy_core.services import UNSET
from proxy_core.services.audit import AuditQuery
from proxy_core.services.types import GATEWAY_SETTINGS
from proxy_core.store.filters import iso_to_ms, parse_paging

__all__: list[str] = []

log = logging.getLogger(__name__)


# -- gateways ------------------------------------------------------------------------------------


async def list_gateways(request: web.Request) -> web.Response:
    page = int_param(request, "page", 1, 1, 1_000_000)
    per_page = int_param(request, "per_page", 20, 1, 100)
    result = await services_of(request).gateways.list(page=page, per_page=per_page, search=request.query.get("search"))
    return ok([gateway_json(g) for g in result.items], page_info(result))


async def create_gateway(request: web.Request) -> web.Response:
    body = await read_json(request)
    gateway_id = body.pop("id", None)
    if gateway_id is None:
        raise ApiError(400, ApiCode.INVALID, "id: required")
    settings = {k: v for k, v in body.items() if k in GATEWAY_SETTINGS or not _cloudflare_only(k)}
    gateway = await services_of(request).gateways.create(gateway_id, settings, actor_of(request))
    return ok(gateway_json(gateway))


_CLOUDFLARE_ONLY = {
    "byok_only", "dlp", "log_classification", "otel", "spend_limits", "store_id", "stripe",
    "workers_ai_billing_mode", "zdr", "is_default", "created_at", "modified_at",
}  # fmt: skip


def _cloudflare_only(key: str) -> bool:
    """Fields Cloudflare's SDK may send that have no meaning here: accepted and ignored."""
    return key in _CLOUDFLARE_ONLY


async def get_gateway(request: web.Request) -> web.Response:
    return ok(gateway_json(await services_of(request).gateways.get(gateway_id_of(request))))


async def update_gateway(request: web.Request) -> web.Response:
    body = await read_json(request)
    body.pop("id", None)
    changes = {k: v for k, v in body.items() if not _cloudflare_only(k)}
    gateway = await services_of(request).gateways.update(gateway_id_of(request), changes, actor_of(request))
    return ok(gateway_json(gateway))


async def delete_gateway(request: web.Request) -> web.Response:
    return ok(gateway_json(await services_of(request).gateways.delete(gateway_id_of(request), actor_of(request))))


_PROVIDER_PATH = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}(/[A-Za-z0-9][A-Za-z0-9._-]{0,254}){0,3}")
"""A provider segment, with the resource segments some take (``azure-openai/{resource}/{deployment}``)."""


async def gateway_url(request: web.Request) -> web.Response:
    """Cloudflare's ``urls.get``: the endpoint of a gateway for a provider, on the host the caller used
    (the proxy listens where the API does)."""
    provider = request.match_info["provider"]
    if not _PROVIDER_PATH.fullmatch(provider):
        raise ApiError(400, ApiCode.INVALID, f"provider: {provider!r} is not a provider path segment")
    services = services_of(request)
    gateway = await services.gateways.get(gateway_id_of(request))
    return ok(build_gateway_url(str(request.url.origin()), services.account_id, gateway.id, provider))


# -- logs ----------------------------------------------------------------------------------------


async def list_logs(request: web.Request) -> web.Response:
    services = services_of(request)
    gateway_id = gateway_id_of(request)
    await services.gateways.get(gateway_id)
    paging = parse_paging(request.query.items())
    log_filter = log_filter_of(request)
    page = await services.logs.list(gateway_id, log_filter, paging, count=False)
    summary = await services.logs.summary(gateway_id, log_filter)
    return ok([log_json(item) for item in page.items], log_page_info(page, summary))


async def delete_logs(request: web.Request) -> web.Response:
    services = services_of(request)
    gateway_id = gateway_id_of(request)
    await services.gateways.get(gateway_id)
    paging = parse_paging(request.query.items())
    deleted = await services.logs.delete(gateway_id, log_filter_of(request), limit=paging.limit, actor=actor_of(request))
    return ok({"deleted": deleted})


async def get_log(request: web.Request) -> web.Response:
    log = await services_of(request).logs.get(gateway_id_of(request), request.match_info["log_id"])
    return ok(log_json(log))


async def edit_log(request: web.Request) -> web.Response:
    body = await read_json(request)
    unknown = set(body) - {"feedback", "score", "metadata"}
    if unknown:
        raise ApiError(400, ApiCode.INVALID, f"unknown field {sorted(unknown)[0]!r} (feedback, score, metadata)")
    log = await services_of(request).logs.annotate(
        gateway_id_of(request),
        request.match_info["log_id"],
        feedback=body.get("feedback", UNSET) if "feedback" in body else UNSET,
        score=body["score"] if "score" in body else UNSET,
        metadata=body["metadata"] if "metadata" in body else UNSET,
    )
    return ok(log_json(log))


async def _body(request: web.Request, which: str) -> web.Response:
    detail = await services_of(request).logs.detail(gateway_id_of(request), request.match_info["log_id"])
    body = detail.request_body if which == "request" else detail.response_body
    if body is None:
        reason = "not collected" if not detail.log.body_stored else "too large to store" if detail.log.body_truncated else "empty"
        raise ApiError(404, ApiCode.NOT_FOUND, f"the {which} body of log '{detail.log.id}' is {reason}")
    content_type = detail.log.request_content_type if which == "request" else detail.log.response_content_type
    response = web.Response(body=body)
    response.headers["content-type"] = content_type or "application/octet-stream"
    return response


async def log_request(request: web.Request) -> web.Response:
    return await _body(request, "request")


async def log_response(request: web.Request) -> web.Response:
    return await _body(request, "response")


async def export_logs(request: web.Request) -> web.StreamResponse:
    services = services_of(request)
    gateway_id = gateway_id_of(request)
    await services.gateways.get(gateway_id)
    chunks = services.logs.export_jsonl(gateway_id, log_filter_of(request))
    return await stream_jsonl(request, chunks, f"{gateway_id}-logs.jsonl")


# -- tokens, audit, analytics --------------------------------------------------------------------


async def list_tokens(request: web.Request) -> web.Response:
    services = services_of(request)
    gateway_id = gateway_id_of(request)
    await services.gateways.get(gateway_id)
    tokens = await services.tokens.list(gateway_id)
    return ok([token_json(t) for t in tokens])


async def create_token(request: web.Request) -> web.Response:
    body = await read_json(request)
    created = await services_of(request).tokens.create(gateway_id_of(request), actor_of(request), name=body.get("name", ""))
    return ok({**token_json(created.info), "token": created.secret})


async def revoke_token(request: web.Request) -> web.Response:
    token = await services_of(request).tokens.revoke(
        gateway_id_of(request), request.match_info["token_id"], actor_of(request)
    )
    return ok(token_json(token))


def _actor_network(request: web.Request) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    raw = request.query.get("actor.ip")
    if not raw:
        return None
    try:
        return ipaddress.ip_network(raw, strict=False)
    except ValueError:
        raise ApiError(400, ApiCode.INVALID, f"actor.ip: {raw!r} is not an IP address or CIDR range") from None


def _audit_query(request: web.Request) -> AuditQuery:
    """Cloudflare's ``audit_logs`` parameters, as its SDK sends them (nested ones dotted)."""
    if bool_param(request, "export"):
        raise ApiError(400, ApiCode.INVALID, "export: CSV export is not offered; page through the JSON")
    direction = request.query.get("direction") or "desc"
    if direction not in ("desc", "asc"):
        raise ApiError(400, ApiCode.INVALID, "direction: expected desc or asc")
    return AuditQuery(
        id=request.query.get("id") or None,
        resource_id=request.query.get("resource_id") or None,
        action=request.query.get("action.type") or None,
        actor_ip=_actor_network(request),
        actor_email=request.query.get("actor.email") or None,
        zone=request.query.get("zone.name") or None,
        hide_user_logs=bool(bool_param(request, "hide_user_logs")),
        since=_optional_time(request, "since"),
        before=_optional_time(request, "before"),
        oldest_first=direction == "asc",
    )


async def list_audit_logs(request: web.Request) -> web.Response:
    services = services_of(request)
    page = await services.audit.list(
        _audit_query(request),
        page=int_param(request, "page", 1, 1, 1_000_000),
        per_page=int_param(request, "per_page", 50, 1, 1000),
    )
    return ok([audit_json(a, services.account_id) for a in page.items], page_info(page))


def _optional_time(request: web.Request, name: str) -> int | None:
    raw = request.query.get(name)
    if not raw:
        return None
    value = iso_to_ms(raw)
    if value is None:
        raise ApiError(400, ApiCode.INVALID, f"{name}: expected an ISO 8601 date-time")
    return value


def _time(request: web.Request, name: str, default: int) -> int:
    value = _optional_time(request, name)
    return default if value is None else value


async def analytics(request: web.Request) -> web.Response:
    services = services_of(request)
    gateway_id = gateway_id_of(request)
    await services.gateways.get(gateway_id)
    now = services.clock()
    end = _time(request, "end_date", now)
    start = _time(request, "start_date", end - 24 * 3_600_000)
    bucket = request.query.get("bucket", "hour")
    group_by = request.query.get("group_by") or None
    points = await services.analytics.series(gateway_id, start, end, bucket, group_by)  # type: ignore[arg-type]
    totals = await services.analytics.totals(gateway_id, start, end)
    return ok({"series": [point_json(p) for p in points], "totals": point_json(totals)})
