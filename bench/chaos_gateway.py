"""The gateway under chaos: one ``aigw-console --headless`` subprocess, its data dir and its store.

:class:`Gateway` starts the process (own session, stdout and stderr in separate files, one pair per
start, so a restart on the same data dir keeps the first run's output), reads the port from its
``gateway listening on`` line, polls ``/healthz``, and stops it with a chosen signal. The store
helpers read the SQLite file directly with :mod:`sqlite3` (read-only where possible, so a check
never checkpoints or repairs the file before the gateway sees it again).

Every process started here is registered in :data:`STARTED` and killed by pid (its own process
group) by :func:`kill_started`, which the suite calls when it ends however it ends.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterable

from bench.load import chat_body, http_request
from bench.targets import REPO_DIR, pin

__all__ = [
    "STARTED",
    "Spawned",
    "spawn",
    "kill_started",
    "Gateway",
    "write_config",
    "db_path",
    "integrity_check",
    "stored_ids",
    "row_count",
    "proc_memory",
    "get_json",
]

STARTED: list["Spawned"] = []
"""Every subprocess this suite started (and only those): :func:`kill_started` ends them by pid."""


class Spawned:
    """A subprocess in its own session, stdout and stderr in two files."""

    def __init__(self, name: str, cmd: list[str], out_dir: Path, *, env: dict[str, str] | None = None) -> None:
        self.name = name
        self.stdout_path = out_dir / f"{name}.stdout"
        self.stderr_path = out_dir / f"{name}.stderr"
        self._out = open(self.stdout_path, "wb")
        self._err = open(self.stderr_path, "wb")
        self.popen = subprocess.Popen(
            cmd,
            stdout=self._out,
            stderr=self._err,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            cwd=REPO_DIR,
            start_new_session=True,
        )
        STARTED.append(self)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stdout(self) -> str:
        return _read_text(self.stdout_path)

    def stderr(self) -> str:
        return _read_text(self.stderr_path)

    def signal(self, sig: int) -> None:
        """Send ``sig`` to the process itself (not its group: a kill -9 of the gateway alone)."""
        if self.alive():
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def wait(self, timeout: float) -> int | None:
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def end(self, grace: float = 10.0) -> int | None:
        """SIGTERM, wait up to ``grace`` s, then SIGKILL the process group; closes the output files."""
        if self.alive():
            self.signal(signal.SIGTERM)
            if self.wait(grace) is None:
                _killpg(self.pid)
                self.wait(5)
        for f in (self._out, self._err):
            if not f.closed:
                f.close()
        return self.popen.returncode


def spawn(name: str, cmd: list[str], out_dir: Path, *, env: dict[str, str] | None = None) -> Spawned:
    return Spawned(name, cmd, out_dir, env=env)


def kill_started() -> None:
    """SIGKILL the process group of every subprocess this suite started that still runs."""
    for proc in STARTED:
        if proc.alive():
            _killpg(proc.pid)
            proc.wait(5)


def _killpg(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _read_text(path: Path) -> str:
    try:
        return path.read_text("utf-8", "replace")
    except FileNotFoundError:
        return ""


def _aigw_bin() -> str:
    candidate = Path(sys.executable).with_name("aigw-console")
    return str(candidate) if candidate.exists() else "aigw-console"


def write_config(path: Path, providers: dict[str, str], *, custom: Iterable[str] = (), logs: dict[str, Any] | None = None) -> Path:
    """A TOML config: ``providers`` maps a path segment to its base URL (``custom`` ones get
    ``format = "openai"``); ``logs`` adds a ``[logs]`` table."""
    lines: list[str] = []
    custom = set(custom)
    for name, base in providers.items():
        lines.append(f'[providers.{name}]\nbase_url = "{base}"')
        if name in custom:
            lines.append('format = "openai"')
        lines.append("")
    if logs:
        lines.append("[logs]")
        lines.extend(f"{k} = {json.dumps(v)}" for k, v in logs.items())
    path.write_text("\n".join(lines) + "\n")
    return path


class Gateway:
    """``aigw-console --headless --port 0 --data-dir D --config F``; restartable on the same dir."""

    def __init__(self, out_dir: Path, data_dir: Path, config: Path, *, name: str = "gw", cpu: int | None = None, quiet: bool = True) -> None:
        self.out_dir = out_dir
        self.data_dir = data_dir
        self.config = config
        self.name = name
        self.cpu = cpu
        self.quiet = quiet
        self.starts = 0
        self.proc: Spawned | None = None
        self.port = 0
        self.prefix = ""
        self.start_seconds = 0.0

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self, timeout: float = 60.0) -> "Gateway":
        """Start a process and wait for its ``gateway listening on`` line (raises if it never comes)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.proc is not None:
            self.proc.end(10)  # a previous run (killed or stopped): reap it, close its output files
        self.starts += 1
        cmd = [_aigw_bin(), "--headless", "--port", "0", "--data-dir", str(self.data_dir), "--config", str(self.config)]
        if self.quiet:
            cmd.insert(2, "--quiet")
        began = time.monotonic()
        self.proc = spawn(f"{self.name}-{self.starts}", pin(cmd, self.cpu), self.out_dir)
        rx = re.compile(r"gateway listening on http://[^:]+:(\d+)(/v1/\S+)")
        while time.monotonic() - began < timeout:
            m = rx.search(self.proc.stdout())
            if m:
                self.port, self.prefix = int(m.group(1)), m.group(2).rstrip("/")
                self.start_seconds = time.monotonic() - began
                return self
            if not self.proc.alive():
                raise RuntimeError(f"{self.name} exited rc={self.proc.popen.returncode}: {self.tail()}")
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not listen within {timeout:g}s: {self.tail()}")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.alive()

    def kill9(self) -> int | None:
        """SIGKILL the gateway process; returns its exit status once reaped."""
        assert self.proc is not None
        self.proc.signal(signal.SIGKILL)
        return self.proc.wait(10)

    def terminate(self, timeout: float = 60.0) -> int | None:
        """SIGTERM and wait up to ``timeout`` s for a clean exit (``None``: it did not exit)."""
        assert self.proc is not None
        self.proc.signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def stop(self, grace: float = 60.0) -> int | None:
        return self.proc.end(grace) if self.proc is not None else None

    def tail(self, n: int = 300) -> str:
        if self.proc is None:
            return ""
        text = (self.proc.stdout() + self.proc.stderr()).strip()
        return text[-n:].replace("\n", " | ")

    # -- what a client uses ---------------------------------------------------------------------

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, provider: str = "openai", path: str = "chat/completions") -> str:
        return f"{self.base}{self.prefix}/{provider}/{path}"

    def answers(self, timeout: float = 20.0) -> bool:
        """True once a real chat completion answers 200 (within ``timeout`` s)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                return False
            try:
                status, _ = http_request(self.url(), chat_body("chaos-probe"), {"Authorization": "Bearer sk-chaos"}, timeout=5)
                if status == 200:
                    return True
            except OSError:
                pass
            time.sleep(0.2)
        return False

    def healthz(self, timeout: float = 5.0) -> dict[str, Any] | None:
        """``/healthz`` as JSON whatever its status code (503 may carry reasons); ``None`` if unreachable."""
        return get_json(f"{self.base}/healthz", timeout=timeout)

    def wait_queue_empty(self, timeout: float) -> tuple[bool, dict[str, Any] | None]:
        """Poll ``/healthz`` until ``logs.queued`` is 0 (the crash spool is replayed before it listens)."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = self.healthz()
            if last is not None and last.get("logs", {}).get("queued", 1) == 0:
                return True, last
            time.sleep(0.2)
        return False, last

    def admin_token(self) -> str:
        """The management API token the gateway generated into its data dir (never printed)."""
        return (self.data_dir / "admin_token").read_text("utf-8").strip()

    def memory(self) -> dict[str, int]:
        return proc_memory(self.pid)


def get_json(url: str, *, timeout: float = 5.0, headers: dict[str, str] | None = None) -> dict[str, Any] | None:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            data = resp.read()
    except urllib.error.HTTPError as exc:
        data = exc.read()
    except (OSError, ValueError):
        return None
    try:
        return json.loads(data)
    except ValueError:
        return None


def proc_memory(pid: int) -> dict[str, int]:
    """``VmRSS`` and ``VmHWM`` of one process in bytes (empty if it is gone)."""
    out: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    key, value = line.split(":", 1)
                    out[key] = int(value.split()[0]) * 1024
    except OSError:
        pass
    return out


# -- the store ----------------------------------------------------------------------------------


def db_path(data_dir: Path) -> Path:
    """The SQLite file the gateway uses by default (``proxy_core.config``: ``{data_dir}/aigw.db``)."""
    return data_dir / "aigw.db"


def _connect(db: Path) -> sqlite3.Connection:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
        conn.execute("select 1 from sqlite_master limit 1").fetchall()
        return conn
    except sqlite3.Error:
        return sqlite3.connect(db, timeout=10)


def integrity_check(db: Path) -> str:
    """``PRAGMA integrity_check``'s first line (``ok`` for a sound file), or the error."""
    if not db.exists():
        return "missing"
    try:
        conn = _connect(db)
        try:
            rows = conn.execute("PRAGMA integrity_check").fetchall()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return f"error: {exc}"
    return "ok" if rows == [("ok",)] else "; ".join(str(r[0]) for r in rows[:3])


def stored_ids(db: Path, ids: Iterable[str]) -> set[str]:
    """The subset of ``ids`` present in the ``logs`` table."""
    wanted = list(dict.fromkeys(ids))
    found: set[str] = set()
    conn = _connect(db)
    try:
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            marks = ",".join("?" * len(chunk))
            found.update(r[0] for r in conn.execute(f"select id from logs where id in ({marks})", chunk))
    finally:
        conn.close()
    return found


def row_count(db: Path, where: str = "", args: tuple = ()) -> int:
    conn = _connect(db)
    try:
        return conn.execute(f"select count(*) from logs {where}", args).fetchone()[0]
    finally:
        conn.close()
