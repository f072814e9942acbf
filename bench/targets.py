"""The systems under test, each started as a subprocess pinned with ``taskset`` (``cpu=None``: not pinned).

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
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
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
    "AttachedConsoleTarget",
    "TmuxPane",
    "PROBE_STEPS",
    "free_port",
    "pin",
    "BENCH_DIR",
    "REPO_DIR",
    "aigw_bin",
    "ours_version",
]

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pin(cmd: list[str], cpu: int | str | None) -> list[str]:
    """Prefix ``cmd`` with ``taskset -c CPU`` (taskset execs, so the PID is the command's).

    ``cpu`` is a core or a ``taskset -c`` list (``"0,1"``: every core, for an unpinned target; a
    plain ``None`` would inherit the bench's own affinity, the load core)."""
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
    cpu: int | str | None
    """The core it is pinned to, or a list of cores (``"0,1"``), or None (inherit the bench's affinity)."""
    latencies: tuple[int, ...] = (0, 50)
    skip_reason: str | None = None
    proc: Proc | None = None
    version: str = ""
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        """Subclasses set up their own state here (the dataclass ``__init__`` calls it)."""

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

    def pids(self) -> list[int]:
        """The processes whose trees make up the target (CPU and RSS are summed over them)."""
        return [self.pid]

    def side_pids(self) -> list[int]:
        """Helper processes of the harness (e.g. a terminal): their CPU is neither the target's nor noise."""
        return []

    def before_points(self) -> None:
        """Called once after the warm-up, before the first load point."""

    def during_point(self, latency_ms: int, connections: int, duration: float) -> Any:
        """Called as the probed point starts (a console's run of its own); may return a callable that
        the suite calls when it ends, whose result is kept with the point (``Point.probe``)."""
        return None

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


def aigw_bin() -> str:
    candidate = Path(sys.executable).with_name("aigw-console")
    return str(candidate) if candidate.exists() else "aigw-console"


class OursTarget(Target):
    """``aigw-console --headless`` with full logging into SQLite in a fresh data dir.

    With ``cpu`` every core (``"0,1"``: the ``ours-unpinned`` row) it is not pinned, as on a real
    server, and shares the cores with the mock and wrk.

    ``launcher`` replaces the ``aigw-console`` executable (e.g. ``[python, script.py]`` that patches
    something and then calls ``console.cli.main``), for A/B experiments on the hot path.
    """

    launcher: list[str] | None = None

    def write_config(self, mock: Mock, data_name: str = "ours") -> Path:
        """A fresh data dir and the config routing ``openai`` (and ``openai-latN``) to the mock."""
        self.data_dir = self.workdir / f"{data_name}-data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / f"{data_name}.toml"
        lines = [f'[providers.openai]\nbase_url = "{mock.base}/v1"\n']
        for lat in self.latencies:
            if lat:
                lines.append(f'[providers.openai-lat{lat}]\nbase_url = "{mock.base_for(lat)}/v1"\nformat = "openai"\n')
        config.write_text("\n".join(lines))
        return config

    def start(self, mock: Mock) -> None:
        config = self.write_config(mock, self.name)  # its own data dir: ``ours`` and ``ours-unpinned`` never share one
        cmd = pin(
            [*(self.launcher or [aigw_bin()]), "--headless", "--quiet", "--port", "0", "--data-dir", str(self.data_dir), "--config", str(config)],
            self.cpu,
        )
        self.proc = Proc(self.name, cmd, self.workdir / f"{self.name}.log", cwd=self.workdir)
        m = self.proc.wait_for_line(r"gateway listening on http://[^:]+:(\d+)(/v1/\S+)", 60)
        self.port = int(m.group(1))
        self.prefix = m.group(2).rstrip("/")
        self.version = ours_version()

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
        return self.shutdown_facts(rc, self.proc.output())

    def shutdown_facts(self, rc: int | None, out: str) -> dict[str, Any]:
        """Exit code, what the process reported at shutdown (``out``: its output or log) and the rows stored."""
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


def ours_version() -> str:
    try:
        from importlib.metadata import version

        return f"aigw-console {version('aigw-console')}"
    except Exception:  # noqa: BLE001 - the version is informative only
        return "aigw-console"


# -- the console in a real terminal ----------------------------------------------------------------

_TMUX_CONFIG = "set -g status off\nset -g remain-on-exit on\nset -g escape-time 10\nset -g history-limit 2000\n"


class TmuxPane:
    """A program in a detached session of a private tmux server, read with ``capture-pane``.

    The server is ours alone (``tmux -S <socket in the work dir>``, config from ``-f``: no status
    line, ``remain-on-exit``), so the user's tmux is never touched. A ``sh`` wrapper records the
    program's exit status in a file (tmux's ``#{pane_dead_status}`` is not always filled in). The
    server is started from the bench process and so shares its core (the load core); the program
    pins itself with ``taskset`` as any target.
    """

    def __init__(self, name: str, command: list[str], *, workdir: Path, env: dict[str, str], width: int, height: int) -> None:
        tmux = shutil.which("tmux")
        if tmux is None:
            raise RuntimeError("tmux is not installed")
        self._dir = workdir / f"tmux-{name}"
        if len(str(self._dir)) > 80:  # unix socket paths are limited to ~108 bytes
            self._dir = Path(tempfile.mkdtemp(prefix=f"aigw-tmux-{name}-", dir="/tmp"))
        self._dir.mkdir(parents=True, exist_ok=True)
        (self._dir / "tmux.conf").write_text(_TMUX_CONFIG)
        self._base = [tmux, "-S", str(self._dir / "sock"), "-f", str(self._dir / "tmux.conf")]
        self._status_file = self._dir / "status"
        self.session = name
        wrapper = ["/bin/sh", "-c", '"$@"; echo "$?" > "$0"', str(self._status_file), *command]
        server_env = {k: v for k, v in env.items() if k not in ("TMUX", "TMUX_PANE")}
        self._run(
            "new-session", "-d", "-s", name, "-x", str(width), "-y", str(height), "-e", f"TERM={env.get('TERM', 'xterm-256color')}",
            "--", *wrapper, env=server_env, cwd=workdir,
        )  # fmt: skip
        self.server_pid = int(self.display("#{pid}"))
        shell = int(self.display("#{pane_pid}"))
        self.pid = shell
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # the program is the wrapper shell's child
            children = _children(shell)
            if children:
                self.pid = children[0]
                break
            if self.exit_status() is not None:
                break
            time.sleep(0.02)

    def _run(self, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, check: bool = True) -> str:
        proc = subprocess.run([*self._base, *args], capture_output=True, text=True, timeout=15, env=env, cwd=cwd)
        if check and proc.returncode != 0:
            raise RuntimeError(f"tmux {args[0]} failed ({proc.returncode}): {proc.stderr.strip()}")
        return proc.stdout

    def display(self, fmt: str) -> str:
        return self._run("display-message", "-p", "-t", self.session, fmt).strip()

    def send(self, *keys: str) -> None:
        self._run("send-keys", "-t", self.session, *keys)

    def screen(self, *, join: bool = False) -> str:
        """The visible pane as text; ``join`` rejoins lines the terminal wrapped."""
        return self._run("capture-pane", "-p", *(["-J"] if join else []), "-t", self.session)

    def exit_status(self) -> int | None:
        try:
            text = self._status_file.read_text().strip()
        except FileNotFoundError:
            return None
        return int(text) if text.isdigit() else None

    def wait_for(self, pattern: str, timeout: float, *, poll: float = 0.02) -> tuple[re.Match[str], float]:
        """Poll the screen until ``pattern`` appears: the match and the seconds it took."""
        rx = re.compile(pattern, re.MULTILINE)
        started = time.monotonic()
        while True:
            screen = self.screen()
            m = rx.search(screen)
            if m:
                return m, time.monotonic() - started
            if self.exit_status() is not None:
                raise RuntimeError(f"the console exited (status {self.exit_status()}): {_squeeze(self.screen(join=True))}")
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"{pattern!r} not on screen after {timeout:g}s: {_squeeze(screen)}")
            time.sleep(poll)

    def wait_exit(self, timeout: float) -> int | None:
        deadline = time.monotonic() + timeout
        while (status := self.exit_status()) is None and time.monotonic() < deadline:
            time.sleep(0.05)
        return status

    def close(self) -> None:
        """Stop the program if it still runs (a hung-up console keeps its gateway serving), then the server."""
        try:
            if self.exit_status() is None:
                for sig, wait in ((signal.SIGTERM, 60.0), (signal.SIGKILL, 5.0)):
                    try:
                        os.kill(self.pid, sig)
                    except ProcessLookupError:
                        break
                    if self.wait_exit(wait) is not None:
                        break
        finally:
            self._run("kill-server", check=False)


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except (OSError, ValueError):
        return []


def _squeeze(screen: str, n: int = 600) -> str:
    lines = [line.rstrip() for line in screen.splitlines() if line.strip()]
    return " | ".join(lines)[-n:]


_HEADER_URL = r"http://127\.0\.0\.1:(\d+)(/v1/[\w.-]+/[\w.-]+)"
_VIEW_TITLE = {"1": r"▸ 1 Live", "2": r"▸ 2 Logs"}
_LIVE_ROW = r"^\d\d:\d\d:\d\d +\S+ +bench-model +200 "
PROBE_STEPS: tuple[tuple[str, str, str, str], ...] = (
    # tmux key, what it does, kind, what the screen shows once done
    ("Space", "pause the tail", "key", r"‖ paused"),
    ("Space", "resume the tail", "key", r"● live"),
    ("2", "switch to Logs", "view", _VIEW_TITLE["2"]),
    ("1", "switch to Live", "view", _VIEW_TITLE["1"]),
)
"""The console's responsiveness probe: a key handled in place (the event loop's latency) and a
view switch and back (a whole screen's worth of work)."""


class ConsoleTarget(OursTarget):
    """Ours with the Textual console attached and tailing: ``aigw-console`` (not ``--headless``) in one
    process, in a real terminal (tmux, ``width``×``height``) showing the Live view, full logging.

    Configured like :class:`OursTarget` and pinned the same way. The console draws the live tail
    while ``wrk`` loads the proxy; its CPU is in the process's CPU (it is the same process).
    *Responsiveness*: after the warm-up (idle) and during a probed run of the heaviest point, keys ``2`` then
    ``1`` are sent through tmux and the time until ``capture-pane`` shows the new view's header is
    recorded (:attr:`probes`; it includes tmux's own key delivery and screen polling, which the
    idle figures show). At the end the console is quit like an operator does (ctrl+q, confirm), so
    the log queue is flushed and the stored rows can be counted.

    A variant only has to say how the gateway starts (:meth:`start_gateway`) and which command the
    terminal runs (:meth:`console_command`), e.g. a headless gateway plus a second ``aigw-console``
    attached to it through the shared data dir (see :class:`AttachedConsoleTarget`).
    """

    width: int = 100
    height: int = 30
    tmux: TmuxPane | None = None

    def __post_init__(self) -> None:
        self.probes: list[dict[str, Any]] = []
        """Key → screen measurements: ``{"label", "key", "ms"}`` (``ms`` None and ``error`` on a timeout)."""
        self.tail: dict[str, Any] = {}

    def prepare(self) -> None:
        if shutil.which("tmux") is None:
            self.skip_reason = self.skip_reason or "tmux is not installed (apt-get install -y tmux)"

    # -- what a variant changes ------------------------------------------------------------------

    def start_gateway(self, mock: Mock, config: Path) -> None:
        """Nothing to start: the console's own process runs the gateway on :attr:`port`."""
        self.port = free_port()

    def console_command(self, config: Path) -> list[str]:
        """The command the terminal runs: ``aigw-console`` with the gateway in it, pinned."""
        return pin(
            [*(self.launcher or [aigw_bin()]), "--port", str(self.port), "--data-dir", str(self.data_dir), "--config", str(config)],
            self.cpu,
        )

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self, mock: Mock) -> None:
        config = self.write_config(mock, self.name)
        self.start_gateway(mock, config)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIGW_") and k != "NO_COLOR"}
        env["TERM"] = "xterm-256color"
        self.tmux = TmuxPane(self.name, self.console_command(config), workdir=self.workdir, env=env, width=self.width, height=self.height)
        m, _ = self.tmux.wait_for(_HEADER_URL, 60)
        if int(m.group(1)) != self.port:
            raise RuntimeError(f"the console shows port {m.group(1)}, expected {self.port}")
        self.prefix = m.group(2)
        self.tmux.wait_for(_VIEW_TITLE["1"], 30)
        self.version = ours_version() + f" + Textual {_textual_version()} console in tmux {self.width}×{self.height}"

    @property
    def pid(self) -> int:
        assert self.tmux is not None
        return self.tmux.pid

    def side_pids(self) -> list[int]:
        """tmux's server: on the load core, neither target nor noise."""
        return [self.tmux.server_pid] if self.tmux is not None else []

    def wait_ready(self, timeout: float) -> float:
        assert self.tmux is not None
        if self.tmux.exit_status() is not None:
            raise RuntimeError(f"the console exited (status {self.tmux.exit_status()}): {_squeeze(self.tmux.screen(join=True))}")
        return super().wait_ready(timeout)

    def before_points(self) -> None:
        """After the warm-up: the first switch builds the Logs view, then the idle probe."""
        assert self.tmux is not None
        try:
            self._switch("2", 60)
            self._switch("1", 60)
        except (TimeoutError, RuntimeError) as exc:
            self.notes.append(f"console: the first switch to Logs and back failed: {exc}"[:400])
            return
        idle = self.probe_cycles("idle", time.monotonic() + 1.0)
        for q in idle:
            q.pop("ended_at", None)
        self.probes.extend(idle)
        self.probes.extend(self._tmux_baseline())

    def _tmux_baseline(self, n: int = 5) -> list[dict[str, Any]]:
        """The harness alone: ``cat`` in the same kind of pane echoing a key (tmux send + capture)."""
        pane = TmuxPane(f"{self.name}-echo", ["cat"], workdir=self.workdir, env={**os.environ, "TERM": "xterm-256color"}, width=self.width, height=self.height)
        times: list[float] = []
        try:
            for i in range(n):
                t0 = time.monotonic()
                pane.send(f"k{i}x")
                pane.wait_for(f"k{i}x", 5)
                times.append(time.monotonic() - t0)
        except (TimeoutError, RuntimeError) as exc:
            return [{"label": "idle", "key": "k", "action": "tmux alone (cat echoes the key)", "kind": "tmux", "ms": None, "error": str(exc)[:200]}]
        finally:
            pane.close()
        times.sort()
        return [{"label": "idle", "key": "k", "action": f"tmux alone (cat echoes the key), median of {n}", "kind": "tmux", "ms": round(times[n // 2] * 1000, 1)}]

    def during_point(self, latency_ms: int, connections: int, duration: float) -> Any:
        """Probe the console while the probed point runs; returns the callable that collects it."""
        if self.tmux is None:
            return None
        import threading

        found: list[dict[str, Any]] = []
        label = f"{latency_ms} ms c={connections}"

        def probe() -> None:
            time.sleep(duration * 0.15)
            found.extend(self.probe_cycles(label, time.monotonic() + duration * 0.45))
            try:
                found.append({"label": label, "stats_line": self._stats_line()})
            except (RuntimeError, subprocess.SubprocessError) as exc:
                found.append({"label": label, "error": str(exc)})

        thread = threading.Thread(target=probe, name="console-probe", daemon=True)
        thread.start()

        def collect() -> list[dict[str, Any]]:
            load_ended = time.monotonic()
            thread.join(60)
            for q in found:  # a slow console may still be answering after wrk stopped
                if "ended_at" in q:
                    q["during_load"] = q.pop("ended_at") <= load_ended
            self.probes.extend(found)
            return found

        return collect

    def _switch(self, key: str, timeout: float) -> float:
        return self._press(key, _VIEW_TITLE[key], timeout)

    def _press(self, key: str, shows: str, timeout: float) -> float:
        """Send ``key`` and wait until ``shows`` is on screen: seconds from sending to seeing."""
        assert self.tmux is not None
        t0 = time.monotonic()
        self.tmux.send(key)
        self.tmux.wait_for(shows, timeout)
        return time.monotonic() - t0

    def probe_cycles(self, label: str, until: float) -> list[dict[str, Any]]:
        """Each of :data:`PROBE_STEPS` in turn until ``until`` (at least once): key → screen ms."""
        out: list[dict[str, Any]] = []
        while True:
            for key, action, kind, shows in PROBE_STEPS:
                probe = {"label": label, "key": key, "action": action, "kind": kind}
                try:
                    out.append({**probe, "ms": round(self._press(key, shows, 15) * 1000, 1), "ended_at": time.monotonic()})
                except (TimeoutError, RuntimeError) as exc:
                    out.append({**probe, "ms": None, "error": str(exc)[:300]})
                    return out
            if time.monotonic() >= until:
                return out
            time.sleep(0.2)

    def _stats_line(self) -> str:
        """The Live view's own stats line (req/s, errors, p50/p95) as the console shows it."""
        assert self.tmux is not None
        m, _ = self.tmux.wait_for(r"^ *\S+ req/s · .*$", 5)
        return m.group(0).strip()

    def quit_console(self) -> tuple[int | None, str]:
        """Quit as an operator does: ctrl+q, and confirm stopping the gateway (the focus starts on
        Cancel: ← then enter); SIGTERM (which also flushes) if that fails. Exit status, and how."""
        assert self.tmux is not None
        tmux = self.tmux
        try:
            tmux.send("C-q")
            tmux.wait_for(r"Quit and stop the gateway\?", 15)
            tmux.send("Left")
            tmux.send("Enter")
            rc = tmux.wait_exit(120)  # flushing, then the interpreter's final GC: seconds on a busy machine
            if rc is not None:
                return rc, "ctrl+q, confirmed"
        except (TimeoutError, RuntimeError) as exc:
            self.notes.append(f"quitting the console with ctrl+q failed ({exc}); SIGTERM instead"[:400])
        os.kill(tmux.pid, signal.SIGTERM)
        return tmux.wait_exit(60), "SIGTERM"

    def stop(self) -> dict[str, Any]:
        assert self.tmux is not None
        tmux = self.tmux
        how = "already exited"
        rc = tmux.exit_status()
        try:
            if rc is None:
                self._read_tail()
                rc, how = self.quit_console()
            final = tmux.screen(join=True)
        finally:
            tmux.close()
        if rc != 0:
            self.notes.append(f"the console exited with status {rc}: {_squeeze(final, 300)}")
        facts = self.gateway_facts(rc, final)
        facts["quit"] = how
        if self.tail:
            facts["tail"] = self.tail
        return facts

    def gateway_facts(self, console_rc: int | None, console_screen: str) -> dict[str, Any]:
        """What the gateway reported when it stopped (here: in ``console.log``) and the rows stored."""
        try:
            out = (self.data_dir / "console.log").read_text("utf-8", "replace")
        except OSError:
            out = ""
        return self.shutdown_facts(console_rc, out + "\n" + console_screen)

    def _read_tail(self) -> None:
        """What the Live view shows after the load: rows of the bench's requests and how many are kept."""
        assert self.tmux is not None
        try:
            screen = self.tmux.screen()
            rows = len(re.findall(_LIVE_ROW, screen, re.MULTILINE))
            kept = re.search(r"([\d,]+) kept", screen)
            self.tail = {"rows_on_screen": rows, "kept": int(kept.group(1).replace(",", "")) if kept else None}
        except (RuntimeError, subprocess.SubprocessError):
            pass


class AttachedConsoleTarget(ConsoleTarget):
    """``aigw-console --headless`` (as :class:`OursTarget`) plus a second ``aigw-console`` on the same
    data dir, in tmux: it finds the running gateway and attaches (its own store connection, the live
    tail over the gateway's event stream). Both processes are pinned to the target core and their
    CPU and RSS are summed: what the gateway host pays for a console watching it. Quitting the
    attached console leaves the gateway serving; the gateway is then stopped with SIGTERM.
    """

    gateway: Proc | None = None

    def start_gateway(self, mock: Mock, config: Path) -> None:
        cmd = pin(
            [*(self.launcher or [aigw_bin()]), "--headless", "--quiet", "--port", "0", "--data-dir", str(self.data_dir), "--config", str(config)],
            self.cpu,
        )
        self.gateway = Proc(f"{self.name}-gateway", cmd, self.workdir / f"{self.name}-gateway.log", cwd=self.workdir)
        m = self.gateway.wait_for_line(r"gateway listening on http://[^:]+:(\d+)(/v1/\S+)", 60)
        self.port = int(m.group(1))

    def console_command(self, config: Path) -> list[str]:
        return pin([*(self.launcher or [aigw_bin()]), "--data-dir", str(self.data_dir), "--config", str(config)], self.cpu)

    @property
    def pid(self) -> int:
        assert self.gateway is not None
        return self.gateway.pid

    def pids(self) -> list[int]:
        return [p for p in (self.pid, self.tmux.pid if self.tmux is not None else None) if p is not None]

    def quit_console(self) -> tuple[int | None, str]:
        """An attached console quits at once (ctrl+q): the gateway is not its to stop."""
        assert self.tmux is not None
        try:
            self.tmux.send("C-q")
            rc = self.tmux.wait_exit(60)
            if rc is not None:
                return rc, "ctrl+q"
        except RuntimeError as exc:
            self.notes.append(f"quitting the attached console failed ({exc}); SIGTERM instead"[:400])
        os.kill(self.tmux.pid, signal.SIGTERM)
        return self.tmux.wait_exit(60), "SIGTERM"

    def gateway_facts(self, console_rc: int | None, console_screen: str) -> dict[str, Any]:
        assert self.gateway is not None
        rc = self.gateway.stop(grace=60)
        facts = self.shutdown_facts(rc, self.gateway.output())
        facts["console_exit_code"] = console_rc
        if "keeps serving" not in console_screen:
            self.notes.append(f"the attached console did not say it left the gateway serving: {_squeeze(console_screen, 300)}")
        return facts

    def stop(self) -> dict[str, Any]:
        try:
            return super().stop()
        finally:
            if self.gateway is not None and self.gateway.popen.poll() is None:
                self.gateway.stop(grace=60)


def _textual_version() -> str:
    try:
        from importlib.metadata import version

        return version("textual")
    except Exception:  # noqa: BLE001
        return "?"
