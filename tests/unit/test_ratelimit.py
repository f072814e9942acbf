"""RateLimiter: fixed (epoch-aligned) and sliding windows, with an injected clock."""

from __future__ import annotations

import calendar
import time

import pytest

from proxy_core.ratelimit import RateLimiter

KEY = ("local", "default")
TEN_MINUTES = 600


class Clock:
    """A settable clock in seconds."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def at(hour: int, minute: int, second: float = 0.0) -> float:
    """A time on 2025-01-01 (UTC), in epoch seconds."""
    return calendar.timegm((2025, 1, 1, hour, minute, 0, 0, 0, 0)) + second


def burst(limiter: RateLimiter, n: int, *, limit: int, interval: int, technique: str, key=KEY) -> list[float | None]:
    return [limiter.check(key, limit, interval, technique) for _ in range(n)]


@pytest.fixture
def clock() -> Clock:
    return Clock(at(12, 0))


@pytest.fixture
def limiter(clock: Clock) -> RateLimiter:
    return RateLimiter(clock)


# The reference: 10 per 10 minutes; 10 requests at 12:09 and 10 at 12:11.


def test_reference_example_fixed_allows_all_twenty(clock: Clock, limiter: RateLimiter) -> None:
    clock.now = at(12, 9)
    assert burst(limiter, 10, limit=10, interval=TEN_MINUTES, technique="fixed") == [None] * 10
    clock.now = at(12, 11)
    assert burst(limiter, 10, limit=10, interval=TEN_MINUTES, technique="fixed") == [None] * 10


def test_reference_example_sliding_rejects_the_second_ten(clock: Clock, limiter: RateLimiter) -> None:
    clock.now = at(12, 9)
    assert burst(limiter, 10, limit=10, interval=TEN_MINUTES, technique="sliding") == [None] * 10
    clock.now = at(12, 11)
    waits = burst(limiter, 10, limit=10, interval=TEN_MINUTES, technique="sliding")
    assert waits == [pytest.approx(8 * 60)] * 10  # until the 12:09 requests leave: 12:19


def test_sliding_admits_again_once_the_window_has_passed(clock: Clock, limiter: RateLimiter) -> None:
    clock.now = at(12, 9)
    burst(limiter, 10, limit=10, interval=TEN_MINUTES, technique="sliding")
    clock.now = at(12, 19) - 0.001
    assert limiter.check(KEY, 10, TEN_MINUTES, "sliding") is not None
    clock.now = at(12, 19)  # (12:09, 12:19] no longer holds the 12:09 requests
    assert burst(limiter, 10, limit=10, interval=TEN_MINUTES, technique="sliding") == [None] * 10
    assert limiter.check(KEY, 10, TEN_MINUTES, "sliding") == pytest.approx(TEN_MINUTES)


def test_fixed_over_the_limit_waits_for_the_next_window(clock: Clock, limiter: RateLimiter) -> None:
    clock.now = at(12, 9)
    burst(limiter, 10, limit=10, interval=TEN_MINUTES, technique="fixed")
    assert limiter.check(KEY, 10, TEN_MINUTES, "fixed") == pytest.approx(60)
    clock.now = at(12, 9, 59.5)
    assert limiter.check(KEY, 10, TEN_MINUTES, "fixed") == pytest.approx(0.5)


def test_fixed_windows_are_aligned_to_the_epoch(clock: Clock, limiter: RateLimiter) -> None:
    clock.now = at(12, 9, 59.999)
    assert burst(limiter, 3, limit=3, interval=TEN_MINUTES, technique="fixed") == [None] * 3
    assert limiter.check(KEY, 3, TEN_MINUTES, "fixed") == pytest.approx(0.001)
    clock.now = at(12, 10)  # a boundary starts a new window, whatever came just before
    assert burst(limiter, 3, limit=3, interval=TEN_MINUTES, technique="fixed") == [None] * 3
    assert limiter.check(KEY, 3, TEN_MINUTES, "fixed") == pytest.approx(TEN_MINUTES)


def test_fixed_window_boundary_at_an_odd_interval() -> None:
    clock = Clock(0.0)
    limiter = RateLimiter(clock)
    clock.now = 6.9
    assert limiter.check(KEY, 1, 7, "fixed") is None
    assert limiter.check(KEY, 1, 7, "fixed") == pytest.approx(0.1)
    clock.now = 7.0
    assert limiter.check(KEY, 1, 7, "fixed") is None
    clock.now = 13.99
    assert limiter.check(KEY, 1, 7, "fixed") == pytest.approx(0.01)


def test_sliding_boundary_is_exclusive_of_the_window_start(clock: Clock, limiter: RateLimiter) -> None:
    start = at(12, 0, 0.25)
    clock.now = start
    assert limiter.check(KEY, 1, 60, "sliding") is None
    clock.now = start + 59.75
    assert limiter.check(KEY, 1, 60, "sliding") == pytest.approx(0.25)
    clock.now = start + 60  # the first request is exactly one interval old: out of (now-60, now]
    assert limiter.check(KEY, 1, 60, "sliding") is None


def test_sliding_retry_after_follows_the_oldest_request(clock: Clock, limiter: RateLimiter) -> None:
    for second in (0, 10, 20):
        clock.now = at(12, 0, second)
        assert limiter.check(KEY, 3, 60, "sliding") is None
    clock.now = at(12, 0, 30)
    assert limiter.check(KEY, 3, 60, "sliding") == pytest.approx(30)  # the 12:00:00 one leaves at 12:01:00
    clock.now = at(12, 1, 0)
    assert limiter.check(KEY, 3, 60, "sliding") is None
    assert limiter.check(KEY, 3, 60, "sliding") == pytest.approx(10)  # next to leave: 12:00:10


def test_sliding_never_admits_more_than_limit_in_any_trailing_interval() -> None:
    """Requests every 0.37 s against 5 per 3 s: check every admitted window against the promise."""
    clock = Clock(1_000.0)
    limiter = RateLimiter(clock)
    admitted: list[float] = []
    for step in range(2_000):
        clock.now = 1_000.0 + step * 0.37
        if limiter.check(KEY, 5, 3, "sliding") is None:
            admitted.append(clock.now)
    for i, t in enumerate(admitted):
        in_window = [u for u in admitted[: i + 1] if u > t - 3]
        assert len(in_window) <= 5
    assert len(admitted) > 2_000 * 0.37 * 5 / 3 * 0.8  # and it is not needlessly strict


def test_rejected_requests_are_not_counted(clock: Clock, limiter: RateLimiter) -> None:
    clock.now = at(12, 0)
    assert limiter.check(KEY, 1, 60, "sliding") is None
    for second in range(1, 60):
        clock.now = at(12, 0, second)
        assert limiter.check(KEY, 1, 60, "sliding") is not None
    clock.now = at(12, 1)
    assert limiter.check(KEY, 1, 60, "sliding") is None  # the 59 rejections did not push it back


def test_rejected_requests_are_not_counted_fixed(clock: Clock, limiter: RateLimiter) -> None:
    clock.now = at(12, 0)
    burst(limiter, 50, limit=2, interval=60, technique="fixed")
    clock.now = at(12, 1)
    assert burst(limiter, 3, limit=2, interval=60, technique="fixed")[:2] == [None, None]


def test_waits_are_positive(clock: Clock, limiter: RateLimiter) -> None:
    for technique in ("fixed", "sliding"):
        key = ("a", technique)
        clock.now = at(12, 0, 59.9999999)
        limiter.check(key, 1, 60, technique)
        wait = limiter.check(key, 1, 60, technique)
        assert wait is not None and wait > 0


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ((2, 60, "fixed"), (3, 60, "fixed")),
        ((2, 60, "fixed"), (2, 120, "fixed")),
        ((2, 60, "fixed"), (2, 60, "sliding")),
        ((2, 60, "sliding"), (2, 60, "fixed")),
        ((2, 60, "sliding"), (2, 30, "sliding")),
    ],
)
def test_changing_the_settings_resets_the_count(limiter: RateLimiter, before: tuple, after: tuple) -> None:
    assert [limiter.check(KEY, *before) for _ in range(3)][-1] is not None
    assert limiter.check(KEY, *after) is None


def test_same_settings_keep_the_count(limiter: RateLimiter) -> None:
    burst(limiter, 2, limit=2, interval=60, technique="sliding")
    assert limiter.check(KEY, 2, 60, "sliding") is not None


@pytest.mark.parametrize(("limit", "interval"), [(None, 60), (0, 60), (10, None), (10, 0), (None, None)])
def test_no_limit(limiter: RateLimiter, limit: int | None, interval: int | None) -> None:
    for technique in ("fixed", "sliding"):
        assert all(w is None for w in burst(limiter, 1_000, limit=limit, interval=interval, technique=technique))
    assert len(limiter) == 0


def test_removing_the_limit_drops_the_state(limiter: RateLimiter) -> None:
    burst(limiter, 2, limit=1, interval=60, technique="fixed")
    assert limiter.check(KEY, None, None, "fixed") is None
    assert len(limiter) == 0
    assert limiter.check(KEY, 1, 60, "fixed") is None  # a fresh start


def test_forget(limiter: RateLimiter) -> None:
    burst(limiter, 1, limit=1, interval=60, technique="sliding")
    limiter.forget(KEY)
    assert limiter.check(KEY, 1, 60, "sliding") is None


def test_unknown_technique_is_refused(limiter: RateLimiter) -> None:
    with pytest.raises(ValueError, match="fixed, sliding"):
        limiter.check(KEY, 1, 60, "leaky")


@pytest.mark.parametrize("technique", ["fixed", "sliding"])
def test_many_keys_are_independent(clock: Clock, limiter: RateLimiter, technique: str) -> None:
    keys = [("acct", f"gw{i}") for i in range(500)]
    for key in keys:
        assert burst(limiter, 3, limit=3, interval=60, technique=technique, key=key) == [None] * 3
    assert all(limiter.check(key, 3, 60, technique) is not None for key in keys)
    assert limiter.check(("other", "gw0"), 3, 60, technique) is None
    assert len(limiter) == 501


def test_sliding_memory_does_not_grow_with_the_limit(clock: Clock, limiter: RateLimiter) -> None:
    start = at(12, 0)
    for i in range(100_000):
        clock.now = start + i * 0.0005  # 100k requests inside one 50 s stretch
        assert limiter.check(KEY, 1_000_000, 60, "sliding") is None
    state = limiter._states[KEY]
    assert len(state._buckets) <= 601


def test_sliding_memory_is_bounded_over_time(clock: Clock, limiter: RateLimiter) -> None:
    start = at(12, 0)
    for i in range(20_000):
        clock.now = start + i * 0.05  # 1000 s of steady traffic against a 10 s window
        limiter.check(KEY, 1_000_000, 10, "sliding")
    assert len(limiter._states[KEY]._buckets) <= 601


def test_a_clock_stepping_back_does_not_open_the_gate(clock: Clock, limiter: RateLimiter) -> None:
    for technique in ("fixed", "sliding"):
        key = ("back", technique)
        clock.now = at(12, 10, 30)
        assert burst(limiter, 2, limit=2, interval=60, technique=technique, key=key) == [None, None]
        clock.now = at(12, 9, 30)
        wait = limiter.check(key, 2, 60, technique)
        assert wait is not None and wait > 0


def test_default_clock_is_wall_time() -> None:
    limiter = RateLimiter()
    assert limiter.check(KEY, 1, 3600, "fixed") is None
    wait = limiter.check(KEY, 1, 3600, "fixed")
    assert wait is not None and 0 < wait <= 3600 - (time.time() % 3600) + 1
