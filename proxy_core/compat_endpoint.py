"""The OpenAI-compatible endpoint on the request path: ``/compat/chat/completions``.

:func:`build_compat_step` turns the client's OpenAI request into one provider step (native path,
body and credentials); :class:`CompatReply` turns what the provider answers — JSON, stream or
error — back into OpenAI's shapes on its way to the client. The log keeps the native exchange,
so tokens and cost are read by the provider's own family.
"""

from __future__ import annotations

import orjson

from proxy_core.compat import CompatError, StreamState, Translator, split_model
from proxy_core.errors import ErrorCode, GatewayError
from proxy_core.providers.registry import ProviderRegistry, ResolvedProvider

__all__ = ["CompatReply", "CompatRequest", "build_compat_request", "compat_error"]


class CompatReply:
    """Rewrites the provider's answer into OpenAI's chat-completion format."""

    def __init__(self, translator: Translator, model: str, include_usage: bool) -> None:
        self._translator = translator
        self._model = model
        self._include_usage = include_usage

    def whole(self, status: int, body: bytes) -> bytes:
        if not 200 <= status < 300:
            return orjson.dumps(self._translator.parse_error(status, body))
        try:
            native = orjson.loads(body)
        except orjson.JSONDecodeError:
            return orjson.dumps(CompatError("the provider answered with invalid JSON", status=502).body())
        try:
            return orjson.dumps(self._translator.parse_response(native, self._model))
        except CompatError as exc:
            return orjson.dumps(exc.body())

    def stream(self) -> StreamState:
        return self._translator.new_stream(self._model, self._include_usage)


class CompatRequest:
    """What the proxy needs to send one compat request: where, what, and how to answer."""

    def __init__(
        self, provider: str, resolved: ResolvedProvider, query: str, body: bytes, headers: dict[str, str],
        reply: CompatReply,
    ) -> None:  # fmt: skip
        self.provider, self.resolved, self.query = provider, resolved, query
        self.body, self.headers, self.reply = body, headers, reply


def compat_error(exc: CompatError) -> tuple[int, bytes]:
    return exc.status, orjson.dumps(exc.body())


def build_compat_request(
    registry: ProviderRegistry, account_id: str, raw_body: bytes, client_headers: dict[str, str]
) -> CompatRequest:
    """Raises :class:`CompatError` (OpenAI-style 400s) or :class:`GatewayError` (unknown provider)."""
    try:
        body = orjson.loads(raw_body) if raw_body else None
    except orjson.JSONDecodeError as exc:
        raise CompatError(f"request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise CompatError("request body must be a JSON object")
    provider, model = split_model(body.get("model"))
    spec = registry.get(provider)
    if spec is None:
        raise GatewayError(ErrorCode.UNKNOWN_PROVIDER, f"Unknown provider '{provider}'")
    translator = spec.family.translator()  # an alias (perplexity) routes as its target
    if translator is None:
        raise CompatError(f"provider '{provider}' is not available through the OpenAI-compatible endpoint")
    native_model = model
    prefix = ""
    if spec.path_params:  # azure-openai/{resource}/{deployment}: the "model" carries the segments
        parts = model.split("/")
        if len(parts) < len(spec.path_params):
            raise CompatError(f"model for '{provider}' must be '{provider}/" + "/".join(
                "{" + p + "}" for p in spec.path_params) + "'", param="model")  # fmt: skip
        prefix = "/" + "/".join(parts[: len(spec.path_params)])
        native_model = parts[-1]
    native = translator.build_request(body, native_model)
    path, _, query = native.path.partition("?")
    resolved = registry.resolve(provider, prefix + path, account_id=account_id)
    headers = {k: v for k, v in client_headers.items() if k.lower() not in ("authorization", "content-type")}
    headers.update(translator.auth_headers(client_headers.get("authorization") or client_headers.get("Authorization")))
    headers.update(native.headers)
    headers.setdefault("Content-Type", "application/json")
    include_usage = bool((body.get("stream_options") or {}).get("include_usage")) if native.stream else False
    return CompatRequest(provider, resolved, query, native.body, headers, CompatReply(translator, native_model, include_usage))


