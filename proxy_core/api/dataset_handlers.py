"""Management API handlers for datasets and evaluations: thin — validate, call a service, wrap the
answer in the envelope."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from proxy_core.api.envelope import ApiCode, ApiError, ok, read_json
from proxy_core.api.requests import actor_of, bool_param, gateway_id_of, int_param, log_filter_of, services_of
from proxy_core.api.requests import stream_jsonl
from proxy_core.api.serialize import dataset_json, evaluation_json, evaluation_type_json, log_json, page_info
from proxy_core.store.filters import FilterError, LogFilter, iso_to_ms, parse_json, parse_paging


# -- datasets ------------------------------------------------------------------------------------


async def list_datasets(request: web.Request) -> web.Response:
    services = services_of(request)
    page = await services.datasets.list(
        gateway_id_of(request),
        page=int_param(request, "page", 1, 1, 1_000_000),
        per_page=int_param(request, "per_page", 20, 1, 100),
        search=request.query.get("search") or request.query.get("name"),
        enable=bool_param(request, "enable"),
    )
    return ok([dataset_json(d, services.account_id) for d in page.items], page_info(page))


def _dataset_filter(body: dict[str, Any]) -> LogFilter:
    filters = body.get("filters")
    if filters is None:
        raise ApiError(400, ApiCode.INVALID, "filters: required (use [] for every log)")
    log_filter = parse_json(filters)
    if body.get("search"):
        log_filter = log_filter.combine(LogFilter(search=body["search"]))
    bounds = {name: _time_bound(body, name) for name in ("since", "until")}
    if any(ms is not None for ms in bounds.values()):
        try:
            log_filter = log_filter.combine(LogFilter(start_ms=bounds["since"], end_ms=bounds["until"]))
        except FilterError as exc:
            raise ApiError(400, ApiCode.INVALID, f"since/until: {exc}") from None
    return log_filter


def _time_bound(body: dict[str, Any], name: str) -> int | None:
    """``since`` / ``until`` of a dataset (our extension beside Cloudflare's ``filters``): an ISO
    8601 time or Unix milliseconds, as the dataset object shows them; absent or null: no bound."""
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and (ms := iso_to_ms(value)) is not None:
        return ms
    raise ApiError(400, ApiCode.INVALID, f"{name}: expected an ISO 8601 time or Unix milliseconds, got {value!r}")


async def create_dataset(request: web.Request) -> web.Response:
    body = await read_json(request)
    services = services_of(request)
    dataset = await services.datasets.create(
        gateway_id_of(request), body.get("name"), _dataset_filter(body), actor_of(request),
        enable=body.get("enable", True),
    )
    return ok(dataset_json(dataset, services.account_id))


async def get_dataset(request: web.Request) -> web.Response:
    services = services_of(request)
    dataset = await services.datasets.get(gateway_id_of(request), request.match_info["dataset_id"])
    return ok(dataset_json(dataset, services.account_id))


async def update_dataset(request: web.Request) -> web.Response:
    body = await read_json(request)
    services = services_of(request)
    dataset = await services.datasets.update(
        gateway_id_of(request),
        request.match_info["dataset_id"],
        actor_of(request),
        name=body.get("name"),
        filters=_dataset_filter(body) if "filters" in body else None,
        enable=body.get("enable"),
    )
    return ok(dataset_json(dataset, services.account_id))


async def delete_dataset(request: web.Request) -> web.Response:
    services = services_of(request)
    dataset = await services.datasets.delete(
        gateway_id_of(request), request.match_info["dataset_id"], actor_of(request)
    )
    return ok(dataset_json(dataset, services.account_id))


async def dataset_logs(request: web.Request) -> web.Response:
    services = services_of(request)
    gateway_id = gateway_id_of(request)
    dataset = await services.datasets.get(gateway_id, request.match_info["dataset_id"])
    paging = parse_paging(request.query.items())
    page = await services.logs.list(gateway_id, dataset.filter.combine(log_filter_of(request)), paging)
    return ok([log_json(item) for item in page.items], page_info(page))


async def export_dataset(request: web.Request) -> web.StreamResponse:
    services = services_of(request)
    gateway_id = gateway_id_of(request)
    dataset = await services.datasets.get(gateway_id, request.match_info["dataset_id"])
    chunks = services.logs.export_jsonl(gateway_id, dataset.filter)
    return await stream_jsonl(request, chunks, f"{dataset.name}.jsonl")


# -- evaluations ---------------------------------------------------------------------------------


async def list_evaluation_types(request: web.Request) -> web.Response:
    types = services_of(request).evaluations.types()
    page = int_param(request, "page", 1, 1, 1_000_000)
    per_page = int_param(request, "per_page", 20, 1, 100)
    items = types[(page - 1) * per_page : page * per_page]
    info = {"page": page, "per_page": per_page, "count": len(items), "total_count": len(types)}
    return ok([evaluation_type_json(t) for t in items], info)


async def list_evaluations(request: web.Request) -> web.Response:
    services = services_of(request)
    page = await services.evaluations.list(
        gateway_id_of(request),
        page=int_param(request, "page", 1, 1, 1_000_000),
        per_page=int_param(request, "per_page", 20, 1, 100),
        search=request.query.get("search") or request.query.get("name"),
        processed=bool_param(request, "processed"),
    )
    return ok([evaluation_json(e, services.account_id) for e in page.items], page_info(page))


async def create_evaluation(request: web.Request) -> web.Response:
    body = await read_json(request)
    services = services_of(request)
    evaluation = await services.evaluations.create(
        gateway_id_of(request), body.get("name"), body.get("dataset_ids"), body.get("evaluation_type_ids"),
        actor_of(request),
    )
    return ok(evaluation_json(evaluation, services.account_id))


async def get_evaluation(request: web.Request) -> web.Response:
    services = services_of(request)
    evaluation = await services.evaluations.get(gateway_id_of(request), request.match_info["evaluation_id"])
    return ok(evaluation_json(evaluation, services.account_id))


async def delete_evaluation(request: web.Request) -> web.Response:
    services = services_of(request)
    evaluation = await services.evaluations.delete(
        gateway_id_of(request), request.match_info["evaluation_id"], actor_of(request)
    )
    return ok(evaluation_json(evaluation, services.account_id))
