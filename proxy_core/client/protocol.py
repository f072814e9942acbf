"""What both clients send and how they read the answers: the one place for paths, headers and
the error envelope, so the sync and async transports differ only in how bytes move."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Mapping, Sequence
from urllib.parse import quote, urlsplit

from multidict import CIMultiDict, CIMultiDictProxy

from proxy_core.client.errors import GatewayAPIError
from proxy_core.client.urls import gateway_url

__all__ = [
    "ADMIN_TOKEN_ENV",
    "Call",
    "GatewayCalls",
    "LineSplitter",
    "ResponseHeaders",
    "ResponseInfo",
    "UniversalRequest",
    "api_error",
    "api_result",
    "response_headers",
]

ADMIN_TOKEN_ENV = "AIGW_ADMIN_TOKEN"
"""Where the client finds the admin token when none is passed (the gateway reads the same variable)."""

ResponseHeaders = CIMultiDictProxy[str]

UniversalRequest = Mapping[str, Any] | Sequence[Mapping[str, Any]]
"""What ``run`` takes: one universal request object, or a list of them (a fallback chain)."""


@dataclass(frozen=True, slots=True)
class Call:
    """One HTTP request, ready for either transport."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None = None


class GatewayCalls:
    """Builds the requests of the binding methods for one gateway.

    ``admin_token`` goes only to the management API (``/client/v4``), ``gateway_token`` only to
    the proxy (as ``cf-aig-authorization``): the admin token never travels towards a provider.
    """

    def __init__(
        self, base_url: str, account: str, gateway: str, admin_token: str | None, gateway_token: str | None
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"base_url: expected http(s)://HOST:PORT, got {base_url!r}")
        self.origin = base_url.rstrip("/")
        self.account = account
        self.gateway = gateway
        self.admin_token = admin_token if admin_token is not None else os.environ.get(ADMIN_TOKEN_ENV)
        self.gateway_token = gateway_token

    def url(self, provider: str | None = None) -> str:
        return gateway_url(self.origin, self.account, self.gateway, provider)

    def _log_url(self, log_id: str) -> str:
        account, gateway, log = (quote(part, safe="") for part in (self.account, self.gateway, log_id))
        return f"{self.origin}/client/v4/accounts/{account}/ai-gateway/gateways/{gateway}/logs/{log}"

    def _admin_headers(self) -> dict[str, str]:
        headers = {"accept": "application/json"}
        if self.admin_token:
            headers["authorization"] = f"Bearer {self.admin_token}"
        return headers

    def get_log(self, log_id: str) -> Call:
        return Call("GET", self._log_url(log_id), self._admin_headers())

    def patch_log(
        self, log_id: str, feedback: int | None, score: int | None, metadata: Mapping[str, Any] | None
    ) -> Call:
        """Only the fields given are sent; the others keep their value (``None`` in ``metadata``
        removes that key)."""
        patch: dict[str, Any] = {}
        if feedback is not None:
            patch["feedback"] = feedback
        if score is not None:
            patch["score"] = score
        if metadata is not None:
            patch["metadata"] = dict(metadata)
        headers = {**self._admin_headers(), "content-type": "application/json"}
        return Call("PATCH", self._log_url(log_id), headers, json.dumps(patch).encode())

    def run(self, request: UniversalRequest, headers: Mapping[str, str] | None) -> Call:
        """``POST`` on the universal endpoint: one request object, or a list of them (fallbacks)."""
        if isinstance(request, Mapping):
            body: Any = dict(request)
        elif isinstance(request, Sequence) and not isinstance(request, (str, bytes)):
            if not all(isinstance(step, Mapping) for step in request):
                raise TypeError("run: every fallback step must be a dict")
            body = [dict(step) for step in request]
        else:
            raise TypeError(f"run: expected a dict or a list of dicts, got {type(request).__name__}")
        sent = {"content-type": "application/json", **(headers or {})}
        if self.gateway_token and not any(name.lower() == "cf-aig-authorization" for name in sent):
            sent["cf-aig-authorization"] = f"Bearer {self.gateway_token}"
        return Call("POST", self.url().rstrip("/"), sent, json.dumps(body).encode())


def _entries(payload: Any) -> list[dict[str, Any]]:
    """The error entries of an answer: the API's ``errors``, the proxy's ``error`` (both lists of
    ``{code, message}``), or an OpenAI-style ``{"error": {...}}`` a provider sent."""
    if not isinstance(payload, Mapping):
        return []
    for key in ("errors", "error"):
        value = payload.get(key)
        if isinstance(value, list) and value and all(isinstance(e, Mapping) for e in value):
            return [dict(e) for e in value]
        if isinstance(value, Mapping):
            return [dict(value)]
    return []


def api_error(status: int, headers: Mapping[str, str], body: bytes) -> GatewayAPIError:
    """The error an unsuccessful answer stands for, read from its envelope when it has one."""
    try:
        payload = json.loads(body) if body else None
    except ValueError:
        payload = None
    entries = _entries(payload)
    log_id = headers.get("cf-aig-log-id")
    if not entries:
        text = body.decode("utf-8", errors="replace").strip()[:500]
        return GatewayAPIError(status, None, text or f"HTTP {status} with an empty body", log_id=log_id)
    first = entries[0]
    code = first.get("code")
    return GatewayAPIError(
        status,
        code if isinstance(code, int) and not isinstance(code, bool) else None,
        str(first.get("message") or f"HTTP {status}"),
        errors=entries,
        log_id=log_id,
    )


def api_result(status: int, headers: Mapping[str, str], body: bytes) -> Any:
    """``result`` of a management API answer, or the :class:`GatewayAPIError` it carries."""
    if not 200 <= status < 300:
        raise api_error(status, headers, body)
    try:
        payload = json.loads(body)
    except ValueError:
        raise GatewayAPIError(status, None, "the management API answered with something that is not JSON") from None
    if not isinstance(payload, Mapping) or payload.get("success") is not True:
        raise api_error(status, headers, body)
    return payload.get("result")


def response_headers(items: Sequence[tuple[str, str]]) -> ResponseHeaders:
    return CIMultiDictProxy(CIMultiDict(items))


class ResponseInfo:
    """Status and headers of an answer from the universal endpoint, with the gateway's own
    headers read out; the body is the transport's (see ``GatewayResponse``)."""

    status: int
    headers: ResponseHeaders
    """Case-insensitive, as in a Worker's ``Response.headers``."""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def log_id(self) -> str | None:
        """``cf-aig-log-id``: what :meth:`get_log` and :meth:`patch_log` take."""
        return self.headers.get("cf-aig-log-id")

    @property
    def cache_status(self) -> str | None:
        """``HIT`` or ``MISS``."""
        return self.headers.get("cf-aig-cache-status")

    @property
    def step(self) -> int | None:
        """Index of the fallback step that answered (0 = the first)."""
        raw = self.headers.get("cf-aig-step")
        return int(raw) if raw is not None and raw.isdigit() else None

    @property
    def event_id(self) -> str | None:
        return self.headers.get("cf-aig-event-id")

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


class LineSplitter:
    """Cuts a byte stream into lines (``\\n``-terminated, kept), whatever the chunk boundaries."""

    def __init__(self) -> None:
        self._pending = b""

    def feed(self, chunk: bytes) -> list[bytes]:
        data = self._pending + chunk
        cut = data.rfind(b"\n") + 1
        self._pending = data[cut:]
        return [line + b"\n" for line in data[:cut].split(b"\n")[:-1]]

    def rest(self) -> bytes:
        """What followed the last newline, once the stream has ended."""
        rest, self._pending = self._pending, b""
        return rest
