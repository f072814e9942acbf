"""redact: no credential survives into a log; ids: ULIDs that sort by time."""

from __future__ import annotations

import re

import pytest
from multidict import CIMultiDict

from proxy_core.ids import new_ulid, ulid_time_ms
from proxy_core.redact import REDACTED, SECRET_HEADERS, is_secret_header, redact_headers, redact_query

SECRET = "sk-TOPSECRET-0123456789"
CROCKFORD = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")

# Every credential header a supported provider (or the gateway itself) reads.
CREDENTIAL_HEADERS = [
    "Authorization",  # OpenAI & compatibles, Cohere, Replicate, Vertex, Workers AI, Bedrock SigV4
    "x-api-key",  # Anthropic, Cartesia
    "api-key",  # Azure OpenAI
    "x-goog-api-key",  # Google AI Studio
    "xi-api-key",  # ElevenLabs
    "cf-aig-authorization",  # the gateway's own token
    "X-Amz-Security-Token",  # Bedrock session credentials
    "X-Auth-Key",  # Cloudflare's legacy global API key (Workers AI)
    "Proxy-Authorization",
    "Cookie",
    "Set-Cookie",
]


@pytest.mark.parametrize("name", CREDENTIAL_HEADERS)
def test_credential_headers_are_redacted(name: str) -> None:
    assert is_secret_header(name) and is_secret_header(name.upper())
    assert redact_headers([(name, SECRET)]) == {name.lower(): REDACTED}


@pytest.mark.parametrize(
    "name", ["content-type", "anthropic-version", "openai-organization", "x-request-id", "cf-aig-event-id", "user-agent"]
)
def test_ordinary_headers_are_kept(name: str) -> None:
    assert not is_secret_header(name)
    assert redact_headers({name: "visible"}) == {name: "visible"}


def test_redact_headers_accepts_mappings_pairs_and_multidicts() -> None:
    pairs = [("Authorization", f"Bearer {SECRET}"), ("Content-Type", "application/json")]
    expected = {"authorization": REDACTED, "content-type": "application/json"}
    assert redact_headers(pairs) == expected
    assert redact_headers(dict(pairs)) == expected
    assert redact_headers(CIMultiDict(pairs)) == expected


def test_repeated_secret_header_is_redacted_whichever_comes_last() -> None:
    out = redact_headers([("Cookie", "a=1"), ("cookie", SECRET)])
    assert out == {"cookie": REDACTED}


def test_secret_header_set_is_lower_case() -> None:
    assert all(name == name.lower() for name in SECRET_HEADERS)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (f"key={SECRET}", f"key={REDACTED}"),
        (f"alt=sse&key={SECRET}", f"alt=sse&key={REDACTED}"),
        (f"key={SECRET}&alt=sse", f"key={REDACTED}&alt=sse"),
        (f"?key={SECRET}", f"?key={REDACTED}"),
        (f"KEY={SECRET}", f"KEY={REDACTED}"),
        (f"api_key={SECRET}&x=1", f"api_key={REDACTED}&x=1"),
        (f"api-key={SECRET}", f"api-key={REDACTED}"),
        (f"access_token={SECRET}", f"access_token={REDACTED}"),
        ("key=", f"key={REDACTED}"),
        ("api-version=2024-10-21", "api-version=2024-10-21"),
        ("monkey=banana&keyring=1", "monkey=banana&keyring=1"),
        ("", ""),
    ],
)
def test_redact_query(query: str, expected: str) -> None:
    assert redact_query(query) == expected


def test_redact_query_leaves_no_secret_behind() -> None:
    query = f"key={SECRET}&alt=sse&api_key={SECRET}&access_token={SECRET}"
    assert SECRET not in redact_query(query)


# -- ids -----------------------------------------------------------------------------------------


def test_ulid_shape() -> None:
    ulid = new_ulid()
    assert len(ulid) == 26
    assert CROCKFORD.fullmatch(ulid)
    assert ulid[0] in "01234567"  # 48-bit time: the first character never exceeds 7


@pytest.mark.parametrize("ms", [0, 1, 1_700_000_000_000, 1_735_689_600_123, 2**48 - 1])
def test_ulid_time_round_trip(ms: int) -> None:
    ulid = new_ulid(ms)
    assert ulid_time_ms(ulid) == ms
    assert ulid_time_ms(ulid.lower()) == ms


def test_ulid_of_now_carries_the_current_time() -> None:
    import time

    before = int(time.time() * 1000)
    ulid = new_ulid()
    after = int(time.time() * 1000)
    assert before <= ulid_time_ms(ulid) <= after


def test_ulids_sort_by_time() -> None:
    times = [1_700_000_000_000 + step for step in (0, 1, 2, 999, 1000, 86_400_000, 10**10)]
    ulids = [new_ulid(ms) for ms in times]
    assert sorted(ulids) == ulids
    assert [ulid_time_ms(u) for u in ulids] == times


def test_ulids_of_the_same_millisecond_differ_only_in_randomness() -> None:
    ulids = {new_ulid(1_700_000_000_000) for _ in range(1000)}
    assert len(ulids) == 1000
    assert len({u[:10] for u in ulids}) == 1


def test_ulids_of_one_millisecond_sort_in_creation_order() -> None:
    ids = [new_ulid(1_800_000_000_123) for _ in range(50)]
    assert ids == sorted(ids) and len(set(ids)) == 50
    assert {ulid_time_ms(i) for i in ids} == {1_800_000_000_123}
