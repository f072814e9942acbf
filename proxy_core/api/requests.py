"""Reading a management API request: the services, who is calling, the path and query parameters,
the log filter; and writing a JSON-lines export."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from proxy_core.api.envelope import ApiCode, ApiError
from proxy_core.services import Actor, Services
from proxy_core.store.filters import LogFilter, parse_query

__all__ = [
    "API_ACTOR_NAME", "SERVICES", "actor_of", "bool_param", "gateway_id_of", "int_param", "log_filter_of",
    "services_of", "stream_jsonl",
]  # fmt: skip

log = logging.getLogger(__name__)

SERVICES = web.AppKey("services", Services)
API_ACTOR_NAME = "admin-token"
"""Who the audit log says changed something through the API: every caller holds the one admin token."""


def services_of(request: web.Request) -> Services:
    return request.app[SERVICES]


def actor_of(request: web.Request) -> Actor:
    return Actor(API_ACTOR_NAME, "API", ip=request.remote)


def gateway_id_of(request: web.Request) -> str:
    return request.match_info["gateway_id"]


def int_param(request: web.Request, name: str, default: int, low: int, high: int) -> int:
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


def bool_param(request: web.Request, name: str) -> bool | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    if raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    raise ApiError(400, ApiCode.INVALID, f"{name}: expected true or false")


def log_filter_of(request: web.Request) -> LogFilter:
    return parse_query(request.query.items())


async def stream_jsonl(request: web.Request, chunks: Any, filename: str) -> web.StreamResponse:
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
