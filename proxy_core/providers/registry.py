"""The one provider registry: one row per provider, mapping its URL path segment to an API family
and an upstream base URL.

A row is everything about a provider: its base, the path parameters that fill the base, the path
rewrites that make an SDK's paths and the reference's curl paths meet, its realtime path, its other
names and the pricing section its models are priced under; what differs between providers of one
API (the OpenAI family's chat route) is an argument of the row's family object. A new
OpenAI-compatible provider is one row; a new API family is one folder ``providers/<family>/`` plus
its rows.

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

import dataclasses
import re
from dataclasses import dataclass
from typing import Mapping

from proxy_core.config import ProviderSettings
from proxy_core.errors import ErrorCode, GatewayError
from proxy_core.providers.anthropic import AnthropicFamily
from proxy_core.providers.base import DNS_LABEL, ModelType, ProviderFamily
from proxy_core.providers.bedrock import BedrockFamily
from proxy_core.providers.cohere import CohereFamily
from proxy_core.providers.generic import GenericFamily
from proxy_core.providers.google import GoogleFamily
from proxy_core.providers.openai import AZURE_API_VERSION, ChatRoute, OpenAIFamily
from proxy_core.providers.workers_ai import WorkersAIFamily

__all__ = ["ProviderSpec", "ProviderRegistry", "ResolvedProvider", "FAMILIES", "BUILTIN_PROVIDERS", "pricing_name"]

_OPENAI, _ANTHROPIC, _GOOGLE, _COHERE = OpenAIFamily(), AnthropicFamily(), GoogleFamily(), CohereFamily()
_WORKERS_AI, _BEDROCK, _GENERIC = WorkersAIFamily(), BedrockFamily(), GenericFamily()

FAMILIES: dict[str, ProviderFamily] = {
    family.id: family for family in (_OPENAI, _ANTHROPIC, _GOOGLE, _COHERE, _WORKERS_AI, _BEDROCK, _GENERIC)
}
"""The families a custom provider's ``format`` may name, each with its default arguments."""

# A parameter that lands in the path, not the host (an Azure deployment such as "gpt-4.1").
_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}")


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    """One provider: its path segment, default upstream base and family.

    ``path_params`` names placeholders in ``base_url`` filled from the segments that follow the
    provider name (consumed, so they are not forwarded again). ``{account}`` is filled with the
    gateway URL's account id; the family may fill others from the path (Vertex's ``{region}``).
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
    aliases: tuple[str, ...] = ()
    """Other path names of this provider: the same provider, base URL override included."""
    realtime_aliases: tuple[str, ...] = ()
    """Path names that only the realtime WebSockets API knows (the reference's ``wss://…/google?…``)."""
    prices_as: str = ""
    """The pricing table section for this provider's models when it serves another provider's
    catalogue under the same names (``""``: its own name)."""
    realtime_key_protocol: str = ""
    """A subprotocol ``<name>.<key>`` by which a browser's realtime client sends its API key (it
    cannot set headers); the key goes upstream as the header ``<name>`` (ElevenLabs' ``xi-api-key``)."""


@dataclass(frozen=True, slots=True)
class ResolvedProvider:
    spec: ProviderSpec
    upstream_base: str
    """The filled base URL, without a trailing slash."""
    path: str
    """The client's remaining path after the provider's ``path_rewrites`` (raw, still
    percent-encoded), starting with ``/`` or empty."""


_ADD_V1 = (("/v1", "/v1"), ("", "/v1"))
"""The API lives under ``/v1`` and the base URL stops above it: curl paths carry ``/v1``, SDKs
given the base URL ``…/{provider}`` do not (the OpenAI SDK's ``…/grok/chat/completions``, the
Vercel AI SDK's ``…/anthropic/messages``); both reach ``/v1/…``."""

_V1_CHAT = OpenAIFamily(ChatRoute("/v1/chat/completions"))
"""OpenAI-format providers whose base stops above ``/v1``."""

_GEMINI_LIVE = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
"""Gemini's Live API (the reference's ``wss://…/google?api_key=…``)."""

_AUDIO = GenericFamily(ModelType.AUDIO)
"""Speech APIs (Cartesia, ElevenLabs): audio unless the path says otherwise, no token usage."""

BUILTIN_PROVIDERS: tuple[ProviderSpec, ...] = (
    ProviderSpec("openai", "https://api.openai.com/v1", _OPENAI, realtime_path="/realtime"),
    ProviderSpec("anthropic", "https://api.anthropic.com", _ANTHROPIC, path_rewrites=_ADD_V1),
    ProviderSpec(
        "azure-openai",
        "https://{resource}.openai.azure.com/openai/deployments/{deployment}",
        OpenAIFamily(ChatRoute(f"/chat/completions?api-version={AZURE_API_VERSION}", key_header="api-key")),
        path_params=("resource", "deployment"),
    ),
    ProviderSpec("aws-bedrock", "https://bedrock-runtime.{region}.amazonaws.com", _BEDROCK,
                 path_params=("service", "region")),  # fmt: skip
    ProviderSpec("cartesia", "https://api.cartesia.ai", _AUDIO, realtime_path="/tts/websocket"),
    ProviderSpec("cerebras", "https://api.cerebras.ai/v1", _OPENAI),
    ProviderSpec("cerebras-ai", "https://api.cerebras.ai/v1", _OPENAI, prices_as="cerebras"),
    # cohere-python joins its own "v1/chat" / "v2/chat" to the reference's base_url "…/cohere/v1";
    # the reference's URL structure drops /v1 ("…/cohere/chat"), its curl keeps it ("…/cohere/v1/chat").
    ProviderSpec("cohere", "https://api.cohere.ai", _COHERE,
                 path_rewrites=(("/v1/v1", "/v1"), ("/v1/v2", "/v2"), ("/v1", "/v1"), ("/v2", "/v2"), ("", "/v1"))),
    ProviderSpec("deepseek", "https://api.deepseek.com", _OPENAI),
    ProviderSpec("elevenlabs", "https://api.elevenlabs.io", _AUDIO,
                 realtime_path="/v1/convai/conversation",  # Conversational AI (?agent_id=)
                 realtime_key_protocol="xi-api-key"),
    ProviderSpec("google-ai-studio", "https://generativelanguage.googleapis.com", _GOOGLE, realtime_path=_GEMINI_LIVE,
                 realtime_aliases=("google",)),  # fmt: skip
    ProviderSpec("grok", "https://api.x.ai", _V1_CHAT, path_rewrites=_ADD_V1),
    # groq-sdk posts its own "/openai/v1/chat/completions" below the base URL "…/groq"
    ProviderSpec("groq", "https://api.groq.com/openai/v1", _OPENAI, path_rewrites=(("/openai/v1", ""),)),
    ProviderSpec("mistral", "https://api.mistral.ai", _V1_CHAT, path_rewrites=_ADD_V1),
    ProviderSpec("huggingface", "https://api-inference.huggingface.co/models", GenericFamily(model_from_path=True)),
    ProviderSpec("openrouter", "https://openrouter.ai/api", _V1_CHAT, path_rewrites=_ADD_V1),
    ProviderSpec("perplexity-ai", "https://api.perplexity.ai", _OPENAI, aliases=("perplexity",)),
    ProviderSpec("replicate", "https://api.replicate.com/v1", _GENERIC),
    ProviderSpec("google-vertex-ai", "https://{region}-aiplatform.googleapis.com", GoogleFamily(vertex=True),
                 prices_as="google-ai-studio"),  # fmt: skip
    ProviderSpec("workers-ai", "https://api.cloudflare.com/client/v4/accounts/{account}/ai/run", _WORKERS_AI),
)

_PRICED_AS = {
    name: spec.prices_as or spec.name
    for spec in BUILTIN_PROVIDERS
    for name in (spec.name, *spec.aliases)
    if name != (spec.prices_as or spec.name)
}


def pricing_name(provider: str) -> str:
    """The pricing table section for a logged provider name (an alias, or a provider that serves
    another's catalogue, is priced under that one's name)."""
    return _PRICED_AS.get(provider, provider)


class ProviderRegistry:
    """Built-in providers with config overrides applied, plus the operator's custom providers."""

    def __init__(self, overrides: Mapping[str, ProviderSettings]) -> None:
        specs = {spec.name: spec for spec in BUILTIN_PROVIDERS}
        aliases = {alias: spec.name for spec in BUILTIN_PROVIDERS for alias in spec.aliases}
        for name, conf in overrides.items():
            name = aliases.get(name, name)
            builtin = specs.get(name)
            if builtin is not None:
                base = (conf.base_url or builtin.base_url).rstrip("/")
                # Naming the row's own format keeps the row's family arguments (its chat route).
                same = not conf.format or conf.format == builtin.family.id
                family = builtin.family if same else _family(name, conf.format)
                specs[name] = dataclasses.replace(builtin, base_url=base, family=family)
                continue
            if not conf.base_url:
                raise ValueError(f"config key [providers.{name}] base_url: a custom provider needs one")
            specs[name] = ProviderSpec(name, conf.base_url.rstrip("/"), _family(name, conf.format or "openai"))
        for alias, target in aliases.items():
            specs[alias] = specs[target]
        self._specs = specs
        self._realtime = {
            name: spec
            for spec in specs.values()
            if spec.realtime_path
            for name in (spec.name, *spec.aliases, *spec.realtime_aliases)
        }  # fmt: skip

    def names(self) -> list[str]:
        return sorted(self._specs)

    def get(self, name: str) -> ProviderSpec | None:
        """The provider serving path name ``name`` (an alias gives its target's spec)."""
        return self._specs.get(name)

    def realtime_spec(self, name: str) -> ProviderSpec | None:
        """The provider a realtime WebSocket on path name ``name`` reaches, if it has a realtime API."""
        return self._realtime.get(name)

    def realtime_names(self) -> list[str]:
        return sorted({spec.name for spec in self._realtime.values()})

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
        values = {"account": account_id}
        if spec.path_params and "{" in base:
            segments = path[1:].split("/") if path.startswith("/") else path.split("/")
            if len(segments) < len(spec.path_params) or not all(segments[: len(spec.path_params)]):
                needed = "/".join("{" + p + "}" for p in spec.path_params)
                raise GatewayError(ErrorCode.INVALID_PATH, f"Provider '{name}' needs the path {name}/{needed}/…")
            host = base.split("//", 1)[-1].split("/", 1)[0]
            for key, value in zip(spec.path_params, segments):
                pattern = DNS_LABEL if "{" + key + "}" in host else _SEGMENT
                if not pattern.fullmatch(value):
                    raise GatewayError(ErrorCode.INVALID_PATH, f"Invalid {key} '{value}' for provider '{name}'")
                values[key] = value
            rest = segments[len(spec.path_params) :]
            path = "/" + "/".join(rest) if rest else ""
        base = spec.family.upstream_base(name, base, values, path)
        return ResolvedProvider(spec, base, _rewrite(path, spec.path_rewrites))


def _family(provider: str, fmt: str) -> ProviderFamily:
    family = FAMILIES.get(fmt)
    if family is None:
        known = ", ".join(FAMILIES)
        raise ValueError(f"config key [providers.{provider}] format: {fmt!r} is not one of {known}")
    return family


def _rewrite(path: str, rewrites: tuple[tuple[str, str], ...]) -> str:
    """``path`` with the first matching ``(client prefix, upstream prefix)`` swapped (whole segments)."""
    if not path.startswith("/"):
        return path
    for client, upstream in rewrites:
        if path == client or path.startswith(client + "/"):
            return upstream + path[len(client) :]
    return path
