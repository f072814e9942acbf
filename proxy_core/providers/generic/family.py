"""Providers whose responses carry no token usage (Replicate, Hugging Face, ElevenLabs, Cartesia, …).

The model comes from the request (``model``, ``model_id`` or ``version``) or the path; no tokens,
so no cost is guessed.
"""

from __future__ import annotations

from typing import Any, Mapping

from proxy_core.compat.base import Translator
from proxy_core.providers.base import JsonApiDefaults, ModelType, Usage, model_type_from_path
from proxy_core.providers.generic import texts

__all__ = ["GenericFamily"]


class GenericFamily(JsonApiDefaults):
    """``default_type``: the model type when the path does not tell (Cartesia and ElevenLabs are
    audio); ``model_from_path``: the path below the base names the model (Hugging Face)."""

    id = "generic"

    def __init__(self, default_type: str = ModelType.UNKNOWN, model_from_path: bool = False) -> None:
        self._default_type = default_type
        self._model_from_path = model_from_path

    def model_type(self, path: str) -> str:
        guessed = model_type_from_path(path)
        return self._default_type if guessed == ModelType.UNKNOWN else guessed

    def request_model(self, path: str, body: Any) -> str | None:
        if isinstance(body, dict):
            for key in ("model", "model_id", "version"):
                if isinstance(body.get(key), str):
                    return body[key]
        if self._model_from_path:
            model = path.strip("/")
            return model or None
        return None

    def parse_response(self, body: Any, usage: Usage) -> None:
        return None

    def parse_stream_chunk(self, event: Any, usage: Usage) -> None:
        return None

    def parse_headers(self, headers: Mapping[str, str], usage: Usage) -> None:
        return None

    def stream_ended(self, event: Any) -> bool | None:
        return None  # no shared stream format, so no end marker to look for

    prompt_texts = staticmethod(texts.prompt_texts)
    response_texts = staticmethod(texts.response_texts)
    read_stream_event = staticmethod(texts.read_stream_event)

    def translator(self) -> Translator | None:
        return None  # no shared chat API to translate to
