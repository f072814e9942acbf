"""Exchange → log row: model, model type, token usage, cost, redacted headers.

Runs in the log writer, after the client has its answer. Reads only what it needs from bodies
and never trusts them: anything unparseable simply yields no usage. A 2xx answer whose content is
not what it claims (a JSON body that does not parse, a stream without its end marker) keeps its
status and success, and says so in ``error``, prefixed with :data:`UPSTREAM_ISSUES` codes.
"""

from __future__ import annotations

from typing import Any, Iterator

import orjson

from proxy_core.costs import PricingTable, compute_cost
from proxy_core.exchange import Exchange
from proxy_core.providers.base import STREAM_DONE, ModelType, ProviderFamily, Usage
from proxy_core.providers.bedrock.eventstream import CONTENT_TYPE as EVENTSTREAM_TYPE
from proxy_core.providers.bedrock.eventstream import iter_events as iter_aws_events
from proxy_core.redact import redact_headers, scrub_body, sent_secrets

__all__ = ["build_rows", "iter_stream_events", "LOG_EVENT_FIELDS", "UPSTREAM_ISSUES"]

UPSTREAM_ISSUES = ("malformed_json", "stream_unterminated")
"""Codes that open an ``error`` text on a 2xx log whose upstream content is not what it claims;
``error contains malformed_json`` finds them."""
_STREAM_TYPES = ("event-stream", "eventstream", "ndjson", "stream+json")

# The columns published on the event bus for live consumers (no bodies, no headers).
LOG_EVENT_FIELDS = (
    "id", "account_id", "gateway_id", "created_at", "provider", "model", "model_type", "path",
    "request_type", "method", "status_code", "success", "error_code", "error", "cached", "step",
    "event_id", "duration", "ttfb", "tokens_in", "tokens_out", "cost", "custom_cost", "metadata",
    "feedback", "score", "guardrails", "streamed", "worker_id",
)  # fmt: skip


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


def _loads(data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return None


def iter_stream_events(body: bytes, content_type: str) -> Iterator[Any]:
    """Decoded JSON events of a streamed body: SSE ``data:`` lines, AWS's binary event stream, a
    JSON array, or NDJSON."""
    for event in _stream_items(body, content_type):
        if event is not STREAM_DONE:
            yield event


def _stream_items(body: bytes, content_type: str) -> Iterator[Any]:
    """:func:`iter_stream_events`, with :data:`STREAM_DONE` where an SSE stream says ``[DONE]``."""
    if EVENTSTREAM_TYPE in content_type:
        yield from iter_aws_events(body)
        return
    if "event-stream" in content_type:
        for line in body.split(b"\n"):
            if line.startswith(b"data:"):
                payload = line[5:].strip()
                if payload == b"[DONE]":
                    yield STREAM_DONE
                elif payload:
                    event = _loads(payload)
                    if event is not None:
                        yield event
        return
    whole = _loads(body)
    if isinstance(whole, list):
        yield from whole
        return
    if whole is not None:
        yield whole
        return
    for line in body.split(b"\n"):
        line = line.strip().rstrip(b",").lstrip(b"[")
        if line:
            event = _loads(line)
            if event is not None:
                yield event


def _single_json(content_type: str) -> bool:
    """Whether the content type promises one JSON document (not NDJSON, not a JSON stream)."""
    mime = content_type.split(";", 1)[0].strip().lower()
    return mime == "application/json" or mime.endswith("+json") and "stream" not in mime


def _read_stream(family: ProviderFamily, body: bytes, content_type: str, usage: Usage) -> str | None:
    """Fill ``usage`` from a streamed body; the issue when the stream lacks its end marker."""
    check = family.stream_ended(STREAM_DONE) is not None  # None whatever the event: no marker
    ended, events = False, 0
    for event in _stream_items(body, content_type):
        if event is not STREAM_DONE:
            events += 1
            family.parse_stream_chunk(event, usage)
        if check and not ended:
            ended = bool(family.stream_ended(event))
    if not check or ended:
        return None
    return f"stream_unterminated: the stream ended without its end-of-stream marker, after {events} events"


def _read_response(ex: Exchange, response_ct: str) -> tuple[Usage, str | None]:
    """Usage from the answer, and the :data:`UPSTREAM_ISSUES` issue of a 2xx answer, if any."""
    usage = Usage()
    family = ex.family
    if family is None:
        return usage, None
    family.parse_headers({k.lower(): v for k, v in ex.response_headers}, usage)
    body = ex.response_body
    if not body or ex.response_truncated or not (200 <= ex.status_code < 300):
        return usage, None  # nothing to read, or not all of it: nothing to judge either
    # The gateway's own error (client gone, stream broken) already says why the content is short.
    judged = ex.error_code is None
    if any(kind in response_ct for kind in _STREAM_TYPES):
        issue = _read_stream(family, body, response_ct, usage)
        return usage, issue if judged else None
    # A chunked upstream answer is relayed as a stream, but a plain JSON body is still one response
    # (or Google's JSON array of chunks, which its family reads as a whole).
    whole, problem = None, None
    if "json" in response_ct or ex.streamed:
        try:
            whole = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            problem = str(exc)
    if whole is not None:
        family.parse_response(whole, usage)
    elif ex.streamed:
        for event in iter_stream_events(body, response_ct):
            family.parse_stream_chunk(event, usage)
    if judged and problem is not None and _single_json(response_ct):
        mime = response_ct.split(";", 1)[0].strip()
        return usage, f"malformed_json: the {ex.status_code} answer is {mime} but does not parse: {problem}"
    return usage, None


def build_rows(
    ex: Exchange, pricing: PricingTable, max_body: int, worker_id: str | None = None
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The ``logs`` row and, when bodies are collected, the ``log_bodies`` row of one exchange
    (``worker_id``: the ``--workers`` process that served it)."""
    request_ct = _header(ex.request_headers, "content-type")
    response_ct = _header(ex.response_headers, "content-type") or ""
    request_json = _loads(ex.request_body) if ex.request_body and request_ct and "json" in request_ct else None
    family = ex.family
    route = ex.path.split("?", 1)[0]  # families read the path below the base, not the query
    model_type = family.model_type(route) if family is not None else ModelType.UNKNOWN
    usage, issue = _read_response(ex, response_ct)
    model = (family.request_model(route, request_json) if family is not None else None) or usage.model
    cost, custom = compute_cost(
        pricing, ex.provider, model, usage.tokens_in, usage.tokens_out, ex.policy.custom_cost
    )
    if ex.cached:
        cost = 0.0 if cost is not None or usage.tokens_in is not None else None
    too_big = len(ex.request_body) > max_body or (ex.response_body is not None and len(ex.response_body) > max_body)
    truncated = ex.response_truncated or too_big
    row = {
        "id": ex.id,
        "account_id": ex.account_id,
        "gateway_id": ex.gateway_id,
        "created_at": ex.started_ms,
        "provider": ex.provider,
        "model": model,
        "model_type": model_type,
        "path": ex.path,
        "request_type": ex.request_type,
        "method": ex.method,
        "status_code": ex.status_code,
        "success": (200 <= ex.status_code < 300 or ex.status_code == 101) and ex.error_code is None,
        "error_code": ex.error_code,
        # Until the schema has its own column: why the response's content went unread (gzip bomb, br),
        # or what is wrong with a 2xx answer's content (UPSTREAM_ISSUES); neither marks it failed.
        "error": "; ".join(
            filter(None, (ex.error, ex.unread_reason and f"body_unread: {ex.unread_reason}", issue))
        )
        or None,
        "cached": ex.cached,
        "step": ex.step,
        "event_id": ex.policy.event_id,
        "duration": ex.duration_ms,
        "ttfb": ex.ttfb_ms,
        "tokens_in": usage.tokens_in,
        "tokens_out": usage.tokens_out,
        "cost": cost,
        "custom_cost": custom,
        "metadata": dict(ex.policy.metadata) if ex.policy.metadata else None,
        "feedback": 0,
        "score": None,
        "guardrails": ex.guardrails,
        "request_content_type": request_ct,
        "response_content_type": response_ct or None,
        "request_size": len(ex.request_body),
        "response_size": ex.response_size,
        "body_stored": ex.collect_bodies,
        "body_truncated": truncated,
        "streamed": ex.streamed,
        "worker_id": worker_id,
    }
    if not ex.collect_bodies:
        return row, None
    # An upstream may repeat the caller's key in its answer (an error echoing the request), and a
    # request body may carry one as a member (a universal step's "query": {"key": …}).
    secrets = sent_secrets(ex.request_headers)
    request_body = None if too_big else scrub_body(ex.request_body, secrets, json_members=request_json is not None)
    response_body = None if truncated or ex.response_body is None else scrub_body(ex.response_body, secrets)
    body = {
        "log_id": ex.id,
        "request_headers": redact_headers(ex.request_headers),
        "request_body": request_body,
        "response_headers": redact_headers(ex.response_headers),
        "response_body": response_body,
    }
    return row, body
