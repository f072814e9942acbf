"""``AIGateway``: the binding methods for code that is not async, on ``urllib`` from the standard library.

Why urllib and not the async client on a private event loop: it works wherever a caller is —
also in a thread that already runs a loop (a notebook, an async framework's sync hook), where
``run_until_complete`` is refused — it streams with plain blocking reads, and it needs no extra
thread. What it lacks is a connection pool; against a gateway on the same host that costs little.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from typing import Any, Iterator, Mapping

from proxy_core.client.errors import GatewayConnectionError
from proxy_core.client.models import GatewayLog
from proxy_core.client.protocol import (
    Call,
    GatewayCalls,
    LineSplitter,
    ResponseInfo,
    UniversalRequest,
    api_error,
    api_result,
    response_headers,
)

__all__ = ["AIGateway", "GatewayResponse"]

_CHUNK = 64 * 1024


def _opener() -> urllib.request.OpenerDirector:
    """An opener that returns every answer as it is: no exception for 4xx/5xx (``run`` hands them
    back like a Worker's ``fetch``), no redirects (a token is never replayed to another host) and
    no ``HTTP_PROXY`` from the environment (the gateway is usually on loopback)."""
    opener = urllib.request.OpenerDirector()
    opener.add_handler(urllib.request.HTTPHandler())
    opener.add_handler(urllib.request.HTTPSHandler())
    return opener


class GatewayResponse(ResponseInfo):
    """The answer of :meth:`AIGateway.run`, like the ``Response`` a Worker's ``run`` returns.

    The body is read on demand: :meth:`json` / :meth:`text` / :meth:`read` at once, or iterate
    (``for chunk in response``, :meth:`iter_lines` for server-sent events) while it streams. Use it
    as a context manager, or read it to the end, to release the connection.
    """

    def __init__(self, raw: http.client.HTTPResponse) -> None:
        self._raw = raw
        self.status = raw.status
        self.headers = response_headers(raw.getheaders())
        self._body: bytes | None = None

    def read(self) -> bytes:
        if self._body is None:
            try:
                self._body = self._raw.read()
            except (OSError, http.client.HTTPException) as exc:
                raise GatewayConnectionError(f"the answer broke off: {exc}") from exc
            finally:
                self._raw.close()
        return self._body

    def text(self) -> str:
        return self.read().decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.read())

    def iter_bytes(self) -> Iterator[bytes]:
        """The body as it arrives (each piece as soon as the socket has it)."""
        if self._body is not None:
            yield self._body
            return
        try:
            while chunk := self._raw.read1(_CHUNK):
                yield chunk
        except (OSError, http.client.HTTPException) as exc:
            raise GatewayConnectionError(f"the stream broke off: {exc}") from exc
        finally:
            self._raw.close()
        self._body = b""

    __iter__ = iter_bytes

    def iter_lines(self) -> Iterator[bytes]:
        """The body line by line, each with its ``\\n``; the last may lack one."""
        lines = LineSplitter()
        for chunk in self.iter_bytes():
            yield from lines.feed(chunk)
        if rest := lines.rest():
            yield rest

    def raise_for_status(self) -> None:
        """Raise :class:`GatewayAPIError` (with the envelope's code) unless the status is 2xx."""
        if not self.ok:
            raise api_error(self.status, self.headers, self.read())

    def close(self) -> None:
        self._raw.close()

    def __enter__(self) -> GatewayResponse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AIGateway:
    """One gateway's binding methods — ``get_url``, ``patch_log``, ``get_log``, ``run`` — the
    Python counterpart of a Worker's ``env.AI.gateway("my-gateway")``.

    ``token`` is the **admin token** of the management API (``AIGW_ADMIN_TOKEN``, ``[api]
    admin_token``, or the ``admin_token`` file in the data directory); when omitted it is read
    from ``AIGW_ADMIN_TOKEN``. Only ``get_log`` and ``patch_log`` need it. ``gateway_token`` is a
    token of an authenticated gateway, sent by ``run`` as ``cf-aig-authorization``. ``timeout``
    is the seconds allowed to connect and between two reads of an answer.
    """

    def __init__(
        self,
        base_url: str = "http://127.0.0.1:8787",
        *,
        account: str = "local",
        gateway: str = "default",
        token: str | None = None,
        gateway_token: str | None = None,
        timeout: float = 600.0,
    ) -> None:
        self._calls = GatewayCalls(base_url, account, gateway, token, gateway_token)
        self._timeout = timeout
        self._opener = _opener()

    def get_url(self, provider: str | None = None) -> str:
        """The gateway's base URL (ending in ``/``), or a provider's endpoint under it — what an
        SDK's ``base_url`` takes. Built locally: no request is made."""
        return self._calls.url(provider)

    def get_log(self, log_id: str) -> GatewayLog:
        """A log by its id (``response.log_id``). Logs are written just after the answer, so a log
        read the moment its request finished may not be there yet (a 404, code 7003)."""
        return GatewayLog.from_json(self._result(self._calls.get_log(log_id)))

    def patch_log(
        self,
        log_id: str,
        *,
        feedback: int | None = None,
        score: int | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> GatewayLog:
        """Set feedback (-1, 0, 1), score (0–100) and/or merge metadata; returns the updated log."""
        return GatewayLog.from_json(self._result(self._calls.patch_log(log_id, feedback, score, metadata)))

    def run(self, request: UniversalRequest, *, headers: Mapping[str, str] | None = None) -> GatewayResponse:
        """A universal request: one ``{provider, endpoint, headers, query, config}`` object, or a
        list of them tried in order. Errors come back as a response (check ``ok`` or call
        ``raise_for_status``), as from a Worker; only an unreachable gateway raises.
        ``headers`` are request-level (``cf-aig-cache-ttl``, ``cf-aig-metadata``, …)."""
        return GatewayResponse(self._send(self._calls.run(request, headers)))

    def _send(self, call: Call) -> http.client.HTTPResponse:
        request = urllib.request.Request(call.url, data=call.body, headers=call.headers, method=call.method)
        try:
            return self._opener.open(request, timeout=self._timeout)
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
            raise GatewayConnectionError(f"{call.method} {call.url}: {reason}") from exc

    def _result(self, call: Call) -> Any:
        raw = self._send(call)
        with raw:
            try:
                body = raw.read()
            except (OSError, http.client.HTTPException) as exc:
                raise GatewayConnectionError(f"{call.method} {call.url}: {exc}") from exc
        return api_result(raw.status, response_headers(raw.getheaders()), body)
