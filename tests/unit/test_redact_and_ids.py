"""redact and log hygiene: no credential survives into a log; ids: ULIDs that sort by time."""

from __future__ import annotations

import logging
import re

import pytest
from aiohttp.http_exceptions import BadHttpMessage, BadStatusLine, InvalidURLError, LineTooLong
from multidict import CIMultiDict

from proxy_core.ids import new_ulid, ulid_time_ms
from proxy_core.log_hygiene import LogHygiene, install_log_hygiene
from proxy_core.redact import (
    CREDENTIAL_NAMES,
    REDACTED,
    SECRET_HEADERS,
    is_credential_name,
    is_secret_header,
    redact_headers,
    redact_query,
    redact_text,
)

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


@pytest.mark.parametrize("name", sorted(CREDENTIAL_NAMES))
def test_every_credential_name_is_redacted_as_query_header_and_text(name: str) -> None:
    variants = {name, name.upper(), name.title(), name.replace("-", "_"), name.replace("_", "-")}
    for spelled in variants:
        assert is_credential_name(spelled) and is_secret_header(spelled)
        assert redact_query(f"alt=sse&{spelled}={SECRET}&x=1") == f"alt=sse&{spelled}={REDACTED}&x=1"
        assert redact_headers([(spelled, SECRET)]) == {spelled.lower(): REDACTED}
        plain = "cnry0plain0value"  # not shaped like a provider key: only the name can give it away
        texts = [f"GET https://h/p?{spelled}={plain} failed", f"{spelled}={plain}"]
        if name not in ("code", "session"):  # too common in prose for these forms; redacted as name=value
            texts += [f"b'{spelled}: {plain}'", f"b'{spelled} {plain}'", f"{spelled}: {plain}",
                      f"{{'{spelled}': '{plain}'}}", f'{{"{spelled}": "{plain}"}}']  # fmt: skip
        for text in texts:
            assert plain not in redact_text(text), text


def test_headers_and_query_names_share_one_list() -> None:
    assert SECRET_HEADERS is CREDENTIAL_NAMES
    for name in ("token", "apikey", "client_secret", "x-amz-signature", "x-amz-credential", "refresh_token"):
        assert is_secret_header(name) and is_credential_name(name)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (f"token={SECRET}", f"token={REDACTED}"),
        (f"apikey={SECRET}&alt=sse", f"apikey={REDACTED}&alt=sse"),
        (f"ApiKey={SECRET}", f"ApiKey={REDACTED}"),
        (f"%74oken={SECRET}", f"%74oken={REDACTED}"),  # percent-encoded name
        (f"a=1;sig={SECRET}", f"a=1;sig={REDACTED}"),
        (f"X-Amz-Credential={SECRET}&X-Amz-Date=20250101", f"X-Amz-Credential={REDACTED}&X-Amz-Date=20250101"),
        ("cache_key=abc&tokens=5&max_tokens=10&session_name=x", "cache_key=abc&tokens=5&max_tokens=10&session_name=x"),
        ("token", "token"),
    ],
)
def test_redact_query_by_the_list(query: str, expected: str) -> None:
    assert redact_query(query) == expected


@pytest.mark.parametrize(
    "text",
    [
        f"b'Authorization: Bearer {SECRET}\\x01'",  # aiohttp: invalid header value char
        f"Got more than 8190 bytes when reading: b'Bearer {SECRET}AAAA...'.",  # LineTooLong quotes the value only
        f"b'GET /v1/local/default/google-ai-studio/v1beta/models?key={SECRET}\\x01 HTTP/1.1'",
        "b'x-api-key cnry-no-colon-secret'",  # invalid header token: a header line without its colon
        "Authorization: Bearer cnry-plain",
        "x-api-key: cnry-plain\r\nHost: example",
        "Cookie: a=cnry-plain; b=2",
        "127.0.0.1: Client protocols ['openai-insecure-api-key.cnry-plain'] don't overlap server-known ones ()",
        "protocols: xi-api-key.cnry-plain, realtime",
        "protocols: cf-aig-authorization.cnry-plain",
        "Bearer cnry-plain",
        "Authorization: Basic Y25yeS1wbGFpbjpwdw==",
        f"upstream said: invalid key {SECRET}",
        "Google said: API key AIzaSyCNRYcnryCNRYcnryCNRYcnry0123 not valid",
        "{'Authorization': 'Bearer cnry-plain', 'Content-Type': 'x'}",
        '{"api_key": "cnry-plain", "model": "m"}',
        "wss://api.openai.com/v1/realtime?model=m&api-key=cnry-plain&x=1",
        "password=cnry-plain user=bob",
    ],
)
def test_redact_text_forms(text: str) -> None:
    redacted = redact_text(text)
    assert "cnry" not in redacted.lower() and SECRET not in redacted, redacted
    assert REDACTED in redacted
    assert redact_text(redacted) == redacted  # idempotent


@pytest.mark.parametrize(
    "text",
    [
        "Provider 'openai' is unreachable: ClientConnectorError",
        "provider closed the session with 1011: session ended",
        'upstream error {"error": {"code": 401, "message": "bad"}}',
        "KeyError: 'model'",
        "monkey=banana&keyring=1 max_tokens=5",
        "risk-assessment and desk-123456 and sk-learn",
        "aigw-console: stopped (logs written=60 dropped=0)",
    ],
)
def test_redact_text_keeps_ordinary_text(text: str) -> None:
    assert redact_text(text) == text


# -- log hygiene ---------------------------------------------------------------------------------


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _record(exc: BaseException | None, msg: str = "Error handling request from %s", args: tuple = ("10.0.0.7",),
            name: str = "aiohttp.server", level: int = logging.ERROR) -> logging.LogRecord:  # fmt: skip
    exc_info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    return logging.LogRecord(name, level, __file__, 1, msg, args, exc_info)


def _formatted(record: logging.LogRecord) -> str:
    return logging.Formatter("%(levelname)s %(name)s: %(message)s").format(record)


@pytest.mark.parametrize(
    ("exc", "line"),
    [
        (BadHttpMessage(f"Invalid header value char:\n\n  b'Authorization: Bearer {SECRET}\\x01'\n   ^"),
         "bad request from 10.0.0.7: 400 invalid header value char"),
        (LineTooLong(f"b'Bearer {SECRET}...'", "8190"),
         "bad request from 10.0.0.7: 400 got more than 8190 bytes when reading"),
        (InvalidURLError(f"Invalid char in url query:\n\n  b'GET /?key={SECRET}\\x01 HTTP/1.1'\n ^"),
         "bad request from 10.0.0.7: 400 invalid char in url query"),
        (BadStatusLine(f"GET /?token={SECRET} HTTP/9"), "bad request from 10.0.0.7: 400 bad status line"),
    ],
)  # fmt: skip
def test_a_malformed_request_is_one_warning_line(exc: BaseException, line: str) -> None:
    record = _record(exc)
    assert LogHygiene().filter(record)
    text = _formatted(record)
    assert text.startswith(f"WARNING aiohttp.server: {line}")
    assert "\n" not in text and "Traceback" not in text and SECRET not in text


def test_malformed_request_lines_are_rate_limited_and_counted() -> None:
    clock = _Clock()
    hygiene = LogHygiene(burst=3, window_s=60.0, clock=clock)
    shown = [hygiene.filter(_record(BadHttpMessage("Invalid header token"))) for _ in range(10)]
    assert shown == [True] * 3 + [False] * 7
    assert hygiene.bad_requests == 10
    clock.now = 60.0
    record = _record(BadHttpMessage("Invalid header token"))
    assert hygiene.filter(record)
    assert record.getMessage().endswith("400 invalid header token (+7 more not shown)")
    again = _record(BadHttpMessage("Invalid header token"))
    assert hygiene.filter(again) and "more not shown" not in again.getMessage()  # reported once


def test_a_record_filtered_twice_is_judged_once() -> None:
    hygiene = LogHygiene(burst=1, clock=_Clock())
    record = _record(BadHttpMessage("Invalid header token"))
    assert hygiene.filter(record) and hygiene.filter(record)  # the logger's filter, then the handler's
    assert hygiene.bad_requests == 1


def test_other_records_keep_their_traceback_redacted() -> None:
    try:
        raise RuntimeError(f"upstream https://h/v1?key={SECRET} said Bearer {SECRET}")
    except RuntimeError as exc:
        record = _record(exc, "Unhandled exception with %s", (f"Authorization: Bearer {SECRET}",), name="asyncio")
    assert LogHygiene().filter(record)
    text = _formatted(record)
    assert "Traceback (most recent call last)" in text and "RuntimeError" in text
    assert SECRET not in text and text.count(REDACTED) >= 3


def test_websocket_warning_with_client_protocols_is_redacted() -> None:
    record = _record(None, "%s: Client protocols %r don't overlap server-known ones %r",
                     ("10.0.0.7", [f"openai-insecure-api-key.{SECRET}", "realtime"], ()), name="aiohttp.websocket",
                     level=logging.WARNING)  # fmt: skip
    assert LogHygiene().filter(record)
    assert SECRET not in _formatted(record)


def test_install_is_idempotent_and_covers_handlers_and_loggers() -> None:
    root = logging.getLogger()
    handler = logging.StreamHandler()
    before = {id(h): list(h.filters) for h in root.handlers}
    root.addHandler(handler)
    try:
        first = install_log_hygiene(["aigw.test.hygiene"])
        second = install_log_hygiene(["aigw.test.hygiene"])
        assert first is second
        assert handler.filters.count(first) == 1
        assert logging.getLogger("aigw.test.hygiene").filters == [first]
    finally:
        root.removeHandler(handler)
        logging.getLogger("aigw.test.hygiene").filters.clear()
        for other in root.handlers:  # pytest's own handlers: leave them as they were
            if first not in before.get(id(other), ()):
                other.removeFilter(first)


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


# -- stored bodies ---------------------------------------------------------------------------------


def test_the_callers_own_credential_is_scrubbed_from_an_answer_that_echoes_it() -> None:
    from proxy_core.redact import scrub_body, sent_secrets

    secrets = sent_secrets([("Authorization", "Bearer sk-echo-canary-1"), ("x-api-key", "key-echo-canary-2"),
                            ("Content-Type", "application/json"), ("x-api-key", "short")])  # fmt: skip
    body = b'{"error": {"message": "invalid key sk-echo-canary-1 / key-echo-canary-2 / short"}}'
    assert scrub_body(body, secrets) == b'{"error": {"message": "invalid key [REDACTED] / [REDACTED] / short"}}'


def test_credential_members_of_a_json_request_body_are_redacted_and_nothing_else() -> None:
    from proxy_core.redact import scrub_body

    body = b'{"model": "m", "key": "k-canary", "Api_Key": "a-canary", "max_tokens": 5, "code": "print(1)", ' \
        b'"messages": [{"content": "my \\"key\\": \\"stays\\""}], "input": {"key": {"nested": 1}}}'
    out = scrub_body(body, (), json_members=True)
    assert b"k-canary" not in out and b"a-canary" not in out
    assert b'"code": "print(1)"' in out and b'"max_tokens": 5' in out and b'\\"stays\\"' in out
    assert scrub_body(b'{"logprobs": [{"token": "Hello"}]}', ()) == b'{"logprobs": [{"token": "Hello"}]}'
