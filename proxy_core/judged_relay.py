"""Answers the guardrails read: buffered and judged before the client sees them, or judged after
a flag-only stream has reached the client.

An answer the gateway cannot read (over the decoding cap, corrupt, a coding it does not decode)
is judged as an evaluator that cannot answer: refused when a response category blocks (fail
closed), else sent as it came, unjudged, with ``body_unread: …`` in the log.
"""

from __future__ import annotations

import asyncio
from typing import Any, Mapping

import aiohttp

from proxy_core.bounded_body import read_body
from proxy_core.errors import ErrorCode, GatewayError, upstream_error
from proxy_core.exchange import Exchange
from proxy_core.guarding import Guard, merged_log
from proxy_core.guardrails import GuardrailOutcome
from proxy_core.relay import ClientSink, is_streamed, note_unread, relay_body, relay_error, relay_stream
from proxy_core.relay import upstream_headers
from proxy_core.step import Step

__all__ = ["judge_after", "relay_judged", "unread_outcome"]


async def relay_judged(
    sink: ClientSink,
    guard: Guard,
    step: Step,
    ex: Exchange,
    upstream: aiohttp.ClientResponse,
    policy: Mapping[str, Any],
    prompt_outcome: GuardrailOutcome | None,
    reply: dict[str, str],
    capture_limit: int,
) -> None:
    """Buffer the answer (at most ``capture_limit`` bytes, decoded), judge it, then send it or
    refuse it with 2017."""
    streamed = is_streamed(upstream)
    headers = upstream_headers(upstream)
    try:
        got = await read_body(
            upstream.content, upstream.headers.get("content-encoding"), capture_limit,
            raw_cap=capture_limit if streamed else max(capture_limit, upstream.content_length or 0),
        )  # fmt: skip
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        await relay_error(sink, ex, upstream_error(step.provider, exc), reply)
        return
    ex.status_code, ex.response_headers = upstream.status, headers
    content_type = upstream.headers.get("content-type", "")
    family, path = step.resolved.spec.family, step.resolved.path
    if got.decoded is None:
        outcome = unread_outcome(guard, policy, ex, got.reason)
    else:
        outcome = await guard.check_response(policy, family, path, got.decoded, streamed, content_type)
    ex.guardrails = merged_log(prompt_outcome, outcome)
    if outcome.action == "blocked":
        err = GatewayError(ErrorCode.RESPONSE_BLOCKED, "Response blocked due to security configurations")
        await relay_error(sink, ex, err, reply)
        # the log keeps what the provider said; the client does not get it
        ex.response_body, ex.response_size = got.decoded, len(got.raw)
        note_unread(ex, got.reason)
        return
    if got.decoded is None and (step.reply is not None or not got.complete):
        if step.reply is not None:  # nothing to translate
            err = GatewayError(
                ErrorCode.UPSTREAM_UNREACHABLE, f"Provider '{step.provider}' sent an answer the gateway cannot read"
            )
            await relay_error(sink, ex, err, reply)
            note_unread(ex, got.reason)
            return
        # over the cap before its end: what was read goes first, the rest follows as it comes
        await relay_stream(sink, ex, upstream, reply, capture_limit, None, head=got.raw, unread=got.reason)
        return
    sent = got.decoded if step.reply is not None else got.raw
    await relay_body(sink, ex, upstream.status, headers, sent or b"", streamed, reply, rewrite=step.reply)
    ex.response_body, ex.response_size = got.decoded, len(got.raw)
    note_unread(ex, got.reason)


async def judge_after(
    guard: Guard, step: Step, ex: Exchange, policy: Mapping[str, Any], prompt_outcome: GuardrailOutcome | None
) -> None:
    """Flag-only responses of a stream: judged once the client has the whole stream."""
    if ex.response_body is None:
        if ex.unread_reason is not None:
            ex.guardrails = merged_log(prompt_outcome, unread_outcome(guard, policy, ex))
        return
    content_type = next((v for k, v in ex.response_headers if k.lower() == "content-type"), "")
    outcome = await guard.check_response(
        policy, step.resolved.spec.family, step.resolved.path, ex.response_body, True, content_type
    )
    ex.guardrails = merged_log(prompt_outcome, outcome)


def unread_outcome(guard: Guard, policy: Mapping[str, Any], ex: Exchange, reason: str | None = None) -> GuardrailOutcome:
    """The response stage of an answer the gateway could not read."""
    fail_closed = any(action == "block" for action in (policy.get("response") or {}).values())
    return GuardrailOutcome(
        evaluated=False, action="blocked" if fail_closed else "passed", categories=(), stage="response",
        evaluator=guard.engine.evaluator.name, latency_ms=0,
        error=f"body_unread: {reason or ex.unread_reason}",
    )  # fmt: skip
