"""Gateway-made errors: one stable ``code`` per failure, always a JSON body, never a traceback.

The body follows Cloudflare's envelope so clients written for its gateway read ours unchanged:
``{"success": false, "result": [], "messages": [], "error": [{"code": 2016, "message": "…"}]}``.
"""

from __future__ import annotations

from enum import IntEnum

import orjson
from aiohttp import web

__all__ = ["ErrorCode", "GatewayError", "error_body", "error_response", "upstream_error"]


class ErrorCode(IntEnum):
    """Stable error codes; the HTTP status for each is in :data:`STATUS`."""

    BAD_REQUEST = 2001
    UNKNOWN_GATEWAY = 2002
    UNKNOWN_PROVIDER = 2003
    BODY_TOO_LARGE = 2004
    UPSTREAM_UNREACHABLE = 2005
    UPSTREAM_TIMEOUT = 2006
    RATE_LIMITED = 2007
    INVALID_PATH = 2008
    UNAUTHORIZED = 2009
    INTERNAL = 2010
    MALFORMED_JSON = 2011
    CLIENT_TIMEOUT = 2012
    BAD_HEADER = 2013
    UNKNOWN_ACCOUNT = 2014
    NOT_FOUND = 2015
    PROMPT_BLOCKED = 2016
    RESPONSE_BLOCKED = 2017
    CLIENT_DISCONNECTED = 2018
    LOGS_BEHIND = 2019


STATUS: dict[ErrorCode, int] = {
    ErrorCode.BAD_REQUEST: 400,
    ErrorCode.UNKNOWN_GATEWAY: 404,
    ErrorCode.UNKNOWN_PROVIDER: 404,
    ErrorCode.BODY_TOO_LARGE: 413,
    ErrorCode.UPSTREAM_UNREACHABLE: 502,
    ErrorCode.UPSTREAM_TIMEOUT: 504,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.INVALID_PATH: 400,
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.INTERNAL: 500,
    ErrorCode.MALFORMED_JSON: 400,
    ErrorCode.CLIENT_TIMEOUT: 408,
    ErrorCode.BAD_HEADER: 400,
    ErrorCode.UNKNOWN_ACCOUNT: 404,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.PROMPT_BLOCKED: 400,
    ErrorCode.RESPONSE_BLOCKED: 400,
    ErrorCode.CLIENT_DISCONNECTED: 499,
    ErrorCode.LOGS_BEHIND: 503,
}


class GatewayError(Exception):
    """An error the gateway answers itself; ``headers`` are added to the response (e.g. ``Retry-After``)."""

    def __init__(self, code: ErrorCode, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = STATUS[code]
        self.headers = headers or {}

    def with_headers(self, headers: dict[str, str]) -> GatewayError:
        """This error with more response headers (the log id of the row that records it)."""
        self.headers = {**self.headers, **headers}
        return self


def upstream_error(provider: str, exc: BaseException) -> GatewayError:
    """The gateway's error for a provider that did not answer (timeout) or could not be reached."""
    if isinstance(exc, TimeoutError):
        return GatewayError(ErrorCode.UPSTREAM_TIMEOUT, f"Provider '{provider}' did not answer in time")
    return GatewayError(ErrorCode.UPSTREAM_UNREACHABLE, f"Provider '{provider}' is unreachable: {type(exc).__name__}")


def error_body(code: int, message: str) -> bytes:
    return orjson.dumps(
        {"success": False, "result": [], "messages": [], "error": [{"code": int(code), "message": message}]}
    )


def error_response(err: GatewayError, extra_headers: dict[str, str] | None = None) -> web.Response:
    headers = {**err.headers, **(extra_headers or {})}
    return web.Response(
        status=err.status, body=error_body(err.code, err.message), content_type="application/json", headers=headers
    )
