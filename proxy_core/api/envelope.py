"""Cloudflare's response envelope, and the mapping from service errors to HTTP errors."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from proxy_core.errors import ErrorCode
from proxy_core.services.errors import Conflict, InvalidInput, NotFound, ServiceError
from proxy_core.store.filters import FilterError

__all__ = ["ok", "fail", "ApiError", "error_from", "read_json", "too_large", "ApiCode"]


class ApiCode:
    """Error codes of the management API (Cloudflare's where it has one)."""

    INVALID = 1001
    CONFLICT = 1002
    NOT_FOUND = 7003
    METHOD = 7000
    AUTH = 10000
    INTERNAL = 1000
    TOO_LARGE = int(ErrorCode.BODY_TOO_LARGE)
    """No Cloudflare code fits: the gateway's own code for the same refusal, so one number means it."""


class ApiError(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _dumps(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)


def ok(result: Any, result_info: dict[str, Any] | None = None, status: int = 200) -> web.Response:
    body: dict[str, Any] = {"success": True, "errors": [], "messages": [], "result": result}
    if result_info is not None:
        body["result_info"] = result_info
    return web.Response(status=status, body=_dumps(body), content_type="application/json")


def fail(status: int, code: int, message: str) -> web.Response:
    body = {"success": False, "errors": [{"code": code, "message": message}], "messages": [], "result": None}
    return web.Response(status=status, body=_dumps(body), content_type="application/json")


def too_large(limit: int) -> ApiError:
    return ApiError(413, ApiCode.TOO_LARGE, f"Request body exceeds {limit} bytes")


def error_from(exc: Exception) -> ApiError:
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, web.HTTPRequestEntityTooLarge):  # aiohttp's reader, past client_max_size
        return ApiError(413, ApiCode.TOO_LARGE, "Request body exceeds the size limit")
    if isinstance(exc, NotFound):
        return ApiError(404, ApiCode.NOT_FOUND, str(exc))
    if isinstance(exc, Conflict):
        return ApiError(409, ApiCode.CONFLICT, str(exc))
    if isinstance(exc, (InvalidInput, FilterError)):
        return ApiError(400, ApiCode.INVALID, str(exc))
    if isinstance(exc, ServiceError):
        return ApiError(400, ApiCode.INVALID, str(exc))
    return ApiError(500, ApiCode.INTERNAL, "internal error")


async def read_json(request: web.Request, *, expect: type = dict) -> Any:
    """The request's JSON body, or a 400 that says what is wrong with it."""
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:  # a chunked body that outgrew the limit: refused, not a 500
        raise too_large(request.client_max_size) from None
    if not raw:
        if expect is dict:
            return {}
        raise ApiError(400, ApiCode.INVALID, "request body: expected JSON")
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, ApiCode.INVALID, f"request body is not valid JSON: {exc}") from None
    if not isinstance(value, expect):
        raise ApiError(400, ApiCode.INVALID, f"request body: expected a JSON {'object' if expect is dict else 'array'}")
    return value
