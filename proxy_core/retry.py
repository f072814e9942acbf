"""Retries and timeouts of one upstream call: how many attempts, how long between, when to give up.

Precedence is step (universal ``config``/headers) > request headers > gateway settings. What is
retried is explicit: connection errors, timeouts, 429 and 5xx answers; other 4xx answers are the
client's problem and are returned at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from proxy_core.directory import GatewayConfig
from proxy_core.policy import RequestPolicy

__all__ = ["RetryPlan", "plan_for", "is_retryable_status"]


def is_retryable_status(status: int) -> bool:
    return status == 429 or status >= 500


@dataclass(frozen=True, slots=True)
class RetryPlan:
    max_attempts: int = 1
    delay_ms: int = 0
    backoff: str = "constant"
    timeout_ms: int | None = None
    """Time to the first byte of each attempt; ``None`` waits as long as the provider takes."""

    def delay_before(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1 = the first retry)."""
        if self.backoff == "linear":
            factor = retry
        elif self.backoff == "exponential":
            factor = 2 ** (retry - 1)
        else:
            factor = 1
        return self.delay_ms * factor / 1000

    def timeout_for(self, attempt: int, *, last_step: bool) -> float | None:
        """The first-byte timeout (seconds) of ``attempt`` (1-based).

        With retries configured, the last attempt of the last step waits without a timeout, as
        the reference says; a lone attempt keeps its timeout so ``cf-aig-request-timeout`` alone
        still fails fast (or falls back).
        """
        if self.timeout_ms is None:
            return None
        if self.max_attempts > 1 and attempt == self.max_attempts and last_step:
            return None
        return self.timeout_ms / 1000


def plan_for(policy: RequestPolicy, gateway: GatewayConfig) -> RetryPlan:
    return RetryPlan(
        max_attempts=policy.max_attempts or gateway.retry_max_attempts or 1,
        delay_ms=policy.retry_delay_ms if policy.retry_delay_ms is not None else (gateway.retry_delay or 0),
        backoff=policy.backoff or gateway.retry_backoff or "constant",
        timeout_ms=policy.request_timeout_ms,
    )
