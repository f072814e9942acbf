"""The small interface every guardrail evaluator implements, and the HTTP plumbing two of them share."""

from __future__ import annotations

from typing import Any, Callable, Mapping, Protocol, Sequence, runtime_checkable

import aiohttp
import orjson

from proxy_core.guardrails.outcome import Verdict

__all__ = ["Evaluator", "EvaluatorUnavailable", "SessionFactory", "HttpClient", "check_options"]

SessionFactory = Callable[[], aiohttp.ClientSession]
"""Returns the app's shared ``ClientSession`` (called per request, so it may be created later)."""


class EvaluatorUnavailable(Exception):
    """The evaluator could not judge: unreachable, an HTTP error, a timeout or an unreadable answer.

    The engine then applies the policy's fail-closed (any ``block`` category) or fail-open rule.
    """


@runtime_checkable
class Evaluator(Protocol):
    """Judges texts against the S1–S14 hazard categories.

    One evaluator serves every gateway; the engine chunks, caches and applies each gateway's policy,
    so an evaluator only answers "which categories does this text show".
    """

    name: str
    """The registry name: ``builtin``, ``llama-guard`` or ``openai-moderation``."""
    max_chars: int
    """The longest text one judgement takes; longer content is chunked to this size."""

    async def judge(self, texts: Sequence[str], stage: str) -> list[Verdict]:
        """One verdict per text, in order. ``stage`` is ``prompt`` (the text is what a user sent)
        or ``response`` (what a model answered). Raises :class:`EvaluatorUnavailable`."""

    async def health(self) -> tuple[bool, str]:
        """For the console: whether the evaluator can judge now, and a one-line detail."""

    async def aclose(self) -> None:
        """Release what it holds (an HTTP evaluator's session), when the gateway stops."""


def check_options(name: str, options: Mapping[str, Any], allowed: set[str], required: set[str] = frozenset()) -> None:
    """``ValueError`` naming the first unknown or missing option of evaluator ``name``."""
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise ValueError(f"guardrails evaluator {name!r}: unknown option {unknown[0]!r} (known: {', '.join(sorted(allowed))})")
    for key in sorted(required):
        if not options.get(key):
            raise ValueError(f"guardrails evaluator {name!r}: missing option {key!r}")


def positive_number(name: str, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ValueError(f"guardrails evaluator {name!r}: option {key!r} must be a positive number")
    return float(value)


class HttpClient:
    """JSON over aiohttp with one total timeout; every failure becomes :class:`EvaluatorUnavailable`.

    Uses the session from ``session_factory`` (one its caller owns) or, without one, a session of
    its own created on first use and closed by :meth:`aclose` (the gateway's way: an evaluator never
    holds provider connections).
    """

    def __init__(self, base_url: str, headers: Mapping[str, str], timeout: float, session_factory: SessionFactory | None):
        self.base_url = base_url.rstrip("/")
        self.headers = dict(headers)
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._factory = session_factory
        self._own: aiohttp.ClientSession | None = None

    def _session(self) -> aiohttp.ClientSession:
        if self._factory is not None:
            return self._factory()
        if self._own is None or self._own.closed:
            self._own = aiohttp.ClientSession()
        return self._own

    async def request(self, method: str, path: str, payload: Any = None) -> Any:
        url = f"{self.base_url}{path}"
        data = orjson.dumps(payload) if payload is not None else None
        headers = {**self.headers, "content-type": "application/json"} if data is not None else self.headers
        try:
            async with self._session().request(method, url, data=data, headers=headers, timeout=self.timeout) as resp:
                body = await resp.read()
                if resp.status >= 400:
                    snippet = body[:200].decode("utf-8", "replace").strip()
                    raise EvaluatorUnavailable(f"{method} {path}: HTTP {resp.status} {snippet}".rstrip())
        except EvaluatorUnavailable:
            raise
        except TimeoutError as exc:
            raise EvaluatorUnavailable(f"{method} {path}: timed out after {self.timeout.total:g}s") from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise EvaluatorUnavailable(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise EvaluatorUnavailable(f"{method} {path}: the answer is not JSON") from exc

    async def aclose(self) -> None:
        if self._own is not None:
            await self._own.close()
            self._own = None
