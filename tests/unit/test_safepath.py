"""check_path: the client's provider path must not escape the configured base, in any encoding."""

from __future__ import annotations

import pytest

from proxy_core.errors import ErrorCode, GatewayError
from proxy_core.safepath import check_path


def encode_percent(raw: str, times: int) -> str:
    """``raw`` with every ``%`` escaped ``times`` more times (``%2e`` → ``%252e`` → ``%25252e``)."""
    for _ in range(times):
        raw = raw.replace("%", "%25")
    return raw


@pytest.mark.parametrize(
    "raw",
    [
        "/v1beta/models/gemini-2.0-flash:generateContent",
        "/v1beta/models/gemini-2.0-flash:streamGenerateContent",
        "/@cf/meta/llama-3.1-8b-instruct",
        "/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke",
        "/v1/projects/p/locations/us-east5/publishers/anthropic/models/claude-3-5-sonnet@20240620:rawPredict",
        "/chat/completions",
        "/v1/text-to-speech/JBFqnCBsd6RMkjVDRZzb",
        "/bigcode/starcoder",
        "/files/file-abc.txt",
        "/v1/models/..hidden",  # dots inside a segment are fine
        "/v1/models/a..b",
        "/v1/name%20with%20space",
        "/v1/100%25",
        "/",
        "",
    ],
)
def test_legitimate_paths_pass_unchanged(raw: str) -> None:
    assert check_path(raw) == raw


@pytest.mark.parametrize(
    "raw",
    [
        "/..",
        "/../admin",
        "/v1/../../etc/passwd",
        "/v1/./models",
        "/v1/.",
        "/%2e%2e/admin",
        "/%2E%2E/admin",
        "/.%2e/admin",
        "/%2e./admin",
        "/%252e%252e/admin",
        "/%25252e%25252e/admin",
        "/v1%2fadmin",
        "/v1%2Fadmin",
        "/v1%252fadmin",
        "/v1%25252Fadmin",
        "/v1%5cadmin",
        "/v1%5Cadmin",
        "/v1%255cadmin",
        "/v1\\admin",
        "/v1\\..\\admin",
        "/v1%00admin",
        "/v1%0aadmin",
        "/v1%0d%0aX-Injected:%201",
        "/v1%2500admin",
        "/v1%7fadmin",
        "/v1\tadmin",
        "/v1%3fkey=leak",
        "/v1%3Fkey=leak",
        "/v1%253fkey=leak",
        "/v1%23fragment",
        "/v1%2523fragment",
    ],
)
def test_escaping_paths_are_rejected(raw: str) -> None:
    with pytest.raises(GatewayError) as info:
        check_path(raw)
    assert info.value.code == ErrorCode.INVALID_PATH
    assert info.value.status == 400


def test_deeply_nested_encoding_is_rejected() -> None:
    with pytest.raises(GatewayError) as info:
        check_path("/" + encode_percent("%2e%2e", 10) + "/admin")
    assert info.value.code == ErrorCode.INVALID_PATH


@pytest.mark.parametrize("times", range(0, 7))
def test_dot_dot_is_found_at_any_encoding_depth(times: int) -> None:
    with pytest.raises(GatewayError):
        check_path("/v1/" + encode_percent("%2e%2e", times) + "/admin")


@pytest.mark.parametrize("times", range(0, 7))
def test_legitimate_encoded_colon_passes_at_any_depth(times: int) -> None:
    raw = "/model/" + encode_percent("anthropic.claude-v2%3A1", times) + "/invoke"
    assert check_path(raw) == raw
