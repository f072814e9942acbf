"""A gateway's ``cache_ttl`` obeys the same rule as the ``cf-aig-cache-ttl`` header (issue 14)."""

from __future__ import annotations

import pytest

from proxy_core.cache.keys import MAX_TTL, MIN_TTL, ttl_from_header
from proxy_core.services import InvalidInput
from proxy_core.services.gateways import validate_settings


@pytest.mark.parametrize("seconds", [0, MIN_TTL, 300, MAX_TTL])
def test_ttls_a_request_may_ask_for_are_accepted(seconds: int) -> None:
    assert validate_settings({"cache_ttl": seconds}) == {"cache_ttl": seconds}


def test_null_means_no_default_ttl() -> None:
    assert validate_settings({"cache_ttl": None}) == {"cache_ttl": None}


@pytest.mark.parametrize("seconds", [1, 30, MIN_TTL - 1, MAX_TTL + 1])
def test_ttls_the_header_refuses_are_refused_by_name(seconds: int) -> None:
    with pytest.raises(ValueError):
        ttl_from_header(str(seconds))
    with pytest.raises(InvalidInput) as refused:
        validate_settings({"cache_ttl": seconds})
    assert refused.value.field == "cache_ttl"
    assert str(refused.value).startswith("cache_ttl:") and str(MIN_TTL) in str(refused.value)


@pytest.mark.parametrize("value", [-1, 1.5, "60", True])
def test_non_integer_or_negative_ttls_are_refused(value: object) -> None:
    with pytest.raises(InvalidInput, match="cache_ttl"):
        validate_settings({"cache_ttl": value})
