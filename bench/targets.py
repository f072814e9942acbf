"""The systems under test, each started as a subprocess pinned with ``taskset``.

A :class:`Target` knows how to start itself against a running mock upstream, which URL, headers
and model name a client uses for a given upstream latency, which PID to account CPU and memory to,
and how to stop (SIGTERM, then SIGKILL after a grace period). ``skip_reason`` set instead of
starting means the bench prints a ``skipped: <reason>`` row rather than failing.

Upstream latency is chosen per request by the URL: the mock waits N ms for paths starting
``/latN/``, so every target is configured once with one route per latency (ours: the ``openai``
provider and a custom ``openai-lat50`` provider; LiteLLM: two model names; Portkey: the
``x-portkey-custom-host`` header).
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.load import chat_body, http_request

__all__ = [
    "Mock",
    "Target",
    "DirectTarget",
    "BareTarget",
    "OursTarget",
    "ConsoleTarget",
    "free_port",
    "pin",
    "BENCH_DIR",
    "REPO_DIR",
]

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pin(cmd: list[str], cpu: int | None) -> list[str]:
    """Prefix ``cmd`` with ``taskset -c CPU`` (taskset execs, so the PID is the command's)."""
    return cmd if cpu is None else ["taskset", "-c", str(cpu), *cmd]


class Proc:
    """A subprocess in its own session with stdout+stderr in a log file."""

    def __init__(
        self, name: str, cmd: list[str], log_path: Path, *, env: dict[str, str | None] | None = None, cwd: Path | None = None
    ) -> None:
        """``env`` is added to ours; a ``None`` value removes that variable."""
        self.name = name
        self.cmd = cmd
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.popen = subprocess.Popen(
            cmd,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={k: v for k, v in {**os.environ, **(env or {})}.items() if v is not None},
            cwd=cwd,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        try:
            return self.log_path.read_text("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def wait_for_line(self, pattern: str, timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern)
        while time.monotonic() < deadline:
            m = rx.search(self.output())
            if m:
                return m
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited (rc={self.popen.returncode}): {self.tail()}")
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not print {pattern!r} within {timeout:g}s: {self.tail()}")

    def tail(self, n: int = 400) -> str:
        text = re.sub(r"\x1b\[[0-9;]*m", "", self.output()).strip()
        return text[-n:].replace("\n", " | ")

    def stop(self, grace: float = 30.0) -> int:
        """SIGTERM the process group, wait up to ``grace`` s, then SIGKILL it."""
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(grace)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.popen.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.popen.wait(5)
        self._log.close()
        return self.popen.returncode


class Mock:
    """The fast mock upstream (``bench.mock_upstream``) on the load core."""

    def __init__(self, workdir: Path, cpu: int | None, *, chunk_delay_ms: float = 2.0) -> None:
        cmd = pin([sys.executable, "-m", "bench.mock_upstream", "--port", "0", "--chunk-delay-ms", str(chunk_delay_ms)], cpu)
        self.proc = Proc("mock", cmd, workdir / "mock.log", cwd=REPO_DIR)
        self.port = int(self.proc.wait_for_line(r"mock listening on (\d+)", 15).group(1))
        self.base = f"http://127.0.0.1:{self.port}"

    def base_for(self, latency_ms: int) -> str:
        """The upstream base URL (without ``/v1``) that answers after ``latency_ms``."""
        return self.base if latency_ms == 0 else f"{self.base}/lat{latency_ms}"

    def requests(self) -> int:
        import json

        status, data = http_request(self.base + "/__stats", method="GET")
        return int(json.loads(data)["requests"]) if status == 200 else -1

    def stop(self) -> None:
        self.proc.stop(5)


@dataclass
class Target:
    """A system under test. Subclasses fill ``start``; the base class handles the rest."""

    name: str
    label: str
    workdir: Path
    cpu: int | None
    latencies: tuple[int, ...] = (0, 50)
    skip_reason: str | None = None
    proc: Proc | None = None
    version: str = ""
    notes: list[str] = field(default_factory=list)

    # -- what a client sends ------------------------------------------------------------------

    def url(self, latency_ms: int) -> str:
        raise NotImplementedError

    def headers(self, latency_ms: int) -> dict[str, str]:
        return {"Authorization": "Bearer sk-bench-not-a-real-key"}

    def model(self, latency_ms: int) -> str:
        return "bench-model"

    def body(self, latency_ms: int, *, stream: bool = False) -> bytes:
        return chat_body(self.model(latency_ms), stream=stream)

    # -- lifecycle ----------------------------------------------------------------------------

    def prepare(self) -> None:
        """One-time setup before any measurement (installs); sets ``skip_reason`` on failure."""

    def start(self, mock: Mock) -> None:
        raise NotImplementedError

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def wait_ready(self, timeout: float) -> float:
        """Poll with a real request until it answers 200; returns seconds waited."""
        started = time.monotonic()
        last = ""
        while time.monotonic() - started < timeout:
            if self.proc is not None and self.proc.popen.poll() is not None:
                raise RuntimeError(f"{self.label} exited (rc={self.proc.popen.returncode}): {self.proc.tail()}")
            try:
                status, data = http_request(self.url(0), self.body(0), self.headers(0), timeout=10)
                if status == 200:
                    return time.monotonic() - started
                last = f"HTTP {status}: {data[:200]!r}"
            except OSError as exc:
                last = f"{type(exc).__name__}: {exc}"
            time.sleep(0.2)
        raise RuntimeError(f"{self.label} not ready after {timeout:g}s ({last})")

    def stop(self) -> dict[str, Any]:
        """Stop the process; returns facts learnt at shutdown (e.g. log counts)."""
        if self.proc is not None:
            self.proc.stop()
        return {}


class DirectTarget(Target):
    """The client talks to the mock itself: the floor every proxy adds to."""

    def start(self, mock: Mock) -> None:
        self.mock = mock
        self.proc = mock.proc
        self.notes.append("CPU/RSS columns are the mock upstream's own")

    def url(self, latency_ms: int) -> str:
        return self.mock.base_for(latency_ms) + "/v1/chat/completions"

    def stop(self) -> dict[str, Any]:
        return {}  # the mock outlives the target


class BareTarget(Target):
    """``bench.bare_proxy``: aiohttp + one pooled ClientSession + uvloop."""

    def start(self, mock: Mock) -> None:
        cmd = pin([sys.executable, "-m", "bench.bare_proxy", "--port", "0", "--upstream", mock.base], self.cpu)
        self.proc = Proc("bare", cmd, self.workdir / "bare.log", cwd=REPO_DIR)
        self.port = int(self.proc.wait_for_line(r"bare proxy listening on (\d+)", 20).group(1))
        import aiohttp

        self.version = f"aiohttp {aiohttp.__version__}"

    def url(self, latency_ms: int) -> str:
        prefix = "" if latency_ms == 0 else f"/lat{latency_ms}"
        return f"http://127.0.0.1:{self.port}{prefix}/v1/chat/completions"


def _aigw_bin() -> str:
    candidate = Path(sys.executable).with_name("aigw-console")
    return str(candidate) if candidate.exists() else "aigw-console"


class OursTarget(Target):
    """``aigw-console --headless`` with full logging into SQLite in a fresh data dir.

    ``launcher`` replaces the ``aigw-console`` executable (e.g. ``[python, script.py]`` that patches
    something and then calls ``console.cli.main``), for A/B experiments on the hot path.
    """

    launcher: list[str] | None = None

    def start(self, mock: Mock) -> None:
        self.data_dir = self.workdir / "ours-data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "ours.toml"
        lines = [f'[providers.openai]\nbase_url = "{mock.base}/v1"\n']
        for lat in self.latencies:
            if lat:
                lines.append(f'[providers.openai-lat{lat}]\nbase_url = "{mock.base_for(lat)}/v1"\nformat = "openai"\n')
        config.write_text("\n".join(lines))
        cmd = pin(
            [*(self.launcher or [_aigw_bin()]), "--headless", "--quiet", "--port", "0", "--data-dir", str(self.data_dir), "--config", str(config)],
            self.cpu,
        )
        self.proc = Proc("ours", cmd, self.workdir / "ours.log", cwd=self.workdir)
        m = self.proc.wait_for_line(r"gateway listening on http://[^:]+:(\d+)(/v1/\S+)", 60)
        self.port = int(m.group(1))
        self.prefix = m.group(2).rstrip("/")
        try:
            from importlib.metadata import version

            self.version = f"aigw-console {version('aigw-console')}"
        except Exception:  # noqa: BLE001 - the version is informative only
            self.version = "aigw-console"

    def url(self, latency_ms: int) -> str:
        provider = "openai" if latency_ms == 0 else f"openai-lat{latency_ms}"
        return f"http://127.0.0.1:{self.port}{self.prefix}/{provider}/chat/completions"

    def healthz(self) -> dict[str, Any]:
        import json

        status, data = http_request(f"http://127.0.0.1:{self.port}/healthz", method="GET")
        return json.loads(data) if status == 200 else {}

    def stop(self) -> dict[str, Any]:
        assert self.proc is not None
        rc = self.proc.stop(grace=60)
        out = self.proc.output()
        facts: dict[str, Any] = {"exit_code": rc}
        errors = out.count("Error handling request")
        if errors:
            facts["handler_errors"] = errors  # unhandled exceptions in request handlers (tracebacks in its log)
            facts["client_disconnect_errors"] = out.count("Cannot write to closing transport")
        m = re.search(r"stopped \(logs written=(\d+) dropped=(\d+)", out)
        if m:
            facts["reported_written"] = int(m.group(1))
            facts["reported_dropped"] = int(m.group(2))
        db = self.data_dir / "aigw.db"
        try:
            with sqlite3.connect(db) as conn:
                facts["rows"] = conn.execute("select count(*) from logs").fetchone()[0]
                facts["rows_ok"] = conn.execute("select count(*) from logs where status_code = 200").fetchone()[0]
        except sqlite3.Error as exc:
            facts["rows_error"] = f"{db}: {exc}"
        return facts


class ConsoleTarget(Target):
    """Ours with the Textual console attached and tailing: not measurable until the console exists."""

    # When the console exists: start ours headless as usual, then attach ``aigw-console`` (same
    # data dir) under a pseudo-terminal so it renders and tails live, and measure as for ours.
    def prepare(self) -> None:
        self.skip_reason = self.skip_reason or "not yet available: console not built"

    def url(self, latency_ms: int) -> str:  # pragma: no cover - never started
        raise RuntimeError(self.skip_reason)
