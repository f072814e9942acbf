"""Admission: may this request reach a provider at all?

Every entry point (HTTP passthrough, the universal and compat endpoints, both WebSocket APIs)
asks :meth:`Admission.admit` first: room in the log queue, the gateway, its token, the request's
``cf-aig-*`` policy (all from memory) and the gateway's rate limit (from memory, or one bounded
Redis call when processes share their counts). A refusal is a
:class:`GatewayError` whose headers already carry the log id of the row that records it (an
unauthenticated request is not logged: authentication exists to keep it out).

Gateway tokens read ``aigw_{id}_{secret}``; only a per-token salt and ``sha256(salt + secret)``
are stored, and checks compare digests in constant time (:func:`verify_token`).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from dataclasses import dataclass
from typing import Any

from proxy_core.directory import GatewayConfig, GatewayDirectory
from proxy_core.errors import ErrorCode, GatewayError
from proxy_core.exchange import Exchange
from proxy_core.ids import new_ulid
from proxy_core.logpipe import LogPipe
from proxy_core.policy import DEFAULT_POLICY, RequestPolicy, parse_policy
from proxy_core.ratelimit import LocalRateLimits, RateLimits
from proxy_core.redact import redact_query

__all__ = ["Admission", "Admitted", "TOKEN_PREFIX", "digest_secret", "reply_headers", "split_token", "verify_token"]

TOKEN_PREFIX = "aigw_"


def digest_secret(salt: str, secret: str) -> str:
    return hashlib.sha256((salt + secret).encode()).hexdigest()


def split_token(token: str) -> tuple[str, str] | None:
    """``(token id, secret)`` of a well-formed token, else ``None``."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    token_id, sep, secret = token[len(TOKEN_PREFIX) :].partition("_")
    if not sep or len(token_id) != 26 or not secret:
        return None
    return token_id.upper(), secret


def verify_token(token: str, salt: str, digest: str) -> bool:
    parts = split_token(token)
    if parts is None:
        return False
    return hmac.compare_digest(digest_secret(salt, parts[1]), digest)


def reply_headers(log_id: str, event_id: str | None) -> dict[str, str]:
    """The headers every answer carries: its log row's id, and the client's event id back."""
    headers = {"cf-aig-log-id": log_id}
    if event_id:
        headers["cf-aig-event-id"] = event_id
    return headers


@dataclass(slots=True)
class Admitted:
    """A request let in: what every later stage of it shares."""

    gateway: GatewayConfig
    policy: RequestPolicy
    started: float
    """``time.perf_counter()`` at arrival: durations are measured from here."""
    started_ms: int
    request_type: str
    """``provider``, ``compat``, ``universal``, ``websocket`` or ``realtime`` (the log's column)."""
    method: str
    headers: list[tuple[str, str]]
    """The client's headers as received, for the log (redacted by the log pipeline)."""



class Admission:
    """The checks every request passes before it costs a provider call."""

    def __init__(self, directory: GatewayDirectory, pipe: LogPipe, limits: RateLimits | None = None) -> None:
        self.directory = directory
        self.pipe = pipe
        self.limits = limits or LocalRateLimits()

    async def admit(
        self,
        account_id: str,
        gateway_id: str,
        headers: Any,
        *,
        request_type: str,
        method: str,
        provider: str,
        path: str,
    ) -> Admitted:
        """Let the request in, or raise the error to answer with (``provider`` and ``path`` name
        it in the log row of a refusal)."""
        if not self.pipe.has_room and not await self.pipe.wait_for_room():
            # Not logged (there is no room for it) but counted in the pipe's stats and /healthz.
            raise GatewayError(
                ErrorCode.LOGS_BEHIND, "The gateway's log store is not keeping up; retry shortly",
                headers={"Retry-After": "1"},
            )  # fmt: skip
        started, started_ms = time.perf_counter(), int(time.time() * 1000)
        gateway: GatewayConfig | None = None
        policy = DEFAULT_POLICY
        try:
            gateway = self.gateway_for(account_id, gateway_id)
            self.authenticate(headers.get("cf-aig-authorization"), gateway)
            policy = parse_policy(headers)
            await self.rate_limit(gateway)
        except GatewayError as err:
            if gateway is None or err.code == ErrorCode.UNAUTHORIZED:
                raise err.with_headers(reply_headers(new_ulid(started_ms), policy.event_id)) from None
            admitted = Admitted(gateway, policy, started, started_ms, request_type, method, list(headers.items()))
            raise self.refuse(admitted, err, provider, path) from None
        return Admitted(gateway, policy, started, started_ms, request_type, method, list(headers.items()))

    def refuse(self, admitted: Admitted, err: GatewayError, provider: str, path: str, query: str = "") -> GatewayError:
        """Log an error answered before any upstream call (without bodies, so it shows in the
        console) and return it with the log id to answer with."""
        log_id = new_ulid(admitted.started_ms)
        policy = admitted.policy
        gateway = admitted.gateway
        ex = Exchange(
            id=log_id,
            account_id=gateway.account_id,
            gateway_id=gateway.id,
            started_ms=admitted.started_ms,
            provider=provider,
            family=None,
            path=path + ("?" + redact_query(query) if query else ""),
            method=admitted.method,
            request_type=admitted.request_type,
            policy=policy,
            collect_bodies=False,
            collect_log=gateway.collect_logs if policy.collect_log is None else policy.collect_log,
            request_headers=admitted.headers,
            status_code=err.status,
            error_code=err.code,
            error=err.message,
        )
        self.pipe.submit(ex.ended(admitted.started))
        return err.with_headers(reply_headers(log_id, policy.event_id))

    def gateway_for(self, account_id: str, gateway_id: str) -> GatewayConfig:
        gateway = self.directory.get(account_id, gateway_id)
        if gateway is None:
            if account_id not in self.directory.accounts():
                raise GatewayError(ErrorCode.UNKNOWN_ACCOUNT, f"Unknown account '{account_id}'")
            raise GatewayError(ErrorCode.UNKNOWN_GATEWAY, f"Unknown gateway '{gateway_id}'")
        return gateway

    def authenticate(self, raw: str | None, gateway: GatewayConfig) -> None:
        """Authenticated gateways need ``cf-aig-authorization: Bearer <token>`` with a live token (the
        reference's own realtime example sends the token bare, so ``Bearer`` may be left out)."""
        if not gateway.authentication:
            return
        if not raw:
            raise GatewayError(ErrorCode.UNAUTHORIZED, "Unauthorized: this gateway requires cf-aig-authorization")
        scheme, _, rest = raw.strip().partition(" ")
        token = (rest if scheme.lower() == "bearer" else raw).strip()
        parts = split_token(token)
        stored = parts and self.directory.token_digest(gateway.account_id, gateway.id, parts[0])
        if not stored or not verify_token(token, *stored):
            raise GatewayError(ErrorCode.UNAUTHORIZED, "Unauthorized: invalid or revoked gateway token")

    async def rate_limit(self, gateway: GatewayConfig) -> None:
        wait = await self.limits.check(
            (gateway.account_id, gateway.id),
            gateway.rate_limiting_limit,
            gateway.rate_limiting_interval,
            gateway.rate_limiting_technique,
        )
        if wait is not None:
            raise GatewayError(
                ErrorCode.RATE_LIMITED,
                f"Rate limited: more than {gateway.rate_limiting_limit} requests per "
                f"{gateway.rate_limiting_interval}s ({gateway.rate_limiting_technique} window)",
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )
