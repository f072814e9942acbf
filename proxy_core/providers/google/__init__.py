"""The Google family: Gemini on AI Studio and on Vertex AI (``GoogleFamily(vertex=True)``)."""

from proxy_core.providers.google.compat import GoogleTranslator
from proxy_core.providers.google.family import GoogleFamily

__all__ = ["GoogleFamily", "GoogleTranslator"]
