"""ProviderRegistry.resolve: client path → exact upstream URL, and what it must refuse (SPEC §1)."""

from __future__ import annotations

import pytest

from proxy_core.config import ProviderSettings
from proxy_core.errors import ErrorCode, GatewayError
from proxy_core.providers import BUILTIN_PROVIDERS, FAMILIES, ProviderRegistry, pricing_name

ACCOUNT = "0123456789abcdef0123456789abcdef"

VERTEX_PATH = "/v1/projects/my-proj/locations/us-east4/publishers/google/models/gemini-1.0-pro-001:generateContent"

# provider, client path under /v1/{account}/{gateway}/{provider}, the upstream URL it must reach
UPSTREAM_URLS = [
    ("openai", "/chat/completions", "https://api.openai.com/v1/chat/completions"),
    ("openai", "/responses", "https://api.openai.com/v1/responses"),
    ("anthropic", "/v1/messages", "https://api.anthropic.com/v1/messages"),
    (
        "azure-openai",
        "/my-resource/gpt4o-prod/chat/completions",
        "https://my-resource.openai.azure.com/openai/deployments/gpt4o-prod/chat/completions",
    ),
    (
        "azure-openai",
        "/my-resource/gpt-4.1/chat/completions",  # Foundry's default deployment name is the model name
        "https://my-resource.openai.azure.com/openai/deployments/gpt-4.1/chat/completions",
    ),
    (
        "aws-bedrock",
        "/bedrock-runtime/us-east-1/model/amazon.titan-embed-text-v2:0/invoke",
        "https://bedrock-runtime.us-east-1.amazonaws.com/model/amazon.titan-embed-text-v2:0/invoke",
    ),
    (
        "aws-bedrock",
        "/bedrock-runtime/eu-west-3/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse",
        "https://bedrock-runtime.eu-west-3.amazonaws.com/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse",
    ),
    ("cartesia", "/tts/bytes", "https://api.cartesia.ai/tts/bytes"),
    ("cerebras", "/chat/completions", "https://api.cerebras.ai/v1/chat/completions"),
    ("cerebras-ai", "/chat/completions", "https://api.cerebras.ai/v1/chat/completions"),
    ("cohere", "/v1/chat", "https://api.cohere.ai/v1/chat"),
    ("cohere", "/v2/chat", "https://api.cohere.ai/v2/chat"),
    ("deepseek", "/chat/completions", "https://api.deepseek.com/chat/completions"),
    (
        "elevenlabs",
        "/v1/text-to-speech/JBFqnCBsd6RMkjVDRZzb",
        "https://api.elevenlabs.io/v1/text-to-speech/JBFqnCBsd6RMkjVDRZzb",
    ),
    (
        "google-ai-studio",
        "/v1beta/models/gemini-2.0-flash:generateContent",
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:generateContent",
    ),
    ("grok", "/v1/chat/completions", "https://api.x.ai/v1/chat/completions"),
    ("groq", "/chat/completions", "https://api.groq.com/openai/v1/chat/completions"),
    ("mistral", "/v1/chat/completions", "https://api.mistral.ai/v1/chat/completions"),
    ("huggingface", "/bigcode/starcoder", "https://api-inference.huggingface.co/models/bigcode/starcoder"),
    ("openrouter", "/v1/chat/completions", "https://openrouter.ai/api/v1/chat/completions"),
    ("perplexity-ai", "/chat/completions", "https://api.perplexity.ai/chat/completions"),
    ("replicate", "/predictions", "https://api.replicate.com/v1/predictions"),
    ("google-vertex-ai", VERTEX_PATH, "https://us-east4-aiplatform.googleapis.com" + VERTEX_PATH),
    (
        "google-vertex-ai",
        "/v1/projects/p/locations/global/publishers/google/models/gemini-2.5-flash:generateContent",
        "https://aiplatform.googleapis.com/v1/projects/p/locations/global/publishers/google/models/"
        "gemini-2.5-flash:generateContent",
    ),
    (
        "workers-ai",
        "/@cf/meta/llama-3.1-8b-instruct",
        f"https://api.cloudflare.com/client/v4/accounts/{ACCOUNT}/ai/run/@cf/meta/llama-3.1-8b-instruct",
    ),
    (
        "workers-ai",
        "/v1/chat/completions",  # Workers AI's OpenAI-compatible endpoints live beside /ai/run, not under it
        f"https://api.cloudflare.com/client/v4/accounts/{ACCOUNT}/ai/v1/chat/completions",
    ),
]


def resolve(name: str, path: str, overrides: dict[str, ProviderSettings] | None = None, account: str = ACCOUNT):
    return ProviderRegistry(overrides or {}).resolve(name, path, account_id=account)


def url_of(name: str, path: str, **kwargs) -> str:
    resolved = resolve(name, path, **kwargs)
    return resolved.upstream_base + resolved.path


def error_code(name: str, path: str, **kwargs) -> ErrorCode:
    with pytest.raises(GatewayError) as info:
        resolve(name, path, **kwargs)
    return info.value.code


@pytest.mark.parametrize(("name", "path", "expected"), UPSTREAM_URLS, ids=lambda v: v if "/" not in v else None)
def test_builtin_provider_maps_to_upstream(name: str, path: str, expected: str) -> None:
    assert url_of(name, path) == expected


def test_every_builtin_provider_has_a_url_case() -> None:
    assert {spec.name for spec in BUILTIN_PROVIDERS} == {name for name, _, _ in UPSTREAM_URLS}


def test_resolved_base_has_no_trailing_slash_and_path_stays_encoded() -> None:
    resolved = resolve("aws-bedrock", "/bedrock-runtime/us-west-2/model/meta.llama3-8b-instruct-v1%3A0/invoke")
    assert resolved.upstream_base == "https://bedrock-runtime.us-west-2.amazonaws.com"
    assert resolved.path == "/model/meta.llama3-8b-instruct-v1%3A0/invoke"
    assert resolved.spec.family is FAMILIES["bedrock"]


def test_path_params_alone_give_an_empty_path() -> None:
    resolved = resolve("azure-openai", "/res/dep")
    assert (resolved.upstream_base, resolved.path) == ("https://res.openai.azure.com/openai/deployments/dep", "")


def test_workers_ai_uses_the_gateway_account_id() -> None:
    assert url_of("workers-ai", "/@cf/baai/bge-base-en-v1.5", account="acct42") == (
        "https://api.cloudflare.com/client/v4/accounts/acct42/ai/run/@cf/baai/bge-base-en-v1.5"
    )


@pytest.mark.parametrize(
    ("name", "family"),
    [("openai", "openai"), ("groq", "openai"), ("anthropic", "anthropic"), ("google-vertex-ai", "google"),
     ("cohere", "cohere"), ("workers-ai", "workers-ai"), ("aws-bedrock", "bedrock"), ("azure-openai", "openai")],
)  # fmt: skip
def test_builtin_family(name: str, family: str) -> None:
    assert ProviderRegistry({}).get(name).family.id == family


# -- config overrides and custom providers --------------------------------------------------------


def test_override_replaces_builtin_base_and_strips_trailing_slash() -> None:
    overrides = {"openai": ProviderSettings(base_url="http://127.0.0.1:9000/v1/")}
    assert url_of("openai", "/chat/completions", overrides=overrides) == "http://127.0.0.1:9000/v1/chat/completions"
    assert ProviderRegistry(overrides).get("openai").family is FAMILIES["openai"]


def test_override_keeps_path_params_when_base_has_placeholders() -> None:
    overrides = {"azure-openai": ProviderSettings(base_url="http://127.0.0.1:9000/azure/{resource}/{deployment}")}
    assert url_of("azure-openai", "/res/dep/chat/completions", overrides=overrides) == (
        "http://127.0.0.1:9000/azure/res/dep/chat/completions"
    )


def test_override_with_empty_base_keeps_builtin_base() -> None:
    overrides = {"groq": ProviderSettings(format="openai")}
    assert url_of("groq", "/chat/completions", overrides=overrides) == "https://api.groq.com/openai/v1/chat/completions"


def test_override_may_change_a_builtin_family() -> None:
    registry = ProviderRegistry({"openrouter": ProviderSettings(format="anthropic")})
    assert registry.get("openrouter").family is FAMILIES["anthropic"]


def test_override_with_unknown_format_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"providers\.openai.*format"):
        ProviderRegistry({"openai": ProviderSettings(format="anthropc")})


@pytest.mark.parametrize("fmt", sorted(FAMILIES))
def test_custom_provider_with_format(fmt: str) -> None:
    registry = ProviderRegistry({"ollama": ProviderSettings(base_url="http://localhost:11434/v1/", format=fmt)})
    resolved = registry.resolve("ollama", "/chat/completions", account_id=ACCOUNT)
    assert resolved.upstream_base + resolved.path == "http://localhost:11434/v1/chat/completions"
    assert resolved.spec.family is FAMILIES[fmt]
    assert "ollama" in registry.names()


def test_custom_provider_defaults_to_openai_format() -> None:
    registry = ProviderRegistry({"vllm": ProviderSettings(base_url="http://10.0.0.5:8000/v1")})
    assert registry.get("vllm").family is FAMILIES["openai"]


def test_custom_provider_with_unknown_format_names_the_key() -> None:
    with pytest.raises(ValueError, match=r"\[providers\.ollama\] format: 'llama'"):
        ProviderRegistry({"ollama": ProviderSettings(base_url="http://localhost:11434", format="llama")})


def test_custom_provider_without_base_url_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"\[providers\.ollama\] base_url"):
        ProviderRegistry({"ollama": ProviderSettings(format="openai")})


def test_names_lists_builtins_and_customs_sorted() -> None:
    names = ProviderRegistry({"zz-local": ProviderSettings(base_url="http://x")}).names()
    assert names == sorted(names)
    assert {"openai", "workers-ai", "zz-local"} <= set(names)


# -- what resolve refuses ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["nope", "OpenAI", "compat", ""])
def test_unknown_provider(name: str) -> None:
    assert error_code(name, "/chat/completions") == ErrorCode.UNKNOWN_PROVIDER


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("azure-openai", "/evil.com/dep/chat/completions"),
        ("azure-openai", "/a@b/dep/chat/completions"),
        ("azure-openai", "/res:443/dep/chat/completions"),
        ("azure-openai", "/-res/dep/chat/completions"),
        ("azure-openai", "/res%2eevil.com/dep/chat/completions"),
        ("azure-openai", "/res\n/dep/chat/completions"),
        ("azure-openai", "/" + "a" * 64 + "/dep/chat/completions"),
        ("azure-openai", "/res/dep@evil/chat/completions"),
        ("aws-bedrock", "/bedrock-runtime/us-east-1.evil.com/model/x/invoke"),
        ("aws-bedrock", "/bedrock-runtime/us-east-1@evil.com/model/x/invoke"),
        ("aws-bedrock", "/bedrock-runtime/us_east_1/model/x/invoke"),
        ("google-vertex-ai", "/v1/projects/p/locations/us-east4.evil.com/publishers/google/models/m:generateContent"),
        ("google-vertex-ai", "/v1/projects/p/locations/a@b/publishers/google/models/m:generateContent"),
    ],
)
def test_invalid_host_labels_are_rejected(name: str, path: str) -> None:
    assert error_code(name, path) == ErrorCode.INVALID_PATH


@pytest.mark.parametrize("service", ["bedrock", "bedrock-agent-runtime", "s3", "sts"])
def test_bedrock_serves_only_bedrock_runtime(service: str) -> None:
    assert error_code("aws-bedrock", f"/{service}/us-east-1/model/x/invoke") == ErrorCode.INVALID_PATH


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("azure-openai", ""),
        ("azure-openai", "/"),
        ("azure-openai", "/res"),
        ("azure-openai", "//dep/chat/completions"),
        ("azure-openai", "/res//chat/completions"),
        ("aws-bedrock", "/bedrock-runtime"),
        ("aws-bedrock", "/bedrock-runtime/"),
        ("google-vertex-ai", "/v1/projects/p/publishers/google/models/m:generateContent"),
        ("google-vertex-ai", "/v1/projects/p/locations"),
        ("google-vertex-ai", "/v1/projects/p/locations/"),
    ],
)
def test_missing_path_params_are_rejected(name: str, path: str) -> None:
    assert error_code(name, path) == ErrorCode.INVALID_PATH


def test_upstream_host_is_never_taken_from_a_plain_provider_path() -> None:
    resolved = resolve("openai", "/@evil.com/chat/completions")
    assert resolved.upstream_base == "https://api.openai.com/v1"
    assert resolved.path == "/@evil.com/chat/completions"


def test_workers_ai_override_keeps_openai_compatible_paths_beside_run() -> None:
    overrides = {"workers-ai": ProviderSettings(base_url="http://127.0.0.1:9000/client/v4/accounts/{account}/ai/run")}
    assert url_of("workers-ai", "/v1/embeddings", overrides=overrides, account="a1") == (
        "http://127.0.0.1:9000/client/v4/accounts/a1/ai/v1/embeddings"
    )
    assert url_of("workers-ai", "/@cf/meta/llama-3.1-8b-instruct", overrides=overrides, account="a1") == (
        "http://127.0.0.1:9000/client/v4/accounts/a1/ai/run/@cf/meta/llama-3.1-8b-instruct"
    )


# -- the paths SDKs send from the reference's base URLs (issue 14) ---------------------------------

# provider, the path an SDK (or the reference's curl) sends below the provider segment, upstream URL
SDK_PATHS = [
    ("anthropic", "/messages", "https://api.anthropic.com/v1/messages"),  # Vercel AI SDK, baseURL …/anthropic
    ("anthropic", "/v1/messages", "https://api.anthropic.com/v1/messages"),  # Anthropic SDK, curl
    ("anthropic", "/v1/messages/count_tokens", "https://api.anthropic.com/v1/messages/count_tokens"),
    ("grok", "/chat/completions", "https://api.x.ai/v1/chat/completions"),  # OpenAI SDK, baseURL …/grok
    ("grok", "/v1/messages", "https://api.x.ai/v1/messages"),  # Anthropic SDK, baseURL …/grok
    ("openrouter", "/chat/completions", "https://openrouter.ai/api/v1/chat/completions"),  # OpenAI SDK
    ("groq", "/openai/v1/chat/completions", "https://api.groq.com/openai/v1/chat/completions"),  # groq-sdk
    ("groq", "/openai/v1", "https://api.groq.com/openai/v1"),
    ("groq", "/openaiv1/x", "https://api.groq.com/openai/v1/openaiv1/x"),  # whole segments only
    ("mistral", "/chat/completions", "https://api.mistral.ai/v1/chat/completions"),
    ("cohere", "/v1/v1/chat", "https://api.cohere.ai/v1/chat"),  # cohere-python, base_url …/cohere/v1
    ("cohere", "/v1/v2/chat", "https://api.cohere.ai/v2/chat"),
    ("cohere", "/chat", "https://api.cohere.ai/v1/chat"),
    ("cohere", "/v1/embed", "https://api.cohere.ai/v1/embed"),
    ("perplexity", "/chat/completions", "https://api.perplexity.ai/chat/completions"),  # alias
]


@pytest.mark.parametrize(("name", "path", "expected"), SDK_PATHS, ids=lambda v: v if "/" not in v else None)
def test_sdk_paths_reach_the_real_upstream_path(name: str, path: str, expected: str) -> None:
    assert url_of(name, path) == expected


def test_rewrites_apply_below_an_overridden_base() -> None:
    overrides = {"anthropic": ProviderSettings(base_url="http://127.0.0.1:9000"),
                 "groq": ProviderSettings(base_url="http://127.0.0.1:9000/openai/v1")}  # fmt: skip
    assert url_of("anthropic", "/messages", overrides=overrides) == "http://127.0.0.1:9000/v1/messages"
    assert url_of("groq", "/openai/v1/chat/completions", overrides=overrides) == (
        "http://127.0.0.1:9000/openai/v1/chat/completions"
    )


def test_custom_providers_have_no_rewrites() -> None:
    registry = ProviderRegistry({"ollama": ProviderSettings(base_url="http://localhost:11434")})
    resolved = registry.resolve("ollama", "/api/chat", account_id=ACCOUNT)
    assert resolved.upstream_base + resolved.path == "http://localhost:11434/api/chat"


def test_perplexity_is_an_alias_of_perplexity_ai() -> None:
    assert {alias: spec.name for spec in BUILTIN_PROVIDERS for alias in spec.aliases} == {"perplexity": "perplexity-ai"}
    registry = ProviderRegistry({})
    assert registry.get("perplexity") is registry.get("perplexity-ai")
    assert "perplexity" in registry.names()


@pytest.mark.parametrize("configured", ["perplexity-ai", "perplexity"])
def test_an_override_of_either_name_serves_both(configured: str) -> None:
    overrides = {configured: ProviderSettings(base_url="http://127.0.0.1:9000/pplx/")}
    for name in ("perplexity", "perplexity-ai"):
        assert url_of(name, "/chat/completions", overrides=overrides) == "http://127.0.0.1:9000/pplx/chat/completions"


def test_pricing_names_come_from_the_rows() -> None:
    assert pricing_name("perplexity") == "perplexity-ai"  # an alias
    assert pricing_name("cerebras-ai") == "cerebras"  # the same catalogue under another name
    assert pricing_name("google-vertex-ai") == "google-ai-studio"
    assert pricing_name("openai") == "openai"
    assert pricing_name("my-ollama") == "my-ollama"  # custom providers price under their own name


def test_naming_a_rows_own_format_keeps_its_family_arguments() -> None:
    registry = ProviderRegistry({"azure-openai": ProviderSettings(format="openai"),
                                 "google-vertex-ai": ProviderSettings(format="google")})  # fmt: skip
    assert registry.get("azure-openai").family.translator().auth_headers("Bearer k") == {"api-key": "k"}
    assert registry.get("google-vertex-ai").family.translator().vertex is True
