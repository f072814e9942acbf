"""cache_key / custom_cache_key / ttl_from_header: stable, sensitive where it matters, blind to secrets."""

from __future__ import annotations

import hashlib
import re
import types

import pytest

from proxy_core.cache import (
    ANSWER_HEADERS,
    CREDENTIAL_HEADERS,
    MAX_TTL,
    cache_key,
    custom_cache_key,
    ttl_from_header,
)
from proxy_core.cache import keys as keys_module

PROVIDER = "openai"
METHOD = "POST"
PATH = "https://api.openai.com/v1/chat/completions?api-version=2024-10-21"
BODY = b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"how to build a wooden spoon?"}]}'
HEADERS = {
    "Authorization": "Bearer sk-alpha-0123456789",
    "Content-Type": "application/json",
    "User-Agent": "OpenAI/Python 1.0",
}


def key(**changes: object) -> str:
    args: dict[str, object] = {
        "provider": PROVIDER,
        "method": METHOD,
        "upstream_path_and_query": PATH,
        "body": BODY,
        "headers": HEADERS,
    }
    share = bool(changes.pop("share", False))
    args.update(changes)
    return cache_key(**args, share_across_credentials=share)  # type: ignore[arg-type]


def with_headers(**extra: str) -> dict[str, str]:
    return {**HEADERS, **{name.replace("_", "-"): value for name, value in extra.items()}}


# -- stability -------------------------------------------------------------------------------------


def test_same_request_same_key() -> None:
    assert key() == key()
    assert re.fullmatch(r"[0-9a-f]{64}", key())


def test_key_is_independent_of_header_order_and_name_case() -> None:
    shuffled = dict(reversed(list(HEADERS.items())))
    lower = {name.lower(): value for name, value in HEADERS.items()}
    upper = {name.upper(): value for name, value in HEADERS.items()}
    assert key(headers=shuffled) == key(headers=lower) == key(headers=upper) == key()


def test_method_is_case_insensitive() -> None:
    assert key(method="post") == key()


@pytest.mark.parametrize(
    "header",
    ["user-agent", "x-stainless-retry-count", "x-request-id", "traceparent", "cf-aig-cache-ttl",
     "cf-aig-authorization", "cf-aig-metadata", "http-referer", "x-title", "accept-encoding"],
)  # fmt: skip
def test_headers_that_do_not_change_the_answer_do_not_change_the_key(header: str) -> None:
    assert key(headers={**HEADERS, header: "one"}) == key(headers={**HEADERS, header: "two"}) == key()


def test_answer_header_whitespace_is_insignificant() -> None:
    assert key(headers=with_headers(anthropic_version=" 2023-06-01 ")) == key(
        headers=with_headers(anthropic_version="2023-06-01")
    )


# -- sensitivity -----------------------------------------------------------------------------------


def test_every_byte_of_the_body_matters() -> None:
    base = key()
    seen = {base}
    for i in range(len(BODY)):
        changed = bytearray(BODY)
        changed[i] ^= 0x01
        seen.add(key(body=bytes(changed)))
    assert len(seen) == len(BODY) + 1


def test_body_length_matters() -> None:
    assert len({key(body=b""), key(body=b"\x00"), key(body=BODY + b" "), key()}) == 4


def test_binary_bodies() -> None:
    blob = bytes(range(256)) * 4
    assert key(body=blob) == key(body=blob) != key(body=blob[:-1] + b"\x00")


@pytest.mark.parametrize(
    "change",
    [
        {"provider": "azure-openai"},
        {"provider": "openai "},
        {"method": "PUT"},
        {"upstream_path_and_query": PATH.replace("/chat/completions", "/completions")},
        {"upstream_path_and_query": PATH.replace("2024-10-21", "2024-10-22")},
        {"upstream_path_and_query": PATH + "&stream=true"},
        {"upstream_path_and_query": PATH.split("?")[0]},
        {"upstream_path_and_query": PATH.replace("api.openai.com", "other.example")},
    ],
)
def test_provider_method_path_and_query_matter(change: dict[str, str]) -> None:
    assert key(**change) != key()


@pytest.mark.parametrize("header", sorted(ANSWER_HEADERS) + ["x-amzn-bedrock-guardrailidentifier"])
def test_answer_changing_headers_matter(header: str) -> None:
    one = key(headers={**HEADERS, header: "value-one"})
    two = key(headers={**HEADERS, header: "value-two"})
    assert len({one, two, key(headers={k: v for k, v in HEADERS.items() if k.lower() != header})}) == 3


def test_fields_are_framed_so_shifting_bytes_between_them_changes_the_key() -> None:
    assert cache_key("ab", "c", "/x", b"", {}) != cache_key("a", "bc", "/x", b"", {})
    assert cache_key("p", "POST", "/x", b"y", {}) != cache_key("p", "POST", "/xy", b"", {})
    a = cache_key("p", "POST", "/x", b"", {"anthropic-beta": "a", "anthropic-version": "b"})
    b = cache_key("p", "POST", "/x", b"", {"anthropic-beta": "ab", "anthropic-version": ""})
    assert a != b


# -- credentials -----------------------------------------------------------------------------------


@pytest.mark.parametrize("header", sorted(CREDENTIAL_HEADERS))
def test_two_api_keys_never_share_an_entry(header: str) -> None:
    base = {k: v for k, v in HEADERS.items() if k != "Authorization"}
    one = key(headers={**base, header: "secret-one"})
    two = key(headers={**base, header: "secret-two"})
    anonymous = key(headers=base)
    assert len({one, two, anonymous}) == 3


@pytest.mark.parametrize("header", sorted(CREDENTIAL_HEADERS))
def test_sharing_across_credentials_shares_the_entry(header: str) -> None:
    base = {k: v for k, v in HEADERS.items() if k != "Authorization"}
    one = key(headers={**base, header: "secret-one"}, share=True)
    two = key(headers={**base, header: "secret-two"}, share=True)
    assert one == two == key(headers=base, share=True)
    assert one != key(headers={**base, header: "secret-one"})


def test_the_same_key_in_another_header_is_another_credential() -> None:
    assert key(headers={"x-api-key": "s"}) != key(headers={"api-key": "s"})


@pytest.mark.parametrize("param", ["key", "api_key", "api-key", "access_token", "KEY"])
def test_query_credentials_are_hashed_not_keyed_on(param: str) -> None:
    url = "https://generativelanguage.googleapis.com/v1beta/models/g:generateContent"
    one = key(upstream_path_and_query=f"{url}?{param}=AIza-one&alt=sse", headers={})
    two = key(upstream_path_and_query=f"{url}?{param}=AIza-two&alt=sse", headers={})
    assert one != two
    shared_one = key(upstream_path_and_query=f"{url}?{param}=AIza-one&alt=sse", headers={}, share=True)
    shared_two = key(upstream_path_and_query=f"{url}?{param}=AIza-two&alt=sse", headers={}, share=True)
    assert shared_one == shared_two == key(upstream_path_and_query=f"{url}?alt=sse", headers={}, share=True)


def test_a_lone_query_key_shares_with_no_query_when_sharing() -> None:
    url = "https://generativelanguage.googleapis.com/v1beta/models/g:generateContent"
    assert key(upstream_path_and_query=f"{url}?key=k", headers={}, share=True) == key(
        upstream_path_and_query=url, headers={"x-goog-api-key": "other"}, share=True
    )


def test_a_query_key_and_a_header_key_with_the_same_value_differ() -> None:
    url = "https://generativelanguage.googleapis.com/v1beta/models/g:generateContent"
    assert key(upstream_path_and_query=f"{url}?key=k", headers={}) != key(
        upstream_path_and_query=url + "?", headers={"x-goog-api-key": "k"}
    )


def test_a_parameter_merely_containing_key_is_part_of_the_path() -> None:
    url = "https://api.example/v1/x"
    assert key(upstream_path_and_query=f"{url}?monkey=1", headers={}) != key(
        upstream_path_and_query=f"{url}?monkey=2", headers={}
    )


def recorded_key_input(monkeypatch: pytest.MonkeyPatch, **changes: object) -> bytes:
    """Everything the key's SHA-256 was fed while computing one key."""
    fed: list[bytes] = []

    def recording_sha256(*args: bytes) -> object:
        real = hashlib.sha256(*args)
        fed.extend(args)

        class Recorder:
            def update(self, data: bytes) -> None:
                fed.append(bytes(data))
                real.update(data)

            def hexdigest(self) -> str:
                return real.hexdigest()

        return Recorder()

    monkeypatch.setattr(keys_module, "hashlib", types.SimpleNamespace(sha256=recording_sha256))
    key(**changes)
    monkeypatch.undo()
    return b"".join(fed)


@pytest.mark.parametrize("share", [False, True])
def test_credentials_never_enter_the_key_input(monkeypatch: pytest.MonkeyPatch, share: bool) -> None:
    secrets = {name: f"{name}-SECRET-{i}" for i, name in enumerate(sorted(CREDENTIAL_HEADERS))}
    url = "https://generativelanguage.googleapis.com/v1beta/models/g:generateContent?key=AIza-QUERY-SECRET&alt=sse"
    fed = recorded_key_input(monkeypatch, headers={**HEADERS, **secrets}, upstream_path_and_query=url, share=share)
    assert BODY in fed  # the recorder saw the input
    for secret in [*secrets.values(), HEADERS["Authorization"], "sk-alpha-0123456789", "AIza-QUERY-SECRET"]:
        assert secret.encode() not in fed


def test_the_key_uses_only_what_it_documents(monkeypatch: pytest.MonkeyPatch) -> None:
    fed = recorded_key_input(monkeypatch, headers={**HEADERS, "x-stainless-os": "Linux"})
    assert b"application/json" in fed and b"content-type" in fed
    assert b"OpenAI/Python" not in fed and b"Linux" not in fed


# -- custom keys -----------------------------------------------------------------------------------


def test_custom_cache_key() -> None:
    base = custom_cache_key("local", "default", "responseA")
    assert re.fullmatch(r"[0-9a-f]{64}", base)
    assert base == custom_cache_key("local", "default", "responseA")
    others = {
        custom_cache_key("local", "default", "responseB"),
        custom_cache_key("local", "other", "responseA"),
        custom_cache_key("acct", "default", "responseA"),
        custom_cache_key("local", "defaultr", "esponseA"),
    }
    assert base not in others and len(others) == 4


def test_custom_keys_never_collide_with_request_keys() -> None:
    assert custom_cache_key("local", "default", "x") != cache_key("local", "default", "x", b"", {})


# -- TTL -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "seconds"), [("0", 0), ("60", 60), ("3600", 3600), (" 120 ", 120), (str(MAX_TTL), MAX_TTL)])
def test_ttl_accepts_zero_and_a_minute_to_a_month(raw: str, seconds: int) -> None:
    assert ttl_from_header(raw) == seconds


def test_a_month_is_thirty_days() -> None:
    assert MAX_TTL == 2_592_000


@pytest.mark.parametrize("raw", ["1", "59", "2592001", "-1", "-60", "1.5", "abc", "", " ", "60s", "٦٠", "1e3", "+60"])
def test_ttl_rejects_the_rest_naming_the_header(raw: str) -> None:
    with pytest.raises(ValueError, match="cf-aig-cache-ttl"):
        ttl_from_header(raw)


def test_ttl_names_the_legacy_header_when_asked() -> None:
    with pytest.raises(ValueError, match="^cf-cache-ttl: "):
        ttl_from_header("30", header="cf-cache-ttl")
