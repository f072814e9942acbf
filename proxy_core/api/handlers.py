"""Management API handlers: thin — validate, call a service, wrap the answer in the envelope."""

from __future__ import annotations

import ipaddress
import logging
import re
from typing import Any

from aiohttp import web

from proxy_core.api.envelope import ApiCode, ApiError, ok, read_json
from proxy_core.api.serialize import (
    audit_json,
    dataset_json,
    evaluation_json,
    evaluation_type_json,
    gateway_json,
    log_json,
    log_page_info,
    page_info,
    point_json,
    token_json,
)
from proxy_core.client.urls import gateway_url as build_gateway_url
from proxy_core.services import UNSET, Actor, Services
from proxy_core.services.audit import AuditQuery
from proxy_core.services.types import GATEWAY_SETTINGS
from proxy_core.store.filters import LogFilter, iso_to_ms, parse_json, parse_paging, parse_query

__all__ = ["SERVICES"]

log = logging.getLogger(__name__)

SERVICES = web.AppKey("services", Services)
API_ACTOR_NAME = "admin-token"
"""Who the audit log says changed something through the API: every caller holds the one admin token."""


def _services(request: web.Request) -> Services:
    return request.app[SERVICES]


def _actor(request: web.Request) -> Actor:
    return Actor(API_ACTOR_NAME, "API", ip=request.remote)


def _gateway_id(request: web.Request) -> str:
    return request.match_info["gateway_id"]


def _int_param(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, ApiCode.INVALID, f"{name}: expected an integer") from None
    if not low <= value <= high:
        raise ApiError(400, ApiCode.INVALID, f"{name}: must be between {low} and {high}")
    return value


def _bool_param(request: web.Request, name: str) -> bool | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    if raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    raise ApiError(400, ApiCode.INVALID, f"{name}: expected true or false")


# -- gateways ------------------------------------------------------------------------------------


async def list_gateways(request: web.Request) -> web.Response:
    page = _int_param(request, "page", 1, 1, 1_000_000)
    per_page = _int_param(request, "per_page", 20, 1, 100)
    result = await _services(request).gateways.list(page=page, per_page=per_page, search=request.query.get("search"))
    return ok([gateway_json(g) for g in result.items], page_info(result))


async def create_gateway(request: web.Request) -> web.Response:
    body = await read_json(request)
    gateway_id = body.pop("id", None)
    if gateway_id is None:
        raise ApiError(400, ApiCode.INVALID, "id: required")
    settings = {k: v for k, v in body.items() if k in GATEWAY_SETTINGS or not _cloudflare_only(k)}
    gateway = await _services(request).gateways.create(gateway_id, settings, _actor(request))
    return ok(gateway_json(gateway))


_CLOUDFLARE_ONLY = {
    "byok_only", "dlp", "log_classification", "otel", "spend_limits", "store_id", "stripe",
    "workers_ai_billing_mode", "zdr", "is_default", "created_at", "modified_at",
}  # fmt: skip


def _cloudflare_only(key: str) -> bool:
    """Fields Cloudflare's SDK may send that have no meaning here: accepted and ignored."""
    return key in _CLOUDFLARE_ONLY


async def get_gateway(request: web.Request) -> web.Response:
    return ok(gateway_json(await _services(request).gateways.get(_gateway_id(request))))


async def update_gateway(request: web.Request) -> web.Response:
    body = await read_json(request)
    body.pop("id", None)
    changes = {k: v for k, v in body.items() if not _cloudflare_only(k)}
    gateway = await _services(request).gateways.update(_gateway_id(request), changes, _actor(request))
    return ok(gateway_json(gateway))


async def delete_gateway(request: web.Request) -> web.Response:
    return ok(gateway_json(await _services(request).gateways.delete(_gateway_id(request), _actor(request))))


_PROVIDER_PATH = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}(/[A-Za-z0-9][A-Za-z0-9._-]{0,254}){0,3}")
"""A provider segment, with the resource segments some take (``azure-openai/{resource}/{deployment}``)."""


async def gateway_url(request: web.Request) -> web.Response:
    """Cloudflare's ``urls.get``: the endpoint of a gateway for a provider, on the host the caller used
    (the proxy listens where the API does)."""
    provider = request.match_info["provider"]
    if not _PROVIDER_PATH.fullmatch(provider):
        raise ApiError(400, ApiCode.INVALID, f"provider: {provider!r} is not a provider path segment")
    services = _services(request)
    gateway = await services.gateways.get(_gateway_id(request))
    return ok(build_gateway_url(str(request.url.origin()), services.account_id, gateway.id, provider))


# -- logs ----------------------------------------------------------------------------------------


def _log_filter(request: web.Request) -> LogFilter:
    return parse_query(request.query.items())


async def list_logs(request: web.Request) -> web.Response:
    services = _services(request)
    gateway_id = _gateway_id(request)
    await services.gateways.get(gateway_id)
    paging = parse_paging(request.query.items())
    log_filter = _log_filter(request)
    page = await services.logs.list(gateway_id, log_filter, paging, count=False)
    summary = await services.logs.summary(gateway_id, log_filter)
    return ok([log_json(item) for item in page.items], log_page_info(page, summary))


async def delete_logs(request: web.Request) -> web.Response:
    services = _services(request)
    gateway_id = _gateway_id(request)
    await services.gateways.get(gateway_id)
    paging = parse_paging(request.query.items())
    deleted = await services.logs.delete(gateway_id, _log_filter(request), limit=paging.limit)
    return ok({"deleted": deleted})


async def get_log(request: web.Request) -> web.Response:
    log = await _services(request).logs.get(_gateway_id(request), request.match_info["log_id"])
    return ok(log_json(log))


async def edit_log(request: web.Request) -> web.Response:
    body = await read_json(request)
    unknown = set(body) - {"feedback", "score", "metadata"}
    if unknown:
        raise ApiError(400, ApiCode.INVALID, f"unknown field {sorted(unknown)[0]!r} (feedback, score, metadata)")
    log = await _services(request).logs.annotate(
        _gateway_id(request),
        request.match_info["log_id"],
        feedback=body.get("feedback", UNSET) if "feedback" in body else UNSET,
        score=body["score"] if "score" in body else UNSET,
        metadata=body["metadata"] if "metadata" in body else UNSET,
    )
    return ok(log_json(log))


async def _body(request: web.Request, which: str) -> web.Response:
    detail = await _services(request).logs.detail(_gateway_id(request), request.match_info["log_id"])
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


async def _stream_jsonl(request: web.Request, chunks: Any, filename: str) -> web.StreamResponse:
    response = web.StreamResponse(
        headers={"content-type": "application/x-ndjson", "content-disposition": f'attachment; filename="{filename}"'}
    )
    await response.prepare(request)
    batch: list[bytes] = []
    try:
        async for line in chunks:
            batch.append(line)
            if len(batch) >= 200:
                await response.write(b"".join(batch))
                batch.clear()
        if batch:
            await response.write(b"".join(batch))
    except ConnectionError:
        return response  # the client went away
    except Exception:
        # The status line is sent: cutting the connection is the only honest way to say the
        # export is incomplete.
        log.exception("export failed after it started")
        if request.transport is not None:
            request.transport.abort()
        return response
    await response.write_eof()
    return response


async def export_logs(request: web.Request) -> web.StreamResponse:
    services = _services(request)
    gateway_id = _gateway_id(request)
    await services.gateways.get(gateway_id)
    chunks = services.logs.export_jsonl(gateway_id, _log_filter(request))
    return await _stream_jsonl(request, chunks, f"{gateway_id}-logs.jsonl")


# -- datasets ------------------------------------------------------------------------------------


async def list_datasets(request: web.Request) -> web.Response:
    services = _services(request)
    page = await services.datasets.list(
        _gateway_id(request),
        page=_int_param(request, "page", 1, 1, 1_000_000),
        per_page=_int_param(request, "per_page", 20, 1, 100),
        search=request.query.get("search") or request.query.get("name"),
        enable=_bool_param(request, "enable"),
    )
    return ok([dataset_json(d, services.account_id) for d in page.items], page_info(page))


def _dataset_filter(body: dict[str, Any]) -> LogFilter:
    filters = body.get("filters")
    if filters is None:
        raise ApiError(400, ApiCode.INVALID, "filters: required (use [] for every log)")
    log_filter = parse_json(filters)
    if body.get("search"):
        log_filter = log_filter.combine(LogFilter(search=body["search"]))
    return log_filter


async def create_dataset(request: web.Request) -> web.Response:
    body = await read_json(request)
    services = _services(request)
    dataset = await services.datasets.create(
        _gateway_id(request), body.get("name"), _dataset_filter(body), _actor(request),
        enable=body.get("enable", True),
    )
    return ok(dataset_json(dataset, services.account_id))


async def get_dataset(request: web.Request) -> web.Response:
    services = _services(request)
    dataset = await services.datasets.get(_gateway_id(request), request.match_info["dataset_id"])
    return ok(dataset_json(dataset, services.account_id))


async def update_dataset(request: web.Request) -> web.Response:
    body = await read_json(request)
    services = _services(request)
    dataset = await services.datasets.update(
        _gateway_id(request),
        request.match_info["dataset_id"],
        _actor(request),
        name=body.get("name"),
        filters=_dataset_filter(body) if "filters" in body else None,
        enable=body.get("enable"),
    )
    return ok(dataset_json(dataset, services.account_id))


async def delete_dataset(request: web.Request) -> web.Response:
    services = _services(request)
    dataset = await services.datasets.delete(
        _gateway_id(request), request.match_info["dataset_id"], _actor(request)
    )
    return ok(dataset_json(dataset, services.account_id))


async def dataset_logs(request: web.Request) -> web.Response:
    services = _services(request)
    gateway_id = _gateway_id(request)
    dataset = await services.datasets.get(gateway_id, request.match_info["dataset_id"])
    paging = parse_paging(request.query.items())
    page = await services.logs.list(gateway_id, dataset.filter.combine(_log_filter(request)), paging)
    return ok([log_json(item) for item in page.items], page_info(page))


async def export_dataset(request: web.Request) -> web.StreamResponse:
    services = _services(request)
    gateway_id = _gateway_id(request)
    dataset = await services.datasets.get(gateway_id, request.match_info["dataset_id"])
    chunks = services.logs.export_jsonl(gateway_id, dataset.filter)
    return await _stream_jsonl(request, chunks, f"{dataset.name}.jsonl")


# -- evaluations ---------------------------------------------------------------------------------


async def list_evaluation_types(request: web.Request) -> web.Response:
    types = _services(request).evaluations.types()
    page = _int_param(request, "page", 1, 1, 1_000_000)
    per_page = _int_param(request, "per_page", 20, 1, 100)
    items = types[(page - 1) * per_page : page * per_page]
    info = {"page": page, "per_page": per_page, "count": len(items), "total_count": len(types)}
    return ok([evaluation_type_json(t) for t in items], info)


async def list_evaluations(request: web.Request) -> web.Response:
    services = _services(request)
    page = await services.evaluations.list(
        _gateway_id(request),
        page=_int_param(request, "page", 1, 1, 1_000_000),
        per_page=_int_param(request, "per_page", 20, 1, 100),
        search=request.query.get("search") or request.query.get("name"),
        processed=_bool_param(request, "processed"),
    )
    return ok([evaluation_json(e, services.account_id) for e in page.items], page_info(page))


async def create_evaluation(request: web.Request) -> web.Response:
    body = await read_json(request)
    services = _services(request)
    evaluation = await services.evaluations.create(
        _gateway_id(request), body.get("name"), body.get("dataset_ids"), body.get("evaluation_type_ids"),
        _actor(request),
    )
    return ok(evaluation_json(evaluation, services.account_id))


async def get_evaluation(request: web.Request) -> web.Response:
    services = _services(request)
    evaluation = await services.evaluations.get(_gateway_id(request), request.match_info["evaluation_id"])
    return ok(evaluation_json(evaluation, services.account_id))


async def delete_evaluation(request: web.Request) -> web.Response:
    services = _services(request)
    evaluation = await services.evaluations.delete(
        _gateway_id(request), request.match_info["evaluation_id"], _actor(request)
    )
    return ok(evaluation_json(evaluation, services.account_id))


# -- tokens, audit, analytics --------------------------------------------------------------------


async def list_tokens(request: web.Request) -> web.Response:
    services = _services(request)
    gateway_id = _gateway_id(request)
    await services.gateways.get(gateway_id)
    tokens = await services.tokens.list(gateway_id)
    return ok([token_json(t) for t in tokens])


async def create_token(request: web.Request) -> web.Response:
    body = await read_json(request)
    created = await _services(request).tokens.create(_gateway_id(request), _actor(request), name=body.get("name", ""))
    return ok({**token_json(created.info), "token": created.secret})


async def revoke_token(request: web.Request) -> web.Response:
    token = await _services(request).tokens.revoke(
        _gateway_id(request), request.match_info["token_id"], _actor(request)
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
    if _bool_param(request, "export"):
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
        hide_user_logs=bool(_bool_param(request, "hide_user_logs")),
        since=_optional_time(request, "since"),
        before=_optional_time(request, "before"),
        oldest_first=direction == "asc",
    )


async def list_audit_logs(request: web.Request) -> web.Response:
    services = _services(request)
    page = await services.audit.list(
        _audit_query(request),
        page=_int_param(request, "page", 1, 1, 1_000_000),
        per_page=_int_param(request, "per_page", 50, 1, 1000),
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
    services = _services(request)
    gateway_id = _gateway_id(request)
    await services.gateways.get(gateway_id)
    now = services.clock()
    end = _time(request, "end_date", now)
    start = _time(request, "start_date", end - 24 * 3_600_000)
    bucket = request.query.get("bucket", "hour")
    group_by = request.query.get("group_by") or None
    points = await services.analytics.series(gateway_id, start, end, bucket, group_by)  # type: ignore[arg-type]
    totals = await services.analytics.totals(gateway_id, start, end)
    return ok({"series": [point_json(p) for p in points], "totals": point_json(totals)})
