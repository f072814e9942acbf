"""Odd provider answers never crash a translator: real fixtures with a random part replaced.

A translator either returns an answer the ``openai`` SDK accepts or raises :class:`CompatError`;
streams never raise and always end in ``[DONE]``.
"""

from __future__ import annotations

import copy
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openai.types.chat import ChatCompletion

from proxy_core.compat import CompatError
from proxy_core.providers import FAMILIES
from tests.unit import test_compat_anthropic as anthropic_fx
from tests.unit import test_compat_cohere as cohere_fx
from tests.unit import test_compat_google as google_fx
from tests.unit.test_compat_api import chunks

ANSWERS = [
    ("anthropic", anthropic_fx.TEXT_ANSWER), ("anthropic", anthropic_fx.TOOL_ANSWER),
    ("google", google_fx.TEXT_ANSWER), ("google", google_fx.CALL_ANSWER),
    ("cohere", cohere_fx.TEXT_ANSWER), ("cohere", cohere_fx.TOOL_ANSWER),
]
STREAMS = [
    ("anthropic", anthropic_fx.TEXT_STREAM_EVENTS + anthropic_fx.TOOL_STREAM_EVENTS, True),
    ("google", [orjson.loads(line[6:]) for line in google_fx.CALL_STREAM.split(b"\r\n\r\n") if line], False),
    ("cohere", cohere_fx.TEXT_EVENTS, True),
]
JUNK = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    paths = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            paths += _paths(item, prefix + (key,))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            paths += _paths(item, prefix + (i,))
    return paths


def _mutate(value: Any, path: tuple, junk: Any) -> Any:
    if not path:
        return junk
    value = copy.deepcopy(value)
    target = value
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = junk
    return value


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=st.integers(0, len(ANSWERS) - 1), pick=st.integers(0, 10_000), junk=JUNK)
def test_answers(case: int, pick: int, junk: Any) -> None:
    family, answer = ANSWERS[case]
    paths = _paths(answer)
    mutated = _mutate(answer, paths[pick % len(paths)], junk)
    try:
        out = FAMILIES[family].translator().parse_response(mutated, "m")
    except CompatError:
        return
    ChatCompletion.model_validate(out)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=st.integers(0, len(STREAMS) - 1), pick=st.integers(0, 10_000), junk=JUNK)
def test_streams(case: int, pick: int, junk: Any) -> None:
    family, events, named = STREAMS[case]
    paths = _paths(events)[1:]
    mutated = _mutate(events, paths[pick % len(paths)], junk)
    native = b""
    for event in mutated:
        name = event.get("type") if isinstance(event, dict) and isinstance(event.get("type"), str) else "x"
        native += (b"event: " + name.encode() + b"\n" if named else b"") + b"data: " + orjson.dumps(event) + b"\n\n"
    state = FAMILIES[family].translator().new_stream("m", True)
    chunks(state.feed(native) + state.finish())


FULL_REQUEST: dict[str, Any] = {
    "model": "p/m",
    "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "Look"},
                                     {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBO"}}]},
        {"role": "assistant", "content": "ok", "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"a\": 1}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
    ],
    "tools": [{"type": "function", "function": {"name": "get_weather", "description": "d",
                                                "parameters": {"type": "object", "properties": {"a": {}}}}}],
    "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
    "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}},
    "stop": ["END"], "temperature": 0.5, "top_p": 1, "max_tokens": 10, "stream": True,
    "stream_options": {"include_usage": True}, "user": "u", "seed": 1, "parallel_tool_calls": False,
}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(family=st.sampled_from(["anthropic", "google", "cohere", "openai", "workers-ai"]),
       pick=st.integers(0, 10_000), junk=JUNK)
def test_requests(family: str, pick: int, junk: Any) -> None:
    paths = _paths(FULL_REQUEST)
    body = _mutate(FULL_REQUEST, paths[pick % len(paths)], junk)
    try:
        native = FAMILIES[family].translator().build_request(body, "m")
    except CompatError as err:
        assert err.status == 400 and err.message
        return
    assert native.path.startswith("/") and isinstance(orjson.loads(native.body), dict)
