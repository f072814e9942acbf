"""Forwarding an admitted request: its steps in order, each with its attempts, the cache and the
guardrails, until one answers; the answer goes to a :class:`~proxy_core.relay.ClientSink`.

Each step runs its attempts (retries with backoff, a first-byte timeout) and answers from the
cache when it can. The path does the least it can: bodies are forwarded as bytes, and usage,
cost, redaction and the database happen in the log pipeline after the client has its answer.
Every attempt, answered or failed, is one log row, submitted when the client has what it gets.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Awaitable, Callable, Mapping

import aiohttp
from yarl import URL

from proxy_core.admission import Admitted, reply_headers
from proxy_core.bounded_body import decodable_accept, read_body
from proxy_core.cache.steps import StepCache
from proxy_core.errors import ErrorCode, GatewayError, upstream_error
from proxy_core.exchange import Exchange
from proxy_core.guarding import Guard, ResponseMode, merged_log
from proxy_core.guardrails import GuardrailOutcome
from proxy_core.ids import new_ulid
from proxy_core.judged_relay import judge_after, relay_judged
from proxy_core.logpipe import LogPipe
from proxy_core.relay import ClientSink, is_streamed, note_unread, relay_body, relay_error, relay_upstream
from proxy_core.retry import is_retryable_status, plan_for
from proxy_core.step import Step

__all__ = ["Forwarder"]

def _now_ms() -> int:
    return int(time.time() * 1000)


class Forwarder:
    """Runs steps against the providers over one upstream ``client`` session (built, with it, by
    the app's cleanup context)."""

    def __init__(
        self,
        client: aiohttp.ClientSession,
        pipe: LogPipe,
        *,
        capture_limit: int,
        cache: StepCache | None = None,
        guard: Guard | None = None,
    ) -> None:
        self.client = client
        self.pipe = pipe
        self.capture_limit = capture_limit
        """Bytes of an answer decoded and kept for the log, the cache and response guardrails."""
        self.cache = cache
        self.guard = guard
        self.sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep
        """Waits between retries (tests replace it to record the backoff schedule)."""

    async def run(self, admitted: Admitted, steps: list[Step], sink: ClientSink) -> None:
        """Try ``steps`` in order until one answers; the last one always does."""
        last = len(steps) - 1
        for step in steps:
            if await self._try_step(admitted, step, sink, last_step=step.index == last):
                return

    async def drain(self) -> None:
        """Wait for the cache writes still in flight (at shutdown, and in tests)."""
        if self.cache is not None:
            await self.cache.drain()

    def _exchange(self, admitted: Admitted, step: Step) -> Exchange:
        policy = step.policy
        gateway = admitted.gateway
        collect = gateway.collect_logs if policy.collect_log is None else policy.collect_log
        started_ms = _now_ms()
        return Exchange(
            id=new_ulid(started_ms),
            account_id=gateway.account_id,
            gateway_id=gateway.id,
            started_ms=started_ms,
            provider=step.provider,
            family=step.resolved.spec.family,
            path=step.logged_path,
            method=step.method,
            request_type=admitted.request_type,
            policy=policy,
            collect_bodies=collect,
            collect_log=collect,
            request_headers=admitted.headers if admitted.request_type == "provider" else list(step.headers.items()),
            request_body=step.body,
            step=step.index,
        )

    @staticmethod
    def _reply_headers(admitted: Admitted, ex: Exchange, step: Step, cache_status: str) -> dict[str, str]:
        headers = reply_headers(ex.id, step.policy.event_id)
        headers["cf-aig-cache-status"] = cache_status
        if admitted.request_type in ("universal", "websocket"):
            headers["cf-aig-step"] = str(step.index)
        return headers

    def _finish(self, admitted: Admitted, ex: Exchange) -> None:
        self.pipe.submit(ex.ended(admitted.started))

    async def _try_step(self, admitted: Admitted, step: Step, sink: ClientSink, *, last_step: bool) -> bool:
        """Answer the client from this step (``True``), or log its failed attempts (``False``)."""
        guard, gateway = self.guard, admitted.gateway
        guard_policy = Guard.policy(gateway) if guard is not None else None
        prompt_outcome: GuardrailOutcome | None = None
        if guard_policy is not None:
            assert guard is not None
            family, path = step.resolved.spec.family, step.resolved.path
            prompt_outcome = await guard.check_prompt(guard_policy, family, path, step.body)
            if prompt_outcome is not None and prompt_outcome.action == "blocked":
                ex = self._exchange(admitted, step)
                ex.guardrails = prompt_outcome.to_log()
                err = GatewayError(ErrorCode.PROMPT_BLOCKED, "Prompt blocked due to security configurations")
                await relay_error(sink, ex, err, self._reply_headers(admitted, ex, step, "MISS"))
                self._finish(admitted, ex)
                return True
        key, ttl = self.cache.plan(gateway, step) if self.cache is not None else (None, 0)
        if key is not None:
            assert self.cache is not None
            cached = await self.cache.get(key)
            if cached is not None:
                ex = self._exchange(admitted, step)
                ex.guardrails = merged_log(prompt_outcome, None)
                await relay_body(
                    sink, ex, cached.status, cached.headers, cached.body, cached.streamed,
                    self._reply_headers(admitted, ex, step, "HIT"), cached=True, rewrite=step.reply,
                )  # fmt: skip
                self._finish(admitted, ex)
                return True
        plan = plan_for(step.policy, gateway)
        send_headers = self._upstream_headers(admitted, step, guard_policy)
        for attempt in range(1, plan.max_attempts + 1):
            attempt_started = time.perf_counter()
            ex = self._exchange(admitted, step)
            ex.guardrails = merged_log(prompt_outcome, None)
            final = attempt == plan.max_attempts
            try:
                async with asyncio.timeout(plan.timeout_for(attempt, last_step=last_step)):
                    upstream = await self.client.request(
                        step.method, URL(step.url, encoded=True), headers=send_headers,
                        data=step.body or None, allow_redirects=False,
                    )  # fmt: skip
            except (TimeoutError, aiohttp.ClientError) as exc:
                err = upstream_error(step.provider, exc)
                if final and last_step:
                    await relay_error(sink, ex, err, self._reply_headers(admitted, ex, step, "MISS"))
                    self._finish(admitted, ex)
                    return True
                self._log_failed_attempt(ex, err.status, err.code, err.message, attempt_started)
                if not final:
                    await self.sleep(plan.delay_before(attempt))
                    continue
                return False
            ex.ttfb_ms = int((time.perf_counter() - admitted.started) * 1000)
            try:
                status = upstream.status
                if 200 <= status < 300 or (last_step and (final or not is_retryable_status(status))):
                    await self._answer(admitted, step, ex, upstream, sink, guard_policy, prompt_outcome)
                    self._finish(admitted, ex)
                    if key is not None and ttl and 200 <= ex.status_code < 300 and ex.error_code is None:
                        assert self.cache is not None
                        self.cache.put(gateway, key, ttl, ex)
                    return True
                body, unread = await _read_quietly(upstream, self.capture_limit)
            finally:
                upstream.release()
            ex.response_headers = [(k, v) for k, v in upstream.headers.items()]
            ex.response_body = body
            note_unread(ex, unread)
            self._log_failed_attempt(ex, status, None, f"upstream answered {status}", attempt_started)
            if not final and is_retryable_status(status):
                await self.sleep(plan.delay_before(attempt))
                continue
            return False
        return False  # pragma: no cover - the loop always returns

    async def _answer(
        self,
        admitted: Admitted,
        step: Step,
        ex: Exchange,
        upstream: aiohttp.ClientResponse,
        sink: ClientSink,
        guard_policy: Mapping[str, Any] | None,
        prompt_outcome: GuardrailOutcome | None,
    ) -> None:
        """Relay the provider's answer, judged by response guardrails where the policy asks."""
        reply = self._reply_headers(admitted, ex, step, "MISS")
        mode = ResponseMode.NONE
        guard = self.guard
        if guard_policy is not None and 200 <= upstream.status < 300:
            assert guard is not None
            family, path = step.resolved.spec.family, step.resolved.path
            mode = guard.response_mode(guard_policy, family, path, is_streamed(upstream))
        if mode == ResponseMode.BUFFER:
            assert guard is not None and guard_policy is not None
            await relay_judged(sink, guard, step, ex, upstream, guard_policy, prompt_outcome, reply, self.capture_limit)
            return
        await relay_upstream(sink, ex, upstream, reply, self.capture_limit, rewrite=step.reply)
        if mode == ResponseMode.AFTER and ex.error_code is None:
            assert guard is not None and guard_policy is not None
            await judge_after(guard, step, ex, guard_policy, prompt_outcome)

    def _upstream_headers(self, admitted: Admitted, step: Step, guard_policy: Mapping[str, Any] | None) -> dict[str, str]:
        """The step's headers, with ``Accept-Encoding`` narrowed to codings the gateway decodes when
        it must read the answer first: a translated answer (decoded for the client, as before) or
        one judged by response guardrails (so ``br`` cannot carry an answer past them). A
        WebSocket client gets the answer's content in JSON messages, so none is asked for."""
        wanted: str | None
        if step.reply is not None:
            wanted = "gzip, deflate"
        else:
            accept = next((v for k, v in step.headers.items() if k.lower() == "accept-encoding"), None)
            if accept is None:
                return step.headers
            if admitted.request_type == "websocket":
                wanted = None
            elif guard_policy is not None and self.guard is not None and self.guard.engine.needs(guard_policy, "response"):
                wanted = decodable_accept(accept)
            else:
                return step.headers
        headers = {k: v for k, v in step.headers.items() if k.lower() != "accept-encoding"}
        if wanted is not None:
            headers["Accept-Encoding"] = wanted
        return headers

    def _log_failed_attempt(self, ex: Exchange, status: int, code: int | None, message: str, started: float) -> None:
        ex.status_code = status
        ex.error_code = code
        ex.error = message
        self.pipe.submit(ex.ended(started))


async def _read_quietly(upstream: aiohttp.ClientResponse, cap: int) -> tuple[bytes | None, str | None]:
    """A failed attempt's body for the log, decoded, at most ``cap`` bytes read or kept, and why
    not when it could not be read."""
    try:
        got = await read_body(upstream.content, upstream.headers.get("content-encoding"), cap, keep_raw=False)
    except (aiohttp.ClientError, asyncio.TimeoutError):
        return b"", None
    return got.decoded, got.reason
