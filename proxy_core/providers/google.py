"""Google AI Studio and Vertex AI (``…/models/{model}:generateContent`` and friends)."""

from __future__ import annotations

from typing import Any, Mapping

from proxy_core.providers.base import ModelType, Usage, int_or_none, model_type_from_path

__all__ = ["GoogleFamily"]


def _model_from_path(path: str) -> str | None:
    marker = "models/"
    at = path.rfind(marker)
    if at < 0:
        return None
    rest = path[at + len(marker) :]
    return rest.split(":", 1)[0].split("/", 1)[0] or None


class GoogleFamily:
    id = "google"

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
