"""What both WebSocket endpoints share: reading the gateway token from a handshake, and closing
open sockets when the gateway stops.

Non-browser clients send ``cf-aig-authorization: Bearer <token>``; browsers cannot set headers on
a WebSocket, so the token may also come as the subprotocol ``cf-aig-authorization.<token>``. The
server then selects that subprotocol (browsers fail a handshake whose offered subprotocols get
no answer).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Any, Iterable

from aiohttp import WSCloseCode, web
from multidict import CIMultiDict

__all__ = ["AUTH_PROTOCOL", "Handshake", "OpenSockets", "read_handshake", "logged_headers", "is_upgrade"]

AUTH_PROTOCOL = "cf-aig-authorization."
_PROTOCOL_HEADER = "sec-websocket-protocol"


def is_upgrade(request: web.Request) -> bool:
    return request.headers.get("Upgrade", "").strip().lower() == "websocket"


@dataclass(slots=True)
class Handshake:
    request: web.Request
    """The request as admission reads it: a subprotocol token moved into the ``cf-aig-authorization`` header."""
    authorization: str | None
    """The ``cf-aig-authorization`` value (``Bearer <token>``) from the header or the subprotocol."""
    auth_protocol: str | None
    """The offered ``cf-aig-authorization.<token>`` subprotocol, selected in the answer."""
    other_protocols: list[str] = field(default_factory=list)
    """Every other offered subprotocol, in the client's order."""


def offered_protocols(headers: Any) -> list[str]:
    raw = ",".join(headers.getall(_PROTOCOL_HEADER, ()))
    return [p.strip() for p in raw.split(",") if p.strip()]


def read_handshake(request: web.Request) -> Handshake:
    header = request.headers.get("cf-aig-authorization")
    auth_protocol: str | None = None
    others: list[str] = []
    for proto in offered_protocols(request.headers):
        if auth_protocol is None and proto.lower().startswith(AUTH_PROTOCOL):
            auth_protocol = proto
        else:
            others.append(proto)
    authed = request
    if header is None and auth_protocol is not None:
        header = "Bearer " + auth_protocol[len(AUTH_PROTOCOL) :]
        headers = CIMultiDict(request.headers)
        headers["cf-aig-authorization"] = header
        authed = request.clone(headers=headers)
    return Handshake(authed, header, auth_protocol, others)


def logged_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Handshake headers for a log: subprotocols may carry secrets (``cf-aig-authorization.<token>``,
    ``openai-insecure-api-key.<key>``), so what follows the first ``.`` of each is redacted; the
    other secret headers are redacted by the log pipeline as for any request."""
    out = []
    for name, value in headers:
        if name.lower() == _PROTOCOL_HEADER:
            value = ", ".join(p.split(".", 1)[0] + (".[REDACTED]" if "." in p else "") for p in
                              (part.strip() for part in value.split(",")) if p)  # fmt: skip
        out.append((name, value))
    return out


class OpenSockets:
    """The open client sockets of one endpoint, closed with 1001 ("going away") at shutdown so a
    stopping gateway does not wait for long-lived connections."""

    def __init__(self) -> None:
        self._open: weakref.WeakSet[web.WebSocketResponse] = weakref.WeakSet()

    def add(self, ws: web.WebSocketResponse) -> None:
        self._open.add(ws)

    def discard(self, ws: web.WebSocketResponse) -> None:
        self._open.discard(ws)

    def __len__(self) -> int:
        return len(self._open)

    async def close_all(self, app: web.Application | None = None) -> None:
        for ws in list(self._open):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"gateway stopping")
