"""The management API's one route table: it registers the routes and generates the OpenAPI document,
so the two cannot drift apart."""

from __future__ import annotations

import functools
import hmac
import logging
from dataclasses import dataclass
from typing import Awaitable, Callable

from aiohttp import web

from proxy_core.api import dataset_handlers as d
from proxy_core.api import handlers as h
from proxy_core.api.requests import SERVICES
from proxy_core.api.envelope import ApiCode, error_from, fail, too_large
from proxy_core.api.events_stream import install_event_stream, stream_events
from proxy_core.events import EventBus
from proxy_core.services import Services

__all__ = ["ROUTES", "Route", "create_api_app", "openapi_document", "API_PREFIX", "admin_authorized"]

log = logging.getLogger(__name__)

API_PREFIX = "/client/v4"
_ACCOUNT = "/accounts/{account_id}/ai-gateway"
_GATEWAY = _ACCOUNT + "/gateways/{gateway_id}"
_AUDIT_LOGS = "/accounts/{account_id}/audit_logs"
"""Where Cloudflare keeps an account's audit log (its SDK's ``audit_logs.list``)."""
ADMIN_TOKEN = web.AppKey("admin_token", str)


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    path: str
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    summary: str
    tag: str


ROUTES: tuple[Route, ...] = (
    Route("GET", _ACCOUNT + "/gateways", h.list_gateways, "List gateways", "gateways"),
    Route("POST", _ACCOUNT + "/gateways", h.create_gateway, "Create a gateway", "gateways"),
    Route("GET", _GATEWAY, h.get_gateway, "Get a gateway", "gateways"),
    Route("PUT", _GATEWAY, h.update_gateway, "Update a gateway's settings", "gateways"),
    Route("PATCH", _GATEWAY, h.update_gateway, "Update some of a gateway's settings", "gateways"),
    Route("DELETE", _GATEWAY, h.delete_gateway, "Delete a gateway with its logs", "gateways"),
    Route("GET", _GATEWAY + "/url/{provider}", h.gateway_url, "The gateway's endpoint URL for a provider", "gateways"),
    Route("GET", _GATEWAY + "/logs", h.list_logs, "List logs (filters, paging, ordering)", "logs"),
    Route("DELETE", _GATEWAY + "/logs", h.delete_logs, "Delete the logs a filter selects", "logs"),
    Route("GET", _GATEWAY + "/logs/export", h.export_logs, "Export filtered logs as JSON lines", "logs"),
    Route("GET", _GATEWAY + "/logs/{log_id}", h.get_log, "Get a log", "logs"),
    Route("PATCH", _GATEWAY + "/logs/{log_id}", h.edit_log, "Set feedback, score or metadata", "logs"),
    Route("GET", _GATEWAY + "/logs/{log_id}/request", h.log_request, "The stored request body", "logs"),
    Route("GET", _GATEWAY + "/logs/{log_id}/response", h.log_response, "The stored response body", "logs"),
    Route("GET", _GATEWAY + "/datasets", d.list_datasets, "List datasets", "datasets"),
    Route("POST", _GATEWAY + "/datasets", d.create_dataset, "Create a dataset (a saved filter)", "datasets"),
    Route("GET", _GATEWAY + "/datasets/{dataset_id}", d.get_dataset, "Get a dataset", "datasets"),
    Route("PUT", _GATEWAY + "/datasets/{dataset_id}", d.update_dataset, "Update a dataset", "datasets"),
    Route("DELETE", _GATEWAY + "/datasets/{dataset_id}", d.delete_dataset, "Delete a dataset", "datasets"),
    Route("GET", _GATEWAY + "/datasets/{dataset_id}/logs", d.dataset_logs, "The logs of a dataset", "datasets"),
    Route("GET", _GATEWAY + "/datasets/{dataset_id}/export", d.export_dataset, "Export a dataset as JSONL", "datasets"),
    Route("GET", _ACCOUNT + "/evaluation-types", d.list_evaluation_types, "List evaluators", "evaluations"),
    Route("GET", _GATEWAY + "/evaluations", d.list_evaluations, "List evaluations", "evaluations"),
    Route("POST", _GATEWAY + "/evaluations", d.create_evaluation, "Run an evaluation", "evaluations"),
    Route("GET", _GATEWAY + "/evaluations/{evaluation_id}", d.get_evaluation, "Get an evaluation", "evaluations"),
    Route("DELETE", _GATEWAY + "/evaluations/{evaluation_id}", d.delete_evaluation, "Delete an evaluation", "evaluations"),
    Route("GET", _GATEWAY + "/tokens", h.list_tokens, "List authentication tokens (no secrets)", "tokens"),
    Route("POST", _GATEWAY + "/tokens", h.create_token, "Create a token (shown once)", "tokens"),
    Route("DELETE", _GATEWAY + "/tokens/{token_id}", h.revoke_token, "Revoke a token", "tokens"),
    Route("GET", _GATEWAY + "/analytics", h.analytics, "Requests, tokens, cost, errors over time", "analytics"),
    Route("GET", _ACCOUNT + "/audit-logs", h.list_audit_logs, "The audit log, newest first", "audit"),
    Route("GET", _AUDIT_LOGS, h.list_audit_logs, "The audit log at Cloudflare's account path", "audit"),
    Route("GET", _ACCOUNT + "/events", stream_events, "Live log events (WebSocket; attached consoles)", "events"),
)  # fmt: skip


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value:
        return value.strip()
    return None


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def admin_authorized(request: web.Request, expected: str) -> bool:
    """Whether the request carries the admin bearer token (compared in constant time)."""
    token = _bearer(request)
    return token is not None and hmac.compare_digest(token.encode(), expected.encode())


def _oversize(request: web.Request) -> web.Response | None:
    """A 413 for a declared ``Content-Length`` over the limit, answered before any body is read;
    the connection closes after it, so the unread body cannot be taken for the next request."""
    length, limit = request.content_length, request.client_max_size
    if length is None or not limit or length <= limit:
        return None
    err = too_large(limit)
    response = fail(err.status, err.code, err.message)
    response.force_close()
    return response


def _guarded(handler: Handler) -> Handler:
    """Admin token, account check and error mapping around one API handler.

    A wrapper per route rather than a middleware: a middleware on the sub-app would make aiohttp
    wrap every proxied request too.
    """

    @functools.wraps(handler)
    async def guarded(request: web.Request) -> web.StreamResponse:
        if not admin_authorized(request, request.app[ADMIN_TOKEN]):
            return fail(401, ApiCode.AUTH, "Authentication error: a valid admin bearer token is required")
        account = request.match_info.get("account_id")
        if account is not None and account != request.app[SERVICES].account_id:
            return fail(404, ApiCode.NOT_FOUND, f"account '{account}' not found")
        refused = _oversize(request)
        if refused is not None:
            return refused
        try:
            return await handler(request)
        except Exception as exc:  # services raise typed errors; anything else is a bug, logged
            err = error_from(exc)
            if err.status >= 500:
                log.exception("management API error on %s %s", request.method, request.path)
            response = fail(err.status, err.code, err.message)
            if err.status == 413:  # the rest of the body is still on the wire
                response.force_close()
            return response

    return guarded


async def _method_not_allowed(request: web.Request) -> web.Response:
    return fail(405, ApiCode.METHOD, f"method {request.method} not allowed on {request.path}")


async def _no_route(request: web.Request) -> web.Response:
    return fail(404, ApiCode.NOT_FOUND, f"no route for {request.method} {request.path}")


def openapi_document() -> dict:
    """OpenAPI 3.1 for the management API, generated from :data:`ROUTES`."""
    paths: dict[str, dict] = {}
    for route in ROUTES:
        params = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in _path_params(route.path)
        ]
        paths.setdefault(API_PREFIX + route.path, {})[route.method.lower()] = {
            "summary": route.summary,
            "tags": [route.tag],
            "operationId": route.handler.__name__,
            "parameters": params,
            "security": [{"bearer": []}],
            "responses": {
                "200": {"description": "Cloudflare envelope: success, result, result_info, errors, messages"},
                "400": {"description": "invalid input (the message names the problem)"},
                "401": {"description": "missing or wrong admin token"},
                "404": {"description": "unknown account or resource"},
                "413": {"description": "request body over the size limit (code 2004), refused before it is read"},
            },
        }
    return {
        "openapi": "3.1.0",
        "info": {"title": "aigw-console management API", "version": "1"},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": paths,
    }


def _path_params(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{") and part.endswith("}")]


async def _openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_document())


def create_api_app(
    services: Services, admin_token: str, *, bus: EventBus, refresh: Callable[[], Awaitable[None]]
) -> web.Application:
    """The management API as a sub-application, mounted at ``/client/v4``.

    ``bus`` feeds the live event stream; ``refresh`` re-reads gateway settings from the store (an
    attached console asks for it after changing them)."""
    app = web.Application()
    app[SERVICES] = services
    app[ADMIN_TOKEN] = admin_token
    install_event_stream(app, bus, refresh)
    app.router.add_get("/openapi.json", _openapi)
    for route in ROUTES:
        app.router.add_route(route.method, route.path, _guarded(route.handler))
    for path in dict.fromkeys(route.path for route in ROUTES):
        app.router.add_route("*", path, _guarded(_method_not_allowed))
    app.router.add_route("*", "/{tail:.*}", _guarded(_no_route))
    return app


