"""The request path: provider passthrough and the universal endpoint.

``/v1/{account}/{gateway}/{provider}/{path}`` is one *step*; the universal endpoint
(``POST /v1/{account}/{gateway}``) is a list of steps tried in order. Each step runs its attempts
(retries with backoff, a first-byte timeout) and answers from the cache when it can. The path
does the least it can: gateways, tokens and limits are in memory, bodies are forwarded as bytes,
and usage, cost, redaction and the database happen in the log pipeline after the client has its
answer.
"""

from __future__ import annotations

import asyncio
import hmac
import math
import secrets
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

import aiohttp
import orjson
from aiohttp import web
from yarl import URL

from proxy_core.bounded_body import decodable_accept, read_body
from proxy_core.cache import MAX_CACHEABLE_BYTES, CacheBackend, CachedResponse, cache_key, custom_cache_key
from proxy_core.compat import CompatError
from proxy_core.compat_endpoint import CompatReply, build_compat_request
from proxy_core.config import Settings
from proxy_core.directory import GatewayConfig, GatewayDirectory
from proxy_core.errors import ErrorCode, GatewayError, error_response
from proxy_core.exchange import Exchange
from proxy_core.guarding import Guard, ResponseMode, merged_log
from proxy_core.guardrails import GuardrailOutcome
from proxy_core.ids import new_ulid
from proxy_core.logpipe import LogPipe
from proxy_core.policy import DEFAULT_POLICY, RequestPolicy, parse_policy, parse_step_config
from proxy_core.providers.registry import ProviderRegistry, ResolvedProvider
from proxy_core.ratelimit import RateLimiter
from proxy_core.redact import redact_query
from proxy_core.relay import HOP_BY_HOP, is_streamed, note_unread, relay_body, relay_error, relay_stream
from proxy_core.relay import relay_upstream, upstream_headers
from proxy_core.retry import is_retryable_status, plan_for
from proxy_core.safepath import check_path
from proxy_core.services.tokens import split_token, verify_token

__all__ = ["LOOPBACK_HEADER", "Proxy", "Step", "split_provider_path"]

LOOPBACK_HEADER = "cf-aig-internal-websocket"
"""Marks the WebSocket endpoint's own calls to the universal endpoint (value: the process secret)."""

_STRIP_REQUEST = HOP_BY_HOP | {"host", "content-length", "expect", "cf-cache-ttl", "cf-skip-cache"}
"""Request headers not forwarded. ``Accept-Encoding`` is: the provider compresses only when the
client asked, and the answer goes back still compressed (the gateway adds none of its own)."""
_CUSTOM_KEY_TTL = 300
"""Seconds a ``cf-aig-cache-key`` entry lives when neither the request nor the gateway sets a TTL."""


def _now_ms() -> int:
    return int(time.time() * 1000)


def _forward_headers(headers: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in headers.items():
        lower = name.lower()
        if lower in _STRIP_REQUEST or lower.startswith("cf-aig-"):
            continue
        out[name] = value
    return out


@dataclass(slots=True)
class _Request:
    """What every step of one client request shares."""

    request: web.Request
    gateway: GatewayConfig
    policy: RequestPolicy
    started: float
    started_ms: int
    request_type: str
    raw_headers: list[tuple[str, str]]


@dataclass(slots=True)
class Step:
    """One upstream target: a provider, its resolved base and path, the body and headers to send."""

    index: int
    provider: str
    resolved: ResolvedProvider
    query: str
    method: str
    body: bytes
    headers: dict[str, str]
    policy: RequestPolicy
    reply: CompatReply | None = None
    """Set for the OpenAI-compatible endpoint: answers are translated back to OpenAI's format."""

    @property
    def url(self) -> str:
        return self.resolved.upstream_base + self.resolved.path + ("?" + self.query if self.query else "")

    @property
    def logged_path(self) -> str:
        return self.resolved.path + ("?" + redact_query(self.query) if self.query else "")


class _Failed:
    """A step that did not answer (every attempt logged); the next step is tried."""


_FAILED = _Failed()



def split_provider_path(request: web.Request, account_id: str, gateway_id: str, provider: str) -> tuple[str, str]:
    """``(path below the provider, raw query)`` of a provider request, still percent-encoded (so
    the path checks see what the client sent)."""
    raw_path = request.raw_path
    query_at = raw_path.find("?")
    raw_tail = raw_path if query_at < 0 else raw_path[:query_at]
    query = "" if query_at < 0 else raw_path[query_at + 1 :]
    prefix = f"/v1/{account_id}/{gateway_id}/{provider}"
    tail = raw_tail[len(prefix) :] if raw_tail.startswith(prefix) else "/" + request.match_info.get("tail", "")
    return tail, query

class Proxy:
    """The request handlers and the state they need (no globals: built by the app factory)."""

    def __init__(
        self,
        settings: Settings,
        registry: ProviderRegistry,
        directory: GatewayDirectory,
        pipe: LogPipe,
        *,
        cache: CacheBackend | None = None,
        limiter: RateLimiter | None = None,
        guard: Guard | None = None,
    ) -> None:
        self.settings = settings
        self.registry = registry
        self.directory = directory
        self.pipe = pipe
        self.cache = cache
        self.limiter = limiter or RateLimiter()
        self.guard = guard
        self.client: aiohttp.ClientSession | None = None
        self.sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep
        """Waits between retries (tests replace it to record the backoff schedule)."""
        self.now_ms: Callable[[], int] = _now_ms
        """The clock of cache expiry (tests replace it to step over a TTL)."""
        self.share_cache_across_credentials = False
        self._max_body = settings.server.max_body_bytes
        self._body_timeout = settings.server.body_read_timeout
        self._max_captured = settings.logs.max_stored_body_bytes
        self._background: set[asyncio.Task[Any]] = set()
        self.realtime: Callable[[web.Request], Awaitable[web.StreamResponse]] | None = None
        """Serves WebSocket upgrades of provider paths (``proxy_core.ws_realtime``, set by the app factory)."""
        self.loopback_secret = secrets.token_urlsafe(24)

    # -- the common prelude ----------------------------------------------------------------------

    def gateway_for(self, account_id: str, gateway_id: str) -> GatewayConfig:
        gateway = self.directory.get(account_id, gateway_id)
        if gateway is None:
            if account_id not in self.directory.accounts():
                raise GatewayError(ErrorCode.UNKNOWN_ACCOUNT, f"Unknown account '{account_id}'")
            raise GatewayError(ErrorCode.UNKNOWN_GATEWAY, f"Unknown gateway '{gateway_id}'")
        return gateway

    def authenticate(self, request: web.Request, gateway: GatewayConfig) -> None:
        """Authenticated gateways need ``cf-aig-authorization: Bearer <token>`` with a live token (the
        reference's own realtime example sends the token bare, so ``Bearer`` may be left out)."""
        if not gateway.authentication:
            return
        raw = request.headers.get("cf-aig-authorization")
        if not raw:
            raise GatewayError(ErrorCode.UNAUTHORIZED, "Unauthorized: this gateway requires cf-aig-authorization")
        scheme, _, rest = raw.strip().partition(" ")
        token = rest if scheme.lower() == "bearer" else raw
        parts = split_token(token.strip())
        stored = parts and self.directory.token_digest(gateway.account_id, gateway.id, parts[0])
        if not stored or not verify_token(token.strip(), *stored):
            raise GatewayError(ErrorCode.UNAUTHORIZED, "Unauthorized: invalid or revoked gateway token")

    def rate_limit(self, gateway: GatewayConfig) -> None:
        wait = self.limiter.check(
            (gateway.account_id, gateway.id),
            gateway.rate_limiting_limit,
            gateway.rate_limiting_interval,
            gateway.rate_limiting_technique,
        )
        if wait is not None:
            seconds = max(1, math.ceil(wait))
            raise GatewayError(
                ErrorCode.RATE_LIMITED,
                f"Rate limited: more than {gateway.rate_limiting_limit} requests per "
                f"{gateway.rate_limiting_interval}s ({gateway.rate_limiting_technique} window)",
                headers={"Retry-After": str(seconds)},
            )

    async def read_body(self, request: web.Request) -> bytes:
        """The request body, refusing oversize bodies before reading and slow ones after a deadline."""
        length = request.content_length
        if length is not None and length > self._max_body:
            raise GatewayError(ErrorCode.BODY_TOO_LARGE, f"Request body exceeds {self._max_body} bytes")
        if not request.body_exists:
            return b""
        try:
            if request.content.is_eof():  # already received with the headers: no deadline to arm
                return await request.read()
            async with asyncio.timeout(self._body_timeout):
                return await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise GatewayError(ErrorCode.BODY_TOO_LARGE, f"Request body exceeds {self._max_body} bytes") from None
        except TimeoutError:
            raise GatewayError(
                ErrorCode.CLIENT_TIMEOUT, f"Request body not received within {self._body_timeout:g}s"
            ) from None

    async def _prelude(self, request: web.Request, request_type: str) -> tuple[_Request | None, web.Response | None]:
        """Room in the log queue, gateway, token, rate limit and headers; an error here is answered at once."""
        if not self.pipe.has_room and not await self.pipe.wait_for_room():
            # Not logged (there is no room for it) but counted in the pipe's stats and /healthz.
            err = GatewayError(
                ErrorCode.LOGS_BEHIND, "The gateway's log store is not keeping up; retry shortly",
                headers={"Retry-After": "1"},
            )  # fmt: skip
            return None, error_response(err)
        started, started_ms = time.perf_counter(), _now_ms()
        match = request.match_info
        gateway: GatewayConfig | None = None
        policy = DEFAULT_POLICY
        try:
            gateway = self.gateway_for(match["account"], match["gateway"])
            self.authenticate(request, gateway)
            policy = parse_policy(request.headers)
            self.rate_limit(gateway)
        except GatewayError as err:
            log_id = new_ulid(started_ms)
            # Unauthenticated requests are not logged: authentication exists to keep them out.
            if gateway is not None and err.code != ErrorCode.UNAUTHORIZED:
                self._log_early(request, err, log_id, started, started_ms, gateway, policy, request_type)
            headers = {"cf-aig-log-id": log_id}
            if policy.event_id:
                headers["cf-aig-event-id"] = policy.event_id
            return None, error_response(err, headers)
        ctx = _Request(request, gateway, policy, started, started_ms, request_type, list(request.headers.items()))
        return ctx, None

    # -- handlers --------------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Provider passthrough."""
        if self.realtime is not None and request.headers.get("Upgrade", "").strip().lower() == "websocket":
            return await self.realtime(request)
        ctx, error = await self._prelude(request, "provider")
        if ctx is None:
            assert error is not None
            return error
        provider = request.match_info["provider"]
        if provider == "compat":
            return await self._handle_compat(ctx)
        raw_tail, query = split_provider_path(request, ctx.gateway.account_id, ctx.gateway.id, provider)
        try:
            check_path(raw_tail)
            resolved = self.registry.resolve(provider, raw_tail, account_id=ctx.gateway.account_id)
        except GatewayError as err:
            return self._answer_early(ctx, err, provider, raw_tail, query)
        try:
            body = await self.read_body(request)
        except GatewayError as err:
            return self._answer_early(ctx, err, provider, resolved.path, query)
        step = Step(0, provider, resolved, query, request.method, body, _forward_headers(request.headers), ctx.policy)
        return await self._run(ctx, [step])

    async def _handle_compat(self, ctx: _Request) -> web.StreamResponse:
        """``/compat/chat/completions``: ``model`` is ``{provider}/{model}``; answers come back in
        OpenAI's format whatever the provider."""
        request = ctx.request
        ctx.request_type = "compat"
        if request.match_info.get("tail", "").strip("/") != "chat/completions" or request.method != "POST":
            err = GatewayError(ErrorCode.NOT_FOUND, "The OpenAI-compatible endpoint is POST /compat/chat/completions")
            return self._answer_early(ctx, err, "compat", "/" + request.match_info.get("tail", ""), "")
        try:
            body = await self.read_body(request)
            compat = build_compat_request(self.registry, ctx.gateway.account_id, body, dict(request.headers))
        except GatewayError as err:
            return self._answer_early(ctx, err, "compat", "/chat/completions", "")
        except CompatError as exc:
            log_id = new_ulid(ctx.started_ms)
            err = GatewayError(ErrorCode.BAD_REQUEST, exc.message)
            self._log_early(request, err, log_id, ctx.started, ctx.started_ms, ctx.gateway, ctx.policy, "compat",
                            provider="compat", path="/chat/completions")  # fmt: skip
            return web.Response(status=exc.status, body=orjson.dumps(exc.body()), content_type="application/json",
                                headers={"cf-aig-log-id": log_id})  # fmt: skip
        forward = _forward_headers(compat.headers)
        step = Step(0, compat.provider, compat.resolved, compat.query, "POST", compat.body, forward, ctx.policy,
                    reply=compat.reply)  # fmt: skip
        return await self._run(ctx, [step])

    async def handle_universal(self, request: web.Request) -> web.StreamResponse:
        """``POST /v1/{account}/{gateway}``: one request object or an array of fallbacks."""
        mark = request.headers.get(LOOPBACK_HEADER, "").encode(errors="replace")
        kind = "websocket" if hmac.compare_digest(mark, self.loopback_secret.encode()) else "universal"
        ctx, error = await self._prelude(request, kind)
        if ctx is None:
            assert error is not None
            return error
        try:
            body = await self.read_body(request)
            steps = self._universal_steps(ctx, body)
        except GatewayError as err:
            return self._answer_early(ctx, err, "universal", "/", "")
        return await self._run(ctx, steps)

    def _universal_steps(self, ctx: _Request, body: bytes) -> list[Step]:
        try:
            payload = orjson.loads(body) if body else None
        except orjson.JSONDecodeError as exc:
            raise GatewayError(ErrorCode.MALFORMED_JSON, f"Universal request body is not valid JSON: {exc}") from None
        items = payload if isinstance(payload, list) else [payload]
        if not items or not all(isinstance(item, dict) for item in items):
            raise GatewayError(ErrorCode.BAD_REQUEST, "Universal request: expected an object or a non-empty array of objects")
        if len(items) > 16:
            raise GatewayError(ErrorCode.BAD_REQUEST, "Universal request: at most 16 steps")
        return [self._universal_step(ctx, index, item) for index, item in enumerate(items)]

    def _universal_step(self, ctx: _Request, index: int, item: dict[str, Any]) -> Step:
        where = f"steps[{index}]"
        provider, endpoint = item.get("provider"), item.get("endpoint")
        if not isinstance(provider, str) or not provider:
            raise GatewayError(ErrorCode.BAD_REQUEST, f"{where}: 'provider' must be a provider name")
        if not isinstance(endpoint, str):
            raise GatewayError(ErrorCode.BAD_REQUEST, f"{where}: 'endpoint' must be the provider's path")
        headers = item.get("headers") or {}
        if not isinstance(headers, dict) or not all(isinstance(v, (str, int, float)) for v in headers.values()):
            raise GatewayError(ErrorCode.BAD_REQUEST, f"{where}: 'headers' must be an object of strings")
        headers = {str(k): str(v) for k, v in headers.items()}
        if isinstance(item.get("authorization"), str) and not any(k.lower() == "authorization" for k in headers):
            headers["Authorization"] = item["authorization"]
        step_policy = parse_policy(headers).overlay(_config_policy(item.get("config"), where))
        payload = item.get("query")
        body = b"" if payload is None else orjson.dumps(payload)
        if provider == "compat":  # the step POST …/compat/chat/completions sends, answered in OpenAI's format
            if endpoint.strip("/") != "chat/completions":
                raise GatewayError(ErrorCode.NOT_FOUND, f"{where}: provider 'compat' serves only 'chat/completions'")
            try:
                compat = build_compat_request(self.registry, ctx.gateway.account_id, body, headers)
            except CompatError as exc:
                raise GatewayError(ErrorCode.BAD_REQUEST, f"{where}: {exc.message}") from None
            except GatewayError as err:
                raise GatewayError(err.code, f"{where}: {err.message}") from None
            return Step(index, compat.provider, compat.resolved, compat.query, "POST", compat.body,
                        _forward_headers(compat.headers), ctx.policy.overlay(step_policy), reply=compat.reply)  # fmt: skip
        path, _, query = endpoint.lstrip("/").partition("?")
        raw_path = "/" + path
        check_path(raw_path)
        resolved = self.registry.resolve(provider, raw_path, account_id=ctx.gateway.account_id)
        forward = _forward_headers(headers)
        if body and not any(k.lower() == "content-type" for k in forward):
            forward["Content-Type"] = "application/json"
        return Step(index, provider, resolved, query, "POST", body, forward, ctx.policy.overlay(step_policy))

    # -- steps and attempts ----------------------------------------------------------------------

    async def _run(self, ctx: _Request, steps: list[Step]) -> web.StreamResponse:
        for step in steps:
            outcome = await self._try_step(ctx, step, last_step=step.index == len(steps) - 1)
            if not isinstance(outcome, _Failed):
                return outcome
        raise AssertionError("the last step always answers")  # pragma: no cover

    def _exchange(self, ctx: _Request, step: Step, started_ms: int) -> Exchange:
        policy = step.policy
        collect = ctx.gateway.collect_logs if policy.collect_log is None else policy.collect_log
        return Exchange(
            id=new_ulid(started_ms),
            account_id=ctx.gateway.account_id,
            gateway_id=ctx.gateway.id,
            started_ms=started_ms,
            provider=step.provider,
            family=step.resolved.spec.family,
            path=step.logged_path,
            method=step.method,
            request_type=ctx.request_type,
            policy=policy,
            collect_bodies=collect,
            collect_log=collect,
            request_headers=ctx.raw_headers if ctx.request_type == "provider" else list(step.headers.items()),
            request_body=step.body,
            step=step.index,
        )

    def _reply_headers(self, ex: Exchange, step: Step, cache_status: str) -> dict[str, str]:
        headers = {"cf-aig-log-id": ex.id, "cf-aig-cache-status": cache_status}
        if step.policy.event_id:
            headers["cf-aig-event-id"] = step.policy.event_id
        if ex.request_type in ("universal", "websocket"):
            headers["cf-aig-step"] = str(step.index)
        return headers

    async def _try_step(self, ctx: _Request, step: Step, *, last_step: bool) -> web.StreamResponse | _Failed:
        request = ctx.request
        guard_policy = Guard.policy(ctx.gateway) if self.guard is not None else None
        prompt_outcome = None
        if guard_policy is not None:
            assert self.guard is not None
            prompt_outcome = await self.guard.check_prompt(
                guard_policy, step.resolved.spec.family, step.resolved.path, step.body
            )
            if prompt_outcome is not None and prompt_outcome.action == "blocked":
                ex = self._exchange(ctx, step, _now_ms())
                ex.guardrails = prompt_outcome.to_log()
                err = GatewayError(ErrorCode.PROMPT_BLOCKED, "Prompt blocked due to security configurations")
                response = await relay_error(request, ex, err, self._reply_headers(ex, step, "MISS"))
                self._finish(ex, ctx.started)
                return response
        key, ttl = self._cache_plan(ctx, step)
        if key is not None and self.cache is not None:
            cached = await self._cache_get(key)
            if cached is not None:
                ex = self._exchange(ctx, step, _now_ms())
                ex.guardrails = merged_log(prompt_outcome, None)
                response = await relay_body(
                    request, ex, cached.status, cached.headers, cached.body, cached.streamed,
                    self._reply_headers(ex, step, "HIT"), cached=True, rewrite=step.reply,
                )  # fmt: skip
                self._finish(ex, ctx.started)
                return response
        plan = plan_for(step.policy, ctx.gateway)
        assert self.client is not None, "the upstream session is opened by the app's cleanup context"
        send_headers = self._upstream_headers(ctx, step, guard_policy)
        for attempt in range(1, plan.max_attempts + 1):
            attempt_started = time.perf_counter()
            ex = self._exchange(ctx, step, _now_ms())
            ex.guardrails = merged_log(prompt_outcome, None)
            final = attempt == plan.max_attempts
            try:
                async with asyncio.timeout(plan.timeout_for(attempt, last_step=last_step)):
                    upstream = await self.client.request(
                        step.method, URL(step.url, encoded=True), headers=send_headers,
                        data=step.body or None, allow_redirects=False,
                    )  # fmt: skip
            except (TimeoutError, aiohttp.ClientError) as exc:
                err = _upstream_error(step.provider, exc)
                if final and last_step:
                    response = await relay_error(request, ex, err, self._reply_headers(ex, step, "MISS"))
                    self._finish(ex, ctx.started)
                    return response
                self._log_failed_attempt(ex, err.status, err.code, err.message, attempt_started)
                if not final:
                    await self.sleep(plan.delay_before(attempt))
                    continue
                return _FAILED
            ex.ttfb_ms = int((time.perf_counter() - ctx.started) * 1000)
            try:
                status = upstream.status
                if 200 <= status < 300 or (last_step and (final or not is_retryable_status(status))):
                    reply = self._reply_headers(ex, step, "MISS")
                    mode = ResponseMode.NONE
                    if guard_policy is not None and 200 <= status < 300:
                        assert self.guard is not None
                        mode = self.guard.response_mode(
                            guard_policy, step.resolved.spec.family, step.resolved.path, is_streamed(upstream)
                        )
                    if mode == ResponseMode.BUFFER:
                        response = await self._relay_judged(ctx, step, ex, upstream, guard_policy, prompt_outcome, reply)
                    else:
                        response = await relay_upstream(
                            request, ex, upstream, reply, self._max_captured, rewrite=step.reply
                        )
                        if mode == ResponseMode.AFTER and ex.error_code is None:
                            if ex.response_body is not None:
                                await self._judge_after(step, ex, guard_policy, prompt_outcome)
                            elif ex.unread_reason is not None:
                                ex.guardrails = merged_log(prompt_outcome, self._unread_outcome(guard_policy, ex))
                    self._finish(ex, ctx.started)
                    if key is not None and ttl and 200 <= ex.status_code < 300 and ex.error_code is None:
                        self._cache_put(ctx, key, ttl, ex)
                    return response
                body, unread = await _read_quietly(upstream, self._max_captured)
            finally:
                upstream.release()
            ex.response_headers = [(k, v) for k, v in upstream.headers.items()]
            ex.response_body = body
            note_unread(ex, unread)
            self._log_failed_attempt(ex, status, None, f"upstream answered {status}", attempt_started)
            if not final and is_retryable_status(status):
                await self.sleep(plan.delay_before(attempt))
                continue
            return _FAILED
        return _FAILED  # pragma: no cover - the loop always returns

    def _upstream_headers(self, ctx: _Request, step: Step, guard_policy: Any) -> dict[str, str]:
        """The step's headers, with ``Accept-Encoding`` narrowed to codings the gateway decodes when
        it must read the answer first: a translated answer (decoded for the client, as before) or
        one judged by response guardrails (so ``br`` cannot carry an answer past them). The
        WebSocket endpoint reads its loopback answers undecoded, so it asks for none."""
        wanted: str | None
        if step.reply is not None:
            wanted = "gzip, deflate"
        else:
            accept = next((v for k, v in step.headers.items() if k.lower() == "accept-encoding"), None)
            if accept is None:
                return step.headers
            if ctx.request_type == "websocket":
                wanted = None
            elif guard_policy is not None and self.guard is not None and self.guard.engine.needs(guard_policy, "response"):
                wanted = decodable_accept(accept)
            else:
                return step.headers
        headers = {k: v for k, v in step.headers.items() if k.lower() != "accept-encoding"}
        if wanted is not None:
            headers["Accept-Encoding"] = wanted
        return headers

    async def _relay_judged(
        self,
        ctx: _Request,
        step: Step,
        ex: Exchange,
        upstream: aiohttp.ClientResponse,
        policy: Any,
        prompt_outcome: Any,
        reply: dict[str, str],
    ) -> web.StreamResponse:
        """Buffer the answer (at most the stored-body limit, decoded), judge it, then send it or
        refuse it with 2017. An answer the gateway cannot read is judged as an evaluator that
        cannot answer: refused when a response category blocks, else sent as it came, unjudged."""
        assert self.guard is not None
        streamed = is_streamed(upstream)
        headers = upstream_headers(upstream)
        try:
            got = await read_body(
                upstream.content, upstream.headers.get("content-encoding"), self._max_captured,
                raw_cap=self._max_captured if streamed else max(self._max_captured, upstream.content_length or 0),
            )  # fmt: skip
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            err = _upstream_error(step.provider, exc)
            return await relay_error(ctx.request, ex, err, reply)
        ex.status_code, ex.response_headers = upstream.status, headers
        content_type = upstream.headers.get("content-type", "")
        if got.decoded is None:
            outcome = self._unread_outcome(policy, ex, got.reason)
        else:
            outcome = await self.guard.check_response(
                policy, step.resolved.spec.family, step.resolved.path, got.decoded, streamed, content_type
            )
        ex.guardrails = merged_log(prompt_outcome, outcome)
        if outcome.action == "blocked":
            err = GatewayError(ErrorCode.RESPONSE_BLOCKED, "Response blocked due to security configurations")
            response = await relay_error(ctx.request, ex, err, reply)
            # the log keeps what the provider said; the client does not get it
            ex.response_body, ex.response_size = got.decoded, len(got.raw)
            note_unread(ex, got.reason)
            return response
        if got.decoded is None and (step.reply is not None or not got.complete):
            if step.reply is not None:  # nothing to translate
                err = GatewayError(
                    ErrorCode.UPSTREAM_UNREACHABLE, f"Provider '{step.provider}' sent an answer the gateway cannot read"
                )
                response = await relay_error(ctx.request, ex, err, reply)
                note_unread(ex, got.reason)
                return response
            # over the cap before its end: what was read goes first, the rest follows as it comes
            return await relay_stream(
                ctx.request, ex, upstream, reply, self._max_captured, None, head=got.raw, unread=got.reason
            )
        sent = got.decoded if step.reply is not None else got.raw
        response = await relay_body(ctx.request, ex, upstream.status, headers, sent or b"", streamed, reply,
                                    rewrite=step.reply)  # fmt: skip
        ex.response_body, ex.response_size = got.decoded, len(got.raw)
        note_unread(ex, got.reason)
        return response

    async def _judge_after(self, step: Step, ex: Exchange, policy: Any, prompt_outcome: Any) -> None:
        """Flag-only responses of a stream: judged once the client has the whole stream."""
        assert self.guard is not None and ex.response_body is not None
        content_type = next((v for k, v in ex.response_headers if k.lower() == "content-type"), "")
        outcome = await self.guard.check_response(
            policy, step.resolved.spec.family, step.resolved.path, ex.response_body, True, content_type
        )
        ex.guardrails = merged_log(prompt_outcome, outcome)

    def _unread_outcome(self, policy: Any, ex: Exchange, reason: str | None = None) -> GuardrailOutcome:
        """The response stage of an answer the gateway could not read: like an evaluator that
        cannot answer, blocked when a response category blocks (fail closed), else passed unjudged."""
        assert self.guard is not None
        fail_closed = any(action == "block" for action in (policy.get("response") or {}).values())
        return GuardrailOutcome(
            evaluated=False, action="blocked" if fail_closed else "passed", categories=(), stage="response",
            evaluator=self.guard.engine.evaluator.name, latency_ms=0,
            error=f"body_unread: {reason or ex.unread_reason}",
        )  # fmt: skip

    # -- cache -----------------------------------------------------------------------------------

    def _cache_plan(self, ctx: _Request, step: Step) -> tuple[str | None, int]:
        """``(key, ttl seconds)`` when this step may be answered from / stored in the cache."""
        policy = step.policy
        if self.cache is None or policy.skip_cache or len(step.body) > MAX_CACHEABLE_BYTES:
            return None, 0
        gateway = ctx.gateway
        if policy.cache_key is not None:
            ttl = policy.cache_ttl if policy.cache_ttl is not None else (gateway.cache_ttl or _CUSTOM_KEY_TTL)
            return (custom_cache_key(gateway.account_id, gateway.id, policy.cache_key), ttl) if ttl else (None, 0)
        ttl = policy.cache_ttl if policy.cache_ttl is not None else (gateway.cache_ttl or 0)
        if not ttl:
            return None, 0
        path_and_query = step.resolved.upstream_base + step.resolved.path + ("?" + step.query if step.query else "")
        key = cache_key(
            step.provider, step.method, path_and_query, step.body, step.headers,
            share_across_credentials=self.share_cache_across_credentials,
        )  # fmt: skip
        return f"{gateway.account_id}/{gateway.id}/{key}", ttl

    async def _cache_get(self, key: str) -> CachedResponse | None:
        assert self.cache is not None
        try:
            return await self.cache.get(key, self.now_ms())
        except Exception:  # a broken cache must not break the request: answer from upstream
            return None

    def _cache_put(self, ctx: _Request, key: str, ttl: int, ex: Exchange) -> None:
        if self.cache is None or ex.response_body is None or len(ex.response_body) > MAX_CACHEABLE_BYTES:
            return
        now = self.now_ms()
        # The cache keeps the decoded content, so a hit is served unencoded to any client.
        headers = [(k, v) for k, v in ex.response_headers if k.lower() != "content-encoding"]
        entry = CachedResponse(ex.status_code, headers, ex.response_body, ex.streamed, now, now + ttl * 1000)
        task = asyncio.get_running_loop().create_task(
            self.cache.put(key, ctx.gateway.account_id, ctx.gateway.id, entry)
        )
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def drain_background(self) -> None:
        """Wait for pending cache writes (at shutdown, and in tests)."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    # -- endings ---------------------------------------------------------------------------------

    def _finish(self, ex: Exchange, started: float) -> None:
        ex.duration_ms = int((time.perf_counter() - started) * 1000)
        self.pipe.submit(ex)

    def _log_failed_attempt(self, ex: Exchange, status: int, code: int | None, message: str, started: float) -> None:
        ex.status_code = status
        ex.error_code = code
        ex.error = message
        self._finish(ex, started)

    def _answer_early(self, ctx: _Request, err: GatewayError, provider: str, path: str, query: str) -> web.Response:
        log_id = new_ulid(ctx.started_ms)
        self._log_early(ctx.request, err, log_id, ctx.started, ctx.started_ms, ctx.gateway, ctx.policy,
                        ctx.request_type, provider=provider, path=path, query=query)  # fmt: skip
        headers = {"cf-aig-log-id": log_id}
        if ctx.policy.event_id:
            headers["cf-aig-event-id"] = ctx.policy.event_id
        return error_response(err, headers)

    def _log_early(
        self,
        request: web.Request,
        err: GatewayError,
        log_id: str,
        started: float,
        started_ms: int,
        gateway: GatewayConfig,
        policy: RequestPolicy,
        request_type: str,
        *,
        provider: str | None = None,
        path: str | None = None,
        query: str = "",
    ) -> None:
        """Errors before any upstream call: logged (without bodies) so they show in the console."""
        if provider is None:
            provider = request.match_info.get("provider", request_type)
        if path is None:
            path = "/" + request.match_info.get("tail", "")
        ex = Exchange(
            id=log_id,
            account_id=gateway.account_id,
            gateway_id=gateway.id,
            started_ms=started_ms,
            provider=provider,
            family=None,
            path=path + ("?" + redact_query(query) if query else ""),
            method=request.method,
            request_type=request_type,
            policy=policy,
            collect_bodies=False,
            collect_log=gateway.collect_logs if policy.collect_log is None else policy.collect_log,
            request_headers=list(request.headers.items()),
            status_code=err.status,
            error_code=err.code,
            error=err.message,
        )
        self._finish(ex, started)


def _upstream_error(provider: str, exc: BaseException) -> GatewayError:
    if isinstance(exc, TimeoutError):
        return GatewayError(ErrorCode.UPSTREAM_TIMEOUT, f"Provider '{provider}' did not answer in time")
    return GatewayError(ErrorCode.UPSTREAM_UNREACHABLE, f"Provider '{provider}' is unreachable: {type(exc).__name__}")


async def _read_quietly(upstream: aiohttp.ClientResponse, cap: int) -> tuple[bytes | None, str | None]:
    """A failed attempt's body for the log, decoded, at most ``cap`` bytes read or kept, and why
    not when it could not be read."""
    try:
        got = await read_body(upstream.content, upstream.headers.get("content-encoding"), cap, keep_raw=False)
    except (aiohttp.ClientError, asyncio.TimeoutError):
        return b"", None
    return got.decoded, got.reason


def _config_policy(config: Any, where: str) -> RequestPolicy:
    """A universal step's ``config`` (``requestTimeout``, ``maxAttempts``, ``retryDelay``, ``backoff``)."""
    if config is None:
        return DEFAULT_POLICY
    if not isinstance(config, dict):
        raise GatewayError(ErrorCode.BAD_REQUEST, f"{where}: 'config' must be an object")
    return parse_step_config(config, where)
