"""parse_policy: cf-aig-* request headers → RequestPolicy, and a 400 naming the bad header."""

from __future__ import annotations

import pytest
from multidict import CIMultiDict

from proxy_core.errors import ErrorCode, GatewayError
from proxy_core.policy import (
    DEFAULT_POLICY, MAX_METADATA_ENTRIES, STEP_CONFIG_KEYS, CustomCost, RequestPolicy, parse_policy, parse_step_config,
)  # fmt: skip


def policy(**headers: str) -> RequestPolicy:
    return parse_policy(CIMultiDict({name.replace("_", "-"): value for name, value in headers.items()}))


def rejected(header: str, value: str) -> GatewayError:
    with pytest.raises(GatewayError) as info:
        parse_policy(CIMultiDict({header: value}))
    assert info.value.code == ErrorCode.BAD_HEADER
    assert info.value.status == 400
    assert header in info.value.message
    return info.value


def test_no_gateway_headers_is_the_default_policy() -> None:
    assert parse_policy(CIMultiDict({"Authorization": "Bearer x", "Content-Type": "application/json"})) is DEFAULT_POLICY
    assert DEFAULT_POLICY == RequestPolicy(None, None, None, None)


def test_headers_are_case_insensitive() -> None:
    parsed = parse_policy(CIMultiDict({"CF-AIG-Event-ID": "e1", "Cf-Aig-Collect-Log": "false"}))
    assert (parsed.event_id, parsed.collect_log) == ("e1", False)


# -- cf-aig-metadata -----------------------------------------------------------------------------


def test_metadata_of_strings_numbers_and_booleans() -> None:
    parsed = policy(cf_aig_metadata='{"team": "AI", "user": 12345, "ratio": 0.5, "test": true}')
    assert parsed.metadata == {"team": "AI", "user": 12345, "ratio": 0.5, "test": True}


def test_metadata_keeps_the_first_five_entries() -> None:
    raw = "{" + ", ".join(f'"k{i}": {i}' for i in range(8)) + "}"
    parsed = policy(cf_aig_metadata=raw)
    assert MAX_METADATA_ENTRIES == 5
    assert parsed.metadata == {f"k{i}": i for i in range(5)}


def test_empty_metadata_object_is_accepted() -> None:
    assert policy(cf_aig_metadata="{}").metadata == {}


@pytest.mark.parametrize(
    "raw",
    ['{"a": {"b": 1}}', '{"a": [1, 2]}', '{"a": null}', '{"ok": 1, "a": {}}', '{"a":1,"b":2,"c":3,"d":4,"e":5,"f":{}}'],
)
def test_metadata_rejects_objects_arrays_and_null(raw: str) -> None:
    rejected("cf-aig-metadata", raw)


@pytest.mark.parametrize("raw", ["", "not json", "{'a': 1}", '{"a": 1', "[1, 2]", '"text"', "42", "null"])
def test_metadata_must_be_a_json_object(raw: str) -> None:
    rejected("cf-aig-metadata", raw)


# -- cf-aig-collect-log --------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [("true", True), ("TRUE", True), (" true ", True), ("1", True),
                                              ("false", False), ("False", False), ("0", False), ("no", False)])  # fmt: skip
def test_collect_log(raw: str, expected: bool) -> None:
    assert policy(cf_aig_collect_log=raw).collect_log is expected


@pytest.mark.parametrize("raw", ["", "maybe", "truee", "2", "on-ish"])
def test_collect_log_garbage_is_rejected(raw: str) -> None:
    rejected("cf-aig-collect-log", raw)


# -- cf-aig-event-id -----------------------------------------------------------------------------


def test_event_id_is_kept() -> None:
    assert policy(cf_aig_event_id="order-42/step-1").event_id == "order-42/step-1"


def test_empty_event_id_is_none() -> None:
    assert policy(cf_aig_event_id="").event_id is None


def test_event_id_of_256_characters_is_accepted() -> None:
    assert policy(cf_aig_event_id="e" * 256).event_id == "e" * 256


@pytest.mark.parametrize("raw", ["e" * 257, "bad\tid", "bad\x7fid", "line\nbreak"])
def test_bad_event_id_is_rejected(raw: str) -> None:
    rejected("cf-aig-event-id", raw)


# -- cf-aig-custom-cost --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('{"per_token_in": 0.000001, "per_token_out": 0.000002}', CustomCost(0.000001, 0.000002)),
        ('{"per_token_in": 1, "per_token_out": 0}', CustomCost(1.0, 0.0)),
        ('{"per_token_in": 0.5}', CustomCost(0.5, 0.0)),
        ('{"per_token_out": 0.5}', CustomCost(0.0, 0.5)),
    ],
)
def test_custom_cost(raw: str, expected: CustomCost) -> None:
    parsed = policy(cf_aig_custom_cost=raw).custom_cost
    assert parsed == expected
    assert isinstance(parsed.per_token_in, float) and isinstance(parsed.per_token_out, float)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "cheap",
        "[0.1, 0.2]",
        "{}",
        '{"input": 0.1}',
        '{"per_token_in": -0.1, "per_token_out": 0.1}',
        '{"per_token_in": "0.1", "per_token_out": 0.1}',
        '{"per_token_in": true, "per_token_out": 0.1}',
        '{"per_token_in": null, "per_token_out": 0.1}',
        '{"per_token_in": 0.1, "per_token_out": [0.1]}',
    ],
)
def test_bad_custom_cost_is_rejected(raw: str) -> None:
    rejected("cf-aig-custom-cost", raw)


def test_all_headers_together() -> None:
    parsed = policy(
        cf_aig_metadata='{"user": "alice"}',
        cf_aig_collect_log="false",
        cf_aig_event_id="evt-1",
        cf_aig_custom_cost='{"per_token_in": 0.01, "per_token_out": 0.02}',
    )
    assert parsed == RequestPolicy({"user": "alice"}, False, "evt-1", CustomCost(0.01, 0.02))


# -- a universal step's config --------------------------------------------------------------------


def test_step_config_sets_retry_and_timeout_fields() -> None:
    parsed = parse_step_config({"requestTimeout": 1500, "maxAttempts": "3", "retryDelay": 0, "backoff": "Linear"},
                               "steps[0]")  # fmt: skip
    assert (parsed.request_timeout_ms, parsed.max_attempts, parsed.retry_delay_ms, parsed.backoff) == (
        1500, 3, 0, "linear"
    )  # fmt: skip
    assert parse_step_config({}, "steps[0]") is DEFAULT_POLICY
    assert STEP_CONFIG_KEYS == ("requestTimeout", "maxAttempts", "retryDelay", "backoff")


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"requestTimeout": -5}, "steps[2].config.requestTimeout: expected a whole number from 1 to 3600000"),
        ({"requestTimeout": 0}, "steps[2].config.requestTimeout: 0 is out of range"),
        ({"maxAttempts": 6}, "steps[2].config.maxAttempts: 6 is out of range (1–5)"),
        ({"retryDelay": 5001}, "steps[2].config.retryDelay: 5001 is out of range"),
        ({"backoff": "fibonacci"}, "steps[2].config.backoff: expected constant, linear or exponential"),
        ({"maxAttempts": True}, "steps[2].config.maxAttempts: must be a number or string"),
        ({"retryDelay": 1.5}, "steps[2].config.retryDelay: must be a number or string"),
        ({"cacheTtl": 60}, "steps[2].config: unknown key 'cacheTtl'"),
    ],
)
def test_bad_step_config_names_the_config_key_not_a_header(config: dict, message: str) -> None:
    with pytest.raises(GatewayError) as info:
        parse_step_config(config, "steps[2]")
    assert info.value.code == ErrorCode.BAD_REQUEST and info.value.status == 400
    assert info.value.message.startswith(message), info.value.message
    assert "cf-aig" not in info.value.message


@pytest.mark.parametrize(
    ("header", "value"),
    [("cf-aig-request-timeout", "-5"), ("cf-aig-max-attempts", "6"), ("cf-aig-retry-delay", "x"),
     ("cf-aig-backoff", "fibonacci")],
)  # fmt: skip
def test_the_same_values_as_headers_still_name_the_header(header: str, value: str) -> None:
    assert rejected(header, value).message.startswith(f"Invalid {header} header: ")
