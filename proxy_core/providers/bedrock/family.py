"""Amazon Bedrock runtime (``/model/{modelId}/invoke``, ``/converse``); the client pre-signs."""

from __future__ import annotations

from typing import Any, Mapping
from urllib.parse import unquote

from proxy_core.compat.base import Translator
from proxy_core.errors import ErrorCode, GatewayError
from proxy_core.providers.base import ModelType, Usage, fill_base, int_or_none, model_type_from_path
from proxy_core.providers.bedrock import texts

__all__ = ["BedrockFamily"]


class BedrockFamily:
    id = "bedrock"

    def upstream_base(self, provider: str, base: str, values: Mapping[str, str], path: str) -> str:
        if values.get("service", "bedrock-runtime") != "bedrock-runtime":
            raise GatewayError(ErrorCode.INVALID_PATH, f"Provider '{provider}' serves only bedrock-runtime")
        return fill_base(base, values)

    def model_type(self, path: str) -> str:
        p = path.lower()
        if "embed" in p:
            return ModelType.EMBEDDINGS
        if "/converse" in p or "/invoke" in p:
            return ModelType.TEXT
        return model_type_from_path(path)

    def request_model(self, path: str, body: Any) -> str | None:
        parts = path.strip("/").split("/")
        if len(parts) >= 2 and parts[0] == "model":
            return unquote(parts[1])
        return None

    def parse_response(self, body: Any, usage: Usage) -> None:
        if not isinstance(body, dict):
            return
        usage_obj = body.get("usage")
        if isinstance(usage_obj, dict):
            usage.update(
                int_or_none(usage_obj.get("inputTokens", usage_obj.get("input_tokens"))),
                int_or_none(usage_obj.get("outputTokens", usage_obj.get("output_tokens"))),
            )

    def parse_stream_chunk(self, event: Any, usage: Usage) -> None:
        """One event of :func:`proxy_core.providers.bedrock.eventstream.iter_events`: converse-stream's
        ``{"metadata": {...}}``, or a model's own event from invoke-with-response-stream."""
        if not isinstance(event, dict):
            return
        if isinstance(event.get("metadata"), dict):  # converse-stream
            self.parse_response(event["metadata"], usage)
            return
        metrics = event.get("amazon-bedrock-invocationMetrics")
        if isinstance(metrics, dict):
            usage.update(int_or_none(metrics.get("inputTokenCount")), int_or_none(metrics.get("outputTokenCount")))
            return
        message = event.get("message")  # Anthropic models: message_start, then message_delta
        if isinstance(message, dict):
            self.parse_response(message, usage)
        elif isinstance(event.get("usage"), dict):
            self.parse_response(event, usage)

    def stream_ended(self, event: Any) -> bool | None:
        """converse-stream ends with ``metadata``; invoke-with-response-stream's last chunk carries
        Bedrock's invocation metrics (an Anthropic model's also is its ``message_stop``)."""
        if not isinstance(event, dict):
            return False
        if "metadata" in event or "amazon-bedrock-invocationMetrics" in event:
            return True
        return event.get("type") == "message_stop"

    def parse_headers(self, headers: Mapping[str, str], usage: Usage) -> None:
        tokens_in = headers.get("x-amzn-bedrock-input-token-count")
        tokens_out = headers.get("x-amzn-bedrock-output-token-count")
        if tokens_in and tokens_in.isdigit():
            usage.tokens_in = int(tokens_in)
        if tokens_out and tokens_out.isdigit():
            usage.tokens_out = int(tokens_out)

    prompt_texts = staticmethod(texts.prompt_texts)
    response_texts = staticmethod(texts.response_texts)
    read_stream_event = staticmethod(texts.read_stream_event)

    def translator(self) -> Translator | None:
        return None  # requests are pre-signed by the client: the gateway cannot rewrite them
