"""Every provider family implements the whole family interface, and every family folder is one."""

from __future__ import annotations

import inspect
import pkgutil

import pytest

import proxy_core.providers
from proxy_core.compat import Translator
from proxy_core.providers import BUILTIN_PROVIDERS, FAMILIES, ModelType, ProviderFamily, Usage
from proxy_core.providers.texts import StreamText

MEMBERS = sorted(
    {name for name, value in vars(ProviderFamily).items() if inspect.isfunction(value) and not name.startswith("_")}
)
MODEL_TYPES = {ModelType.TEXT, ModelType.EMBEDDINGS, ModelType.AUDIO, ModelType.IMAGE, ModelType.UNKNOWN}

# The default family of each format, and each row's own (which may carry arguments: a chat route, Vertex).
EVERY_FAMILY = {f"format {key}": family for key, family in FAMILIES.items()} | {
    f"row {spec.name}": spec.family for spec in BUILTIN_PROVIDERS
}


def test_the_interface_is_what_the_gateway_asks_of_a_family() -> None:
    assert MEMBERS == sorted([
        "upstream_base", "model_type", "request_model", "parse_response", "parse_stream_chunk", "parse_headers",
        "stream_ended", "prompt_texts", "response_texts", "read_stream_event", "translator",
    ])  # fmt: skip


@pytest.mark.parametrize("family", EVERY_FAMILY.values(), ids=EVERY_FAMILY.keys())
def test_family_implements_every_member(family: ProviderFamily) -> None:
    assert isinstance(family, ProviderFamily)
    assert isinstance(family.id, str) and FAMILIES[family.id].__class__ is family.__class__
    for name in MEMBERS:
        own = getattr(type(family), name, None)
        assert callable(own) and own is not getattr(ProviderFamily, name), f"{type(family).__name__} lacks {name}"
        assert list(inspect.signature(getattr(family, name)).parameters) == list(
            inspect.signature(getattr(ProviderFamily, name)).parameters
        )[1:], f"{type(family).__name__}.{name} has another signature than the interface"


@pytest.mark.parametrize("family", EVERY_FAMILY.values(), ids=EVERY_FAMILY.keys())
def test_family_answers_an_empty_exchange_with_the_interfaces_types(family: ProviderFamily) -> None:
    assert family.upstream_base("p", "https://h.example/{account}", {"account": "a"}, "/x") == "https://h.example/a"
    assert family.model_type("/x") in MODEL_TYPES
    assert family.request_model("", {}) is None  # no path, no body: no model
    usage = Usage()
    family.parse_response({}, usage)
    family.parse_stream_chunk({}, usage)
    family.parse_headers({}, usage)
    assert (usage.model, usage.tokens_in, usage.tokens_out) == (None, None, None)
    assert family.stream_ended({}) in (True, False, None)
    assert family.prompt_texts({}) == [] and family.response_texts({}) == []
    out = StreamText()
    family.read_stream_event({}, out)
    assert out.texts() == []
    translator = family.translator()
    if translator is not None:
        assert translator.family == family.id
        for name, value in vars(Translator).items():
            if inspect.isfunction(value) and not name.startswith("_"):
                assert callable(getattr(translator, name))


def test_every_family_folder_is_a_registered_family() -> None:
    folders = {m.name for m in pkgutil.iter_modules(proxy_core.providers.__path__) if m.ispkg}
    homes = {type(family).__module__.split(".")[2] for family in FAMILIES.values()}
    assert folders == homes
