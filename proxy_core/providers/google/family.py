"""Google AI Studio and Vertex AI (``…/models/{model}:generateContent`` and friends)."""

from __future__ import annotations

from typing import Any, Mapping

from proxy_core.errors import ErrorCode, GatewayError
from proxy_core.providers.base import DNS_LABEL, ModelType, Usage, fill_base, int_or_none, model_type_from_path
from proxy_core.providers.google import texts
from proxy_core.providers.google.compat import GoogleTranslator

__all__ = ["GoogleFamily"]


def _model_from_path(path: str) -> str | None:
    marker = "models/"
    at = path.rfind(marker)
    if at < 0:
        return None
    rest = path[at + len(marker) :]
    return rest.split(":", 1)[0].split("/", 1)[0] or None


def _vertex_region(path: str) -> str | None:
    segments = path.strip("/").split("/")
    for i, segment in enumerate(segments[:-1]):
        if segment == "locations":
            region = segments[i + 1]
            return region if DNS_LABEL.fullmatch(region) else None
    return None


class GoogleFamily:
    """Gemini's API; ``vertex`` selects Vertex AI's model paths and OAuth for the compat endpoint."""

    id = "google"

    def __init__(self, vertex: bool = False) -> None:
        self.vertex = vertex

    def upstream_base(self, provider: str, base: str, values: Mapping[str, str], path: str) -> str:
        """Vertex's ``{region}`` host label is the path's ``locations/{region}`` segment."""
        if "{region}" in base and "region" not in values:
            region = _vertex_region(path)
            if region is None:
                raise GatewayError(ErrorCode.INVALID_PATH, f"Provider '{provider}' needs a path with locations/{{region}}/")
            if region == "global":  # Vertex's global endpoint has no region in its host
                base = base.replace("{region}-", "")
            values = {**values, "region": region}
        return fill_base(base, values)

    def model_type(self, path: str) -> str:
        if ":embedContent" in path or ":batchEmbedContents" in path or ":predict" in path and "embedding" in path:
            return ModelType.EMBEDDINGS
        if "Content" in path or ":generate" in path:
            return ModelType.TEXT
        return model_type_from_path(path)

    def request_model(self, path: str, body: Any) -> str | None:
        return _model_from_path(path)

    def parse_response(self, body: Any, usage: Usage) -> None:
        if isinstance(body, list):  # streamGenerateContent without alt=sse: a JSON array
            for item in body:
                self.parse_response(item, usage)
            return
        if not isinstance(body, dict):
            return
        if isinstance(body.get("modelVersion"), str):
            usage.model = body["modelVersion"]
        meta = body.get("usageMetadata")
        if isinstance(meta, dict):
            tokens_in = int_or_none(meta.get("promptTokenCount"))
            if tokens_in is not None:
                usage.tokens_in = tokens_in
            out = int_or_none(meta.get("candidatesTokenCount"))
            thoughts = int_or_none(meta.get("thoughtsTokenCount"))
            if out is not None or thoughts is not None:
                usage.tokens_out = (out or 0) + (thoughts or 0)
            elif tokens_in is not None and usage.tokens_out is None:
                usage.tokens_out = 0

    def parse_stream_chunk(self, event: Any, usage: Usage) -> None:
        self.parse_response(event, usage)

    def parse_headers(self, headers: Mapping[str, str], usage: Usage) -> None:
        return None

    def stream_ended(self, event: Any) -> bool | None:
        # No end marker on the wire: the last chunk is the one whose candidate says why it stopped
        # (or whose prompt was blocked, with no candidate at all).
        if not isinstance(event, dict):
            return False
        feedback = event.get("promptFeedback")
        if isinstance(feedback, dict) and feedback.get("blockReason"):
            return True
        candidates = event.get("candidates")
        return isinstance(candidates, list) and any(isinstance(c, dict) and c.get("finishReason") for c in candidates)

    prompt_texts = staticmethod(texts.prompt_texts)
    response_texts = staticmethod(texts.response_texts)
    read_stream_event = staticmethod(texts.read_stream_event)

    def translator(self) -> GoogleTranslator:
        return GoogleTranslator(vertex=self.vertex)
