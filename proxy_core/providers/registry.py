"""The one provider registry: URL path segment → API family and upstream base URL.

Every built-in base can be overridden in config (``[providers.NAME] base_url``), which is also
how tests, the demo and local model servers are wired in; custom providers add a name, a base URL
and a family (``format``). The upstream URL is always a base from this table plus the client's
own path segments: nothing a client sends can change the upstream host. Where a base names a
host label taken from the path (Azure resource, Bedrock region, Vertex region), the label must be
a plain DNS label. Where an SDK pointed at the reference's base URL sends other paths than the
reference's curl examples (``…/anthropic/messages`` vs ``…/anthropic/v1/messages``), a
provider's ``path_rewrites`` map both to the provider's real path; they swap whole leading path
segments, never the host.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

from proxy_core.config import ProviderSettings
from proxy_core.errors import ErrorCode, GatewayError
from proxy_core.providers.anthropic import AnthropicFamily
from proxy_core.providers.base import ModelType, ProviderFamily
from proxy_core.providers.bedrock import BedrockFamily
from proxy_core.providers.cohere import CohereFamily
from proxy_core.providers.generic import GenericFamily
from proxy_core.providers.google import GoogleFamily
from proxy_core.providers.openai import OpenAIFamily
from proxy_core.providers.workers_ai import WorkersAIFamily

__all__ = ["ProviderSpec", "ProviderRegistry", "ResolvedProvider", "FAMILIES", "BUILTIN_PROVIDERS", "ALIASES",
           "REALTIME_ALIASES"]

FAMILIES: dict[str, ProviderFamily] = {
    "openai": OpenAIFamily(),
    "anthropic": AnthropicFamily(),
    "google": GoogleFamily(),
    "cohere": CohereFamily(),
    "workers-ai": WorkersAIFamily(),
    "bedrock": BedrockFamily(),
    "generic": GenericFamily(),
}

_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
# A parameter that lands in the path, not the host (an Azure deployment such as "gpt-4.1").
_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}")


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    """One provider: its path segment, default upstream base and family.

    ``path_params`` names placeholders in ``base_url`` filled from the segments that follow the
    provider name (consumed, so they are not forwarded again). ``{account}`` is filled with the
    gateway URL's account id, and ``{region}`` (Vertex) from the ``locations/{region}`` segment.
    """

    name: str
    base_url: str
    family: ProviderFamily
    path_params: tuple[str, ...] = ()
    path_rewrites: tuple[tuple[str, str], ...] = ()
    """``(client prefix, upstream prefix)`` pairs, first match wins: a client path that is the
    prefix or starts with it plus ``/`` has that prefix replaced (``""`` matches any path). They
    make the path an SDK sends from the base URL the reference documents (often ending at the
    provider segment) and the reference's own curl path reach the same upstream path."""
    realtime_path: str = ""
    """The path below the base that a realtime WebSocket reaches when the client's path is empty
    (the reference's ``wss://…/openai?model=…`` form); ``""``: the provider has no realtime API."""


@dataclass(frozen=True, slots=True)
class ResolvedProvider:
    spec: ProviderSpec
    upstream_base: str
    """The filled base URL, without a trailing slash."""
    path: str
    """The client's remaining path after the provider's ``path_rewrites`` (raw, still
    percent-encoded), starting with ``/`` or empty."""


def _spec(
    name: str, base: str, family: str, *params: str, rewrites: tuple[tuple[str, str], ...] = (), realtime: str = ""
) -> ProviderSpec:
    return ProviderSpec(name, base, FAMILIES[family], params, rewrites, realtime)


_ADD_V1 = (("/v1", "/v1"), ("", "/v1"))
"""The API lives under ``/v1`` and the base URL stops above it: curl paths carry ``/v1``, SDKs
given the base URL ``…/{provider}`` do not (the OpenAI SDK's ``…/grok/chat/completions``, the
Vercel AI SDK's ``…/anthropic/messages``); both reach ``/v1/…``."""


_GEMINI_LIVE = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
"""Gemini's Live API (the reference's ``wss://…/google?api_key=…``)."""

BUILTIN_PROVIDERS: tuple[ProviderSpec, ...] = (
    _spec("openai", "https://api.openai.com/v1", "openai", realtime="/realtime"),
    _spec("anthropic", "https://api.anthropic.com", "anthropic", rewrites=_ADD_V1),
    _spec(
        "azure-openai",
        "https://{resource}.openai.azure.com/openai/deployments/{deployment}",
        "openai",
        "resource",
        "deployment",
    ),
    _spec("aws-bedrock", "https://bedrock-runtime.{region}.amazonaws.com", "bedrock", "service", "region"),
    ProviderSpec("cartesia", "https://api.cartesia.ai", GenericFamily(ModelType.AUDIO), realtime_path="/tts/websocket"),
    _spec("cerebras", "https://api.cerebras.ai/v1", "openai"),
    _spec("cerebras-ai", "https://api.cerebras.ai/v1", "openai"),
    # cohere-python joins its own "v1/chat" / "v2/chat" to the reference's base_url "…/cohere/v1";
    # the reference's URL structure drops /v1 ("…/cohere/chat"), its curl keeps it ("…/cohere/v1/chat").
    _spec("cohere", "https://api.cohere.ai", "cohere",
          rewrites=(("/v1/v1", "/v1"), ("/v1/v2", "/v2"), ("/v1", "/v1"), ("/v2", "/v2"), ("", "/v1"))),
    _spec("deepseek", "https://api.deepseek.com", "openai"),
    ProviderSpec("elevenlabs", "https://api.elevenlabs.io", GenericFamily(ModelType.AUDIO),
                 realtime_path="/v1/convai/conversation"),  # Conversational AI (?agent_id=)
    _spec("google-ai-studio", "https://generativelanguage.googleapis.com", "google", realtime=_GEMINI_LIVE),
    _spec("grok", "https://api.x.ai", "openai", rewrites=_ADD_V1),
    # groq-sdk posts its own "/openai/v1/chat/completions" below the base URL "…/groq"
    _spec("groq", "https://api.groq.com/openai/v1", "openai", rewrites=(("/openai/v1", ""),)),
    _spec("mistral", "https://api.mistral.ai", "openai", rewrites=_ADD_V1),
    ProviderSpec(
        "huggingface", "https://api-inference.huggingface.co/models", GenericFamily(model_from_path=True)
    ),
    _spec("openrouter", "https://openrouter.ai/api", "openai", rewrites=_ADD_V1),
    _spec("perplexity-ai", "https://api.perplexity.ai", "openai"),
    _spec("replicate", "https://api.replicate.com/v1", "generic"),
    _spec("google-vertex-ai", "https://{region}-aiplatform.googleapis.com", "google"),
    _spec("workers-ai", "https://api.cloudflare.com/client/v4/accounts/{account}/ai/run", "workers-ai"),
)

ALIASES: dict[str, str] = {"perplexity": "perplexity-ai"}
"""Other path names of a built-in provider: the same provider, base URL override included."""

REALTIME_ALIASES: dict[str, str] = {"google": "google-ai-studio"}
"""Path names that only the realtime WebSockets API knows (the reference's ``wss://…/google?…``)."""


class ProviderRegistry:
    """Built-in providers with config overrides applied, plus the operator's custom providers."""

    def __init__(self, overrides: Mapping[str, ProviderSettings]) -> None:
        specs = {spec.name: spec for spec in BUILTIN_PROVIDERS}
        for name, conf in overrides.items():
            name = ALIASES.get(name, name)
            builtin = specs.get(name)
            if builtin is not None:
                base = conf.base_url or builtin.base_url
                if conf.format and conf.format not in FAMILIES:
                    known = ", ".join(FAMILIES)
                    raise ValueError(f"config key [providers.{name}] format: {conf.format!r} is not one of {known}")
                family = FAMILIES[conf.format] if conf.format else builtin.family
                specs[name] = ProviderSpec(name, base.rstrip("/"), family, builtin.path_params, builtin.path_rewrites,
                                           builtin.realtime_path)  # fmt: skip
                continue
            if not conf.base_url:
                raise ValueError(f"config key [providers.{name}] base_url: a custom provider needs one")
            if conf.format and conf.format not in FAMILIES:
                known = ", ".join(FAMILIES)
                raise ValueError(f"config key [providers.{name}] format: {conf.format!r} is not one of {known}")
            specs[name] = ProviderSpec(name, conf.base_url.rstrip("/"), FAMILIES[conf.format or "openai"])
        for alias, target in ALIASES.items():
            specs[alias] = specs[target]
        self._specs = specs

    def names(self) -> list[str]:
        return sorted(self._specs)

    def get(self, name: str) -> ProviderSpec | None:
        """The provider serving path name ``name`` (an alias gives its target's spec)."""
        return self._specs.get(name)

    def realtime_spec(self, name: str) -> ProviderSpec | None:
        """The provider a realtime WebSocket on path name ``name`` reaches, if it has a realtime API."""
        spec = self._specs.get(REALTIME_ALIASES.get(name, name))
        return spec if spec is not None and spec.realtime_path else None

    def realtime_names(self) -> list[str]:
        return sorted({spec.name for spec in self._specs.values() if spec.realtime_path})

    def resolve_realtime(self, name: str, raw_path: str, *, account_id: str) -> ResolvedProvider:
        """As :meth:`resolve` for a realtime WebSocket: a realtime-only alias is followed, and an
        empty client path (``…/openai?model=…``) reaches the provider's ``realtime_path``."""
        spec = self.realtime_spec(name)
        if spec is None:
            raise GatewayError(ErrorCode.BAD_REQUEST, f"Provider '{name}' has no realtime WebSocket API here; "
                               "realtime providers: " + ", ".join(self.realtime_names()))  # fmt: skip
        resolved = self.resolve(spec.name, raw_path, account_id=account_id)
        if resolved.path in ("", "/"):
            return ResolvedProvider(resolved.spec, resolved.upstream_base, spec.realtime_path)
        return resolved

    def resolve(self, name: str, raw_path: str, *, account_id: str) -> ResolvedProvider:
        """Fill ``name``'s base from ``raw_path`` (already validated by :mod:`proxy_core.safepath`)."""
        spec = self._specs.get(name)
        if spec is None:
            raise GatewayError(ErrorCode.UNKNOWN_PROVIDER, f"Unknown provider '{name}'")
        base = spec.base_url
        path = raw_path
        if spec.path_params and "{" in base:
            segments = path[1:].split("/") if path.startswith("/") else path.split("/")
            if len(segments) < len(spec.path_params) or not all(segments[: len(spec.path_params)]):
                needed = "/".join("{" + p + "}" for p in spec.path_params)
                raise GatewayError(ErrorCode.INVALID_PATH, f"Provider '{name}' needs the path {name}/{needed}/…")
            values = dict(zip(spec.path_params, segments))
            host = base.split("//", 1)[-1].split("/", 1)[0]
            for key, value in values.items():
                pattern = _LABEL if "{" + key + "}" in host else _SEGMENT
                if not pattern.fullmatch(value):
                    raise GatewayError(ErrorCode.INVALID_PATH, f"Invalid {key} '{value}' for provider '{name}'")
            if values.get("service", "bedrock-runtime") != "bedrock-runtime":
                raise GatewayError(ErrorCode.INVALID_PATH, f"Provider '{name}' serves only bedrock-runtime")
            base = base.format_map(_Fill(values, account_id))
            rest = segments[len(spec.path_params) :]
            path = "/" + "/".join(rest) if rest else ""
        elif "{" in base:
            values = {}
            if "{region}" in base:
                region = _vertex_region(path)
                if region is None:
                    raise GatewayError(
                        ErrorCode.INVALID_PATH, f"Provider '{name}' needs a path with locations/{{region}}/"
                    )
                values["region"] = region
                if region == "global":  # Vertex's global endpoint has no region in its host
                    base = base.replace("{region}-", "")
            base = base.format_map(_Fill(values, account_id))
        if spec.family is FAMILIES["workers-ai"] and path.startswith("/v1/") and base.endswith("/ai/run"):
            base = base[: -len("/run")]  # OpenAI-compatible endpoints: …/ai/v1/chat/completions
        return ResolvedProvider(spec, base, _rewrite(path, spec.path_rewrites))


class _Fill(dict):
    def __init__(self, values: dict[str, str], account_id: str) -> None:
        super().__init__(values)
        self["account"] = account_id

    def __missing__(self, key: str) -> str:
        raise GatewayError(ErrorCode.INVALID_PATH, f"missing {key} in provider path")


def _rewrite(path: str, rewrites: tuple[tuple[str, str], ...]) -> str:
    """``path`` with the first matching ``(client prefix, upstream prefix)`` swapped (whole segments)."""
    if not path.startswith("/"):
        return path
    for client, upstream in rewrites:
        if path == client or path.startswith(client + "/"):
            return upstream + path[len(client) :]
    return path


def _vertex_region(path: str) -> str | None:
    segments = path.strip("/").split("/")
    for i, segment in enumerate(segments[:-1]):
        if segment == "locations":
            region = segments[i + 1]
            return region if _LABEL.fullmatch(region) else None
    return None
