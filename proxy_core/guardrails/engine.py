"""Applying a gateway's guardrail policy to one stage of one request (SPEC §4, Cloudflare's rules).

:meth:`GuardrailEngine.check` chunks the texts to the evaluator's size, judges every chunk not in
the content-hash cache in one call (bounded by ``timeout``), and maps the categories found to the
stage's actions: any ``block`` category → ``blocked``, else any ``flag`` category → ``flagged``,
``ignore`` categories are recorded but do not count. One unsafe chunk is enough.

When the evaluator cannot answer (unreachable, HTTP error, timeout, unreadable answer): if any
category of the stage is on ``block`` the outcome is ``blocked`` (fail closed); otherwise it is
``passed`` with ``evaluated=False`` and the error recorded (fail open: availability first, and the
log says the request went through unevaluated).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import OrderedDict
from typing import Any, Callable, Mapping, Sequence

from proxy_core.guardrails.chunking import chunk
from proxy_core.guardrails.evaluators.base import Evaluator, EvaluatorUnavailable
from proxy_core.guardrails.outcome import GuardrailOutcome, Verdict, sorted_codes
from proxy_core.redact import redact_text

__all__ = ["GuardrailEngine", "STAGES"]

STAGES = ("prompt", "response")
CACHE_ENTRIES = 10_000
"""At most this many chunk verdicts are cached (oldest dropped first)."""


class GuardrailEngine:
    """One evaluator, shared by every gateway; each call brings the gateway's policy.

    ``cache_seconds`` keeps a chunk's verdict (keyed by the SHA-256 of stage and chunk) so an
    identical prompt is not judged again within that time; 0 turns the cache off. ``timeout`` bounds
    one evaluator call. ``clock`` is injectable for tests.
    """

    def __init__(
        self,
        evaluator: Evaluator,
        *,
        cache_seconds: float = 60.0,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.evaluator = evaluator
        self.cache_seconds = cache_seconds
        self.timeout = timeout
        self.clock = clock
        self._cache: OrderedDict[bytes, tuple[float, Verdict]] = OrderedDict()

    def needs(self, policy: Mapping[str, Any], stage: str) -> bool:
        """Whether ``stage`` must be judged: guardrails on and at least one category not ``ignore``."""
        return bool(policy.get("enabled")) and any(a != "ignore" for a in (policy.get(stage) or {}).values())

    async def check(self, policy: Mapping[str, Any], stage: str, texts: Sequence[str]) -> GuardrailOutcome:
        """Judge ``texts`` for ``stage`` under ``policy`` (a :func:`normalize_policy` result)."""
        if stage not in STAGES:
            raise ValueError(f"guardrails: unknown stage {stage!r}")
        actions: Mapping[str, str] = policy.get(stage) or {}
        started = time.perf_counter()
        chunks = list(dict.fromkeys(c for t in texts for c in chunk(t, self.evaluator.max_chars)))
        if not self.needs(policy, stage) or not chunks:
            return self._outcome(stage, "passed", started, evaluated=False)
        try:
            verdicts, cached = await self._judge(chunks, stage)
        except EvaluatorUnavailable as exc:
            return self._unavailable(actions, stage, started, redact_text(str(exc)))
        except TimeoutError:
            return self._unavailable(actions, stage, started, f"{self.evaluator.name}: no answer within {self.timeout:g}s")
        except Exception as exc:  # a broken evaluator must not break the request; the log says why
            return self._unavailable(actions, stage, started, redact_text(f"{self.evaluator.name}: {type(exc).__name__}: {exc}"))
        found = sorted_codes(c for v in verdicts if not v.safe for c in v.categories)
        applied = tuple((code, actions.get(code, "flag")) for code in found)
        counted = tuple(code for code, act in applied if act != "ignore")
        if any(act == "block" for _, act in applied):
            action = "blocked"
        elif counted:
            action = "flagged"
        else:
            action = "passed"
        return self._outcome(stage, action, started, categories=counted, actions=applied, chunks=len(chunks), cached=cached)

    async def _judge(self, chunks: list[str], stage: str) -> tuple[list[Verdict], int]:
        now = self.clock()
        keys = [hashlib.sha256(f"{stage}\0{c}".encode()).digest() for c in chunks]
        verdicts: list[Verdict | None] = [self._cached(k, now) for k in keys]
        missing = [i for i, v in enumerate(verdicts) if v is None]
        if missing:
            fresh = await asyncio.wait_for(self.evaluator.judge([chunks[i] for i in missing], stage), self.timeout)
            if not isinstance(fresh, list) or len(fresh) != len(missing):
                raise EvaluatorUnavailable(f"{self.evaluator.name}: expected {len(missing)} verdicts")
            expires = self.clock() + self.cache_seconds
            for i, verdict in zip(missing, fresh):
                verdicts[i] = verdict
                self._store(keys[i], expires, verdict)
        return [v for v in verdicts if v is not None], len(chunks) - len(missing)

    def _cached(self, key: bytes, now: float) -> Verdict | None:
        entry = self._cache.get(key)
        if entry is None:
            return None
        expires, verdict = entry
        if expires <= now:
            del self._cache[key]
            return None
        return verdict

    def _store(self, key: bytes, expires: float, verdict: Verdict) -> None:
        if self.cache_seconds <= 0:
            return
        self._cache[key] = (expires, verdict)
        self._cache.move_to_end(key)
        while len(self._cache) > CACHE_ENTRIES:
            self._cache.popitem(last=False)

    def _unavailable(self, actions: Mapping[str, str], stage: str, started: float, error: str) -> GuardrailOutcome:
        fail_closed = any(a == "block" for a in actions.values())
        return self._outcome(stage, "blocked" if fail_closed else "passed", started, evaluated=False, error=error)

    def _outcome(self, stage: str, action: str, started: float, *, evaluated: bool = True, **fields: Any) -> GuardrailOutcome:
        return GuardrailOutcome(
            evaluated=evaluated,
            action=action,
            categories=fields.pop("categories", ()),
            stage=stage,
            evaluator=self.evaluator.name,
            latency_ms=round((time.perf_counter() - started) * 1000),
            **fields,
        )
