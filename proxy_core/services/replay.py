"""Replay a logged request through the gateway's own HTTP endpoint, audit it, wait for its log.

:meth:`ReplayService.send` plans the request (:func:`proxy_core.replay.plan_replay`: the same
provider path, or ``/compat/chat/completions`` for another provider), sends it to the gateway's
URL like any client would (so it is admitted, rate limited, guarded, cached and logged), and records
an audit entry ``replay`` of resource ``log`` by the operator. On an authenticated gateway the
replay carries a gateway token made for it and revoked once the answer is in (both audited): the
console never holds a client's token, and only hashes of tokens are stored.
:meth:`ReplayService.wait_for_log` waits for the replay's row to reach the store (the gateway logs
after answering, through its queue) and :meth:`ReplayService.answer` reads a log's answer as text.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

from proxy_core.errors import ErrorCode
from proxy_core.providers.registry import FAMILIES, ProviderRegistry
from proxy_core.replay import LoggedRequest, ReplayRefused, ReplayTarget, answer_text, plan_replay
from proxy_core.services.audit import record_change
from proxy_core.services.errors import InvalidInput, NotFound, ServiceError
from proxy_core.services.gateways import GatewayService
from proxy_core.services.logs import LogDetail, LogService
from proxy_core.services.tokens import TokenService
from proxy_core.services.types import Actor, Clock
from proxy_core.store.engine import Store

__all__ = ["ReplayChoice", "ReplayService", "ReplaySent", "ReplayUnavailable"]

_NOT_LOGGED = {int(ErrorCode.UNAUTHORIZED), int(ErrorCode.LOGS_BEHIND), int(ErrorCode.UNKNOWN_GATEWAY),
               int(ErrorCode.UNKNOWN_ACCOUNT)}  # fmt: skip
"""Gateway refusals that leave no log row: there is nothing to wait for."""
_FIRST_LOOK_S = 0.02
_LOOK_EVERY_S = 0.25


class ReplayUnavailable(ServiceError):
    """This service layer does not know the gateway's URL or its providers (no replay here)."""


@dataclass(frozen=True, slots=True)
class ReplayChoice:
    """A provider a log can be replayed to."""

    provider: str
    family: str
    same: bool
    """The log's own provider (the replay takes its provider path; others go through compat)."""


@dataclass(frozen=True, slots=True)
class ReplaySent:
    """What the gateway answered a replay (its log lands in the store soon after)."""

    original_id: str
    target: ReplayTarget
    route: str
    """``provider`` or ``compat``."""
    log_id: str | None
    """The replay's log id (``cf-aig-log-id``); ``None`` if the gateway named none."""
    status: int
    error_code: int | None
    """The gateway's own error code (2016 prompt blocked, 2007 rate limited, …) when it refused."""
    error: str | None
    """The error message of a failed answer (the gateway's, or the provider's)."""
    cache_status: str | None
    logged: bool
    """Whether a log row records it (a refused token or a full log queue leaves none)."""

    @property
    def verdict(self) -> str:
        """One line for the operator: answered, cached, blocked, rate limited, or the error."""
        if self.error_code == ErrorCode.PROMPT_BLOCKED:
            return "refused by a guardrail: the prompt was blocked"
        if self.error_code == ErrorCode.RESPONSE_BLOCKED:
            return "refused by a guardrail: the response was blocked"
        if self.error_code == ErrorCode.RATE_LIMITED:
            return "rate limited by the gateway"
        if self.status >= 400:
            who = "gateway" if self.error_code is not None else "provider"
            return f"{who} error HTTP {self.status}" + (f": {self.error}" if self.error else "")
        return "answered from the cache" if self.cache_status == "HIT" else f"answered HTTP {self.status}"


def _error_of(status: int, body: bytes) -> tuple[int | None, str | None]:
    """``(gateway error code, message)`` of an answer: the gateway's envelope (``error: [{code,
    message}]``), an OpenAI-style ``{"error": {"message"}}`` or a provider's ``message``."""
    if status < 400:
        return None, None
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        text = body.decode("utf-8", "replace").strip()
        return None, text[:300] or None
    err = data.get("error") if isinstance(data, dict) else None
    if isinstance(err, list) and err and isinstance(err[0], dict):
        code = err[0].get("code")
        return (code if isinstance(code, int) else None), str(err[0].get("message") or "") or None
    if isinstance(err, dict):
        code = err.get("code")
        gateway_code = int(code) if isinstance(code, (int, str)) and str(code).isdigit() and 2000 < int(code) < 3000 else None
        return gateway_code, str(err.get("message") or "") or None
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return None, data["message"]
    return None, None


@dataclass
class ReplayService:
    store: Store
    account_id: str
    clock: Clock
    logs: LogService
    gateways: GatewayService
    tokens: TokenService
    registry: ProviderRegistry | None = None
    """The gateway's providers (names and API families); ``None``: replay is unavailable."""
    gateway_url: str | None = None
    """``http://HOST:PORT`` of the gateway's HTTP endpoint; ``None``: replay is unavailable."""
    wait_s: float = 30.0
    """How long :meth:`wait_for_log` waits for a replay's row by default."""
    timeout_s: float = 600.0
    """How long a replay may take to be answered."""

    def _need(self) -> tuple[ProviderRegistry, str]:
        if self.registry is None or self.gateway_url is None:
            raise ReplayUnavailable("replay is not available here: this console does not know the gateway's URL")
        return self.registry, self.gateway_url.rstrip("/")

    @property
    def available(self) -> bool:
        return self.registry is not None and self.gateway_url is not None

    def choices(self, provider: str) -> list[ReplayChoice]:
        """The providers a log of ``provider`` can be replayed to: its own first, then every provider
        the compat endpoint reaches (aliases listed once, under their own name)."""
        registry, _ = self._need()
        own = registry.get(provider)
        out = [ReplayChoice(provider, own.family.id, True)] if own is not None else []
        for name in registry.names():
            spec = registry.get(name)
            if spec is None or spec is own or spec.name != name or spec.family.translator() is None:
                continue
            out.append(ReplayChoice(name, spec.family.id, False))
        return out

    async def send(
        self, gateway_id: str, log_id: str, target: ReplayTarget, actor: Actor, *, api_key: str | None = None,
        fresh: bool = True,
    ) -> ReplaySent:  # fmt: skip
        """Replay log ``log_id`` of ``gateway_id`` to ``target`` (``api_key``: the provider's key, used
        for this request only, never stored; ``fresh``: bypass the cache). Raises
        :class:`InvalidInput` when it cannot be replayed there, :class:`ServiceError` when the
        gateway cannot be reached or refuses it unlogged."""
        registry, base = self._need()
        detail = await self.logs.detail(gateway_id, log_id)
        record = detail.log
        logged = LoggedRequest(record.id, record.provider, record.model, record.path, record.method,
                               detail.request_headers or {}, detail.request_body, record.metadata)  # fmt: skip
        try:
            request = plan_replay(registry, logged, target, api_key=api_key or None, fresh=fresh)
        except ReplayRefused as exc:
            raise InvalidInput(f"cannot replay log {log_id}: {exc}") from None
        gateway = await self.gateways.get(gateway_id)
        token = None
        if gateway.authentication:
            token = await self.tokens.create(gateway_id, actor, name=f"replay of log {log_id}")
            request.headers["cf-aig-authorization"] = f"Bearer {token.secret}"
        url = f"{base}/v1/{self.account_id}/{gateway_id}{request.path}"
        try:
            status, headers, body = await self._post(request.method, url, request.headers, request.body)
        finally:
            if token is not None:
                await self.tokens.revoke(gateway_id, token.info.id, actor)
        error_code, error = _error_of(status, body)
        sent = ReplaySent(
            log_id, target, request.route, headers.get("cf-aig-log-id"), status, error_code, error,
            headers.get("cf-aig-cache-status"), error_code not in _NOT_LOGGED,
        )  # fmt: skip
        await self._audit(actor, sent, record.provider, record.model)
        return sent

    async def _post(self, method: str, url: str, headers: dict[str, str], body: bytes) -> tuple[int, Any, bytes]:
        timeout = aiohttp.ClientTimeout(total=self.timeout_s)
        try:
            async with aiohttp.ClientSession(timeout=timeout, auto_decompress=True) as session:
                async with session.request(method, url, headers=headers, data=body) as response:
                    return response.status, response.headers, await response.read()
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            reason = str(exc) or type(exc).__name__
            raise ServiceError(f"the gateway cannot be reached ({url.split('/v1/')[0]}): {reason}") from None

    async def _audit(self, actor: Actor, sent: ReplaySent, provider: str, model: str | None) -> None:
        new = {"replay_of": sent.original_id, "log_id": sent.log_id, "provider": sent.target.provider,
               "model": sent.target.model, "route": sent.route, "status": sent.status}  # fmt: skip
        async with self.store.sessions.begin() as session:
            await record_change(session, self.clock, actor, self.account_id, "replay", "log", sent.original_id,
                                {"provider": provider, "model": model}, new)  # fmt: skip

    async def wait_for_log(self, gateway_id: str, log_id: str, *, timeout_s: float | None = None) -> LogDetail:
        """The replay's log once it is in the store, looking again every quarter second (the
        gateway's queue writes it in batches); :class:`ServiceError` when it is not there in time."""
        limit = self.wait_s if timeout_s is None else timeout_s
        deadline = time.monotonic() + limit
        delay = _FIRST_LOOK_S
        while True:
            try:
                return await self.logs.detail(gateway_id, log_id)
            except NotFound:
                if time.monotonic() >= deadline:
                    raise ServiceError(f"the replay's log {log_id} did not reach the store within {limit:g} s "
                                       "(the gateway's log queue may be behind)") from None  # fmt: skip
            await asyncio.sleep(delay)
            delay = min(delay * 2, _LOOK_EVERY_S)

    def answer(self, detail: LogDetail) -> str | None:
        """The log's response as text, read by its provider's family (``None``: no text in it)."""
        spec = self.registry.get(detail.log.provider) if self.registry is not None else None
        family = spec.family if spec is not None else FAMILIES["generic"]
        return answer_text(family, detail.response_body, streamed=detail.log.streamed)
