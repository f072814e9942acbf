"""The generic family: APIs without token usage or a known shape (Replicate, Hugging Face, audio)."""

from proxy_core.providers.generic.family import GenericFamily

__all__ = ["GenericFamily"]
