"""What the chaos scenarios share: the result row, the run context and the load-generator handle."""

from __future__ import annotations

import json
import math
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.chaos_gateway import Spawned, spawn
from bench.load import percentile
from bench.targets import Mock

__all__ = ["Row", "Context", "LoadRun", "flush_interval", "fmt_ms", "p99_between", "verdict", "ScenarioTimeout"]

PASS, MISS, INFO, SKIP = "PASS", "MISS", "—", "SKIP"


class ScenarioTimeout(Exception):
    """Raised in the main thread when a scenario passes its hard time limit."""


@dataclass
class Row:
    """One line of the report: ``scenario | measured | target | verdict``."""

    scenario: str
    measured: str
    target: str = "—"
    verdict: str = INFO


def verdict(ok: bool) -> str:
    return PASS if ok else MISS


@dataclass
class Context:
    """One suite run: where files go, how long phases last, the seeded RNG, the 0 ms mock."""

    workdir: Path
    quick: bool
    seed: int
    mock: Mock
    bomb: Path
    rng: random.Random = field(init=False)
    details: dict[str, Any] = field(default_factory=dict)
    """Per-scenario raw figures, written to the JSON results."""

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def scenario_dir(self, name: str) -> Path:
        path = self.workdir / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def load(self, out_dir: Path, url: str, duration: float, *, concurrency: int = 32, name: str = "load", request_timeout: float = 30.0) -> "LoadRun":
        return LoadRun(out_dir, url, duration, concurrency=concurrency, name=name, request_timeout=request_timeout)


class LoadRun:
    """A running :mod:`bench.chaos_load` process; :meth:`result` waits for and reads its tally."""

    def __init__(self, out_dir: Path, url: str, duration: float, *, concurrency: int, name: str, request_timeout: float) -> None:
        self.duration = duration
        self.request_timeout = request_timeout
        self.out = out_dir / f"{name}.json"
        self.ready = out_dir / f"{name}.ready"
        for p in (self.out, self.ready):
            p.unlink(missing_ok=True)
        cmd = [sys.executable, "-m", "bench.chaos_load", "--url", url, "--duration", f"{duration:.3f}",
               "--concurrency", str(concurrency), "--request-timeout", f"{request_timeout:g}",
               "--out", str(self.out), "--ready", str(self.ready)]  # fmt: skip
        self.proc: Spawned = spawn(name, cmd, out_dir)
        self.started = self._wait_ready(15.0)

    def _wait_ready(self, timeout: float) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.ready.exists():
                text = self.ready.read_text().strip()
                if text:
                    return float(text)
            if not self.proc.alive():
                raise RuntimeError(f"load generator exited early: {self.proc.stderr()[-300:]}")
            time.sleep(0.02)
        raise RuntimeError("load generator not ready within 15 s")

    def sleep_until(self, offset: float) -> None:
        """Sleep until ``offset`` s after the load started."""
        delay = self.started + offset - time.monotonic()
        if delay > 0:
            time.sleep(delay)

    def result(self) -> dict[str, Any]:
        """Wait (bounded: duration + request timeout + 20 s) and return the tally."""
        limit = self.started + self.duration + self.request_timeout + 20 - time.monotonic()
        if self.proc.wait(max(1.0, limit)) is None:
            self.proc.end(5)
            raise RuntimeError("load generator did not finish in time")
        self.proc.end(1)
        return json.loads(self.out.read_text())


def flush_interval() -> float:
    """``[logs] flush_interval``'s default from the code (1.0 s if the setting does not exist)."""
    try:
        from proxy_core.config import LogSettings

        return float(getattr(LogSettings(), "flush_interval", 1.0))
    except Exception:  # noqa: BLE001 - an older or broken tree: the contract's default
        return 1.0


def p99_between(samples: list[list[float]], start: float, end: float, *, ok_only: bool = False) -> float:
    """p99 latency (ms) of the requests that started in ``[start, end]``."""
    values = [s[1] for s in samples if start <= s[0] <= end and (not ok_only or 200 <= s[2] < 300)]
    return percentile(values, 99)


def fmt_ms(ms: float) -> str:
    if ms is None or (isinstance(ms, float) and math.isnan(ms)):
        return "n/a"
    return f"{ms:.0f} ms" if ms >= 10 else f"{ms:.1f} ms"
