"""``aigw-console --headless --workers N``: N gateway processes on one port, and their supervisor.

The supervisor (this module, in the parent process) does what must happen once for the group:
it migrates the store and makes the ``default`` gateway, resolves the admin token (creating its
file), reserves the port (a bound, never listening ``SO_REUSEPORT`` socket, so ``--port 0`` picks
one port for all and a restarted worker gets it back), owns the Prometheus multiprocess directory
and ``gateway.json`` (so a console attaches to the group). Then it starts the workers, each a
``--headless`` gateway with ``--worker-id wK`` listening with ``SO_REUSEPORT`` (the kernel spreads
connections over them), relays their stdout, and watches them:

* a worker that exits while the group runs is restarted, at most ``max_restarts`` times within
  ``restart_window`` seconds; a worker crash-looping past that stops the whole group with exit
  code 1 (a group that quietly serves on fewer workers hides a broken store or configuration);
* SIGTERM or SIGINT to the supervisor stops every worker with SIGTERM (each flushes its log
  queue), waits for them, and exits; a worker still running after ``stop_timeout`` is killed.

Several workers need a store they can share: PostgreSQL. On a SQLite file the group is refused
unless forced (:func:`check_store`), see there for why.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Sequence, TextIO

from prometheus_client.multiprocess import mark_process_dead

from proxy_core.api import resolve_admin_token
from proxy_core.config import ConfigError, Settings
from proxy_core.runner import GatewayAlreadyRunning, local_url
from proxy_core.runtime_file import RuntimeInfo, read_runtime, remove_runtime, write_runtime
from proxy_core.store.engine import display_url, open_store
from proxy_core.store.gateways import ensure_default_gateway

__all__ = ["MULTIPROC_ENV", "WorkerGroup", "WorkerCommand", "check_store", "worker_ids"]

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
"""Where every worker's metrics live (one file per process), so any worker's ``/metrics`` adds them up."""
READY_MARK = "listening on "
"""A worker prints a line containing this once it accepts connections."""

WorkerCommand = Callable[[str, int], Sequence[str]]
"""``(worker id, port)`` → the argv that starts that worker."""


def worker_ids(count: int) -> list[str]:
    return [f"w{i}" for i in range(1, count + 1)]


def check_store(settings: Settings, count: int, *, force_sqlite: bool) -> None:
    """Refuse a group on a SQLite store unless ``force_sqlite``.

    Every worker would open the same file: SQLite lets one writer at a time hold its lock, so the
    workers' log writers queue behind each other (and behind the consoles' edits), ``busy``
    timeouts turn into retried batches under load, and the per-gateway log counts, rate limits and
    the cache's memory layer are per process. It works for a test on one machine, never across
    machines (a network file system breaks SQLite's locking and can corrupt the file)."""
    if count < 1:
        raise ConfigError(f"--workers: expected at least 1, got {count}")
    if settings.demo:
        raise ConfigError("--workers: --demo runs one process (its mock provider and demo traffic are per process)")
    if settings.store_url.startswith("sqlite") and not force_sqlite:
        raise ConfigError(
            "--workers needs a store the processes can share: pass --db postgresql+asyncpg://… "
            "(or --force-sqlite-workers to run them on one SQLite file anyway: one writer at a time, "
            "one machine only)"
        )


@dataclass
class _Worker:
    id: str
    process: asyncio.subprocess.Process | None = None
    restarts: deque[float] = field(default_factory=deque)
    relay: asyncio.Task[None] | None = None


class WorkerGroup:
    """The supervisor of ``count`` workers started by ``command``; :meth:`run` until stopped."""

    def __init__(
        self,
        settings: Settings,
        count: int,
        command: WorkerCommand,
        *,
        max_restarts: int = 5,
        restart_window: float = 60.0,
        stop_timeout: float = 45.0,
        start_timeout: float = 60.0,
        out: TextIO = sys.stdout,
    ) -> None:
        self.settings = settings
        self._command = command
        self._workers = [_Worker(wid) for wid in worker_ids(count)]
        self._max_restarts = max_restarts
        self._restart_window = restart_window
        self._stop_timeout = stop_timeout
        self._start_timeout = start_timeout
        self._out = out
        self._stopping = asyncio.Event()
        self._failed: str | None = None
        self._port_socket: socket.socket | None = None
        self.port = settings.server.port
        self.metrics_dir: str | None = None

    def _say(self, message: str) -> None:
        with contextlib.suppress(OSError, ValueError):
            self._out.write(f"aigw-console: {message}\n")
            self._out.flush()

    @property
    def base_url(self) -> str:
        return local_url(self.settings.server.host, self.port)

    def stop(self) -> None:
        """Ask the group to stop (what SIGTERM and SIGINT do); :meth:`run` returns once it has."""
        self._stopping.set()

    async def run(self) -> int:
        """Prepare, start every worker, supervise until stopped; the exit code (0, or 1 on failure)."""
        running = read_runtime(self.settings.data_dir)
        if running is not None:
            raise GatewayAlreadyRunning(running, self.settings.data_dir)
        await self._prepare_store()
        _, token_file = resolve_admin_token(self.settings)  # made once here, read by every worker
        self._reserve_port()
        self.metrics_dir = tempfile.mkdtemp(prefix="aigw-metrics-")
        try:
            started = await self._start_all()
            if started:
                write_runtime(
                    self.settings.data_dir,
                    RuntimeInfo(os.getpid(), self.base_url, self.settings.server.account_id,
                                int(time.time() * 1000), True),
                )  # fmt: skip
                ids = ", ".join(w.id for w in self._workers)
                self._say(f"gateway group of {len(self._workers)} workers ({ids}) listening on "
                          f"{self.base_url}/v1/{self.settings.server.account_id}/default")  # fmt: skip
                self._say(f"store {display_url(self.settings.store_url)}")
                self._say(f"management API {self.base_url}/client/v4 (token in {token_file or 'configuration'})")
                self._say(f"supervisor pid {os.getpid()}; stop the group with: kill -TERM {os.getpid()}")
                await self._supervise()
        finally:
            remove_runtime(self.settings.data_dir, os.getpid())
            await self._stop_all()
            if self._port_socket is not None:
                self._port_socket.close()
            shutil.rmtree(self.metrics_dir, ignore_errors=True)
        if self._failed:
            self._say(f"error: {self._failed}")
            return 1
        self._say(f"group stopped ({len(self._workers)} workers)")
        return 0

    async def _prepare_store(self) -> None:
        """Migrate once, here: N workers racing through the same migration would collide."""
        store = await open_store(self.settings.store_url)
        try:
            async with store.sessions.begin() as session:
                await ensure_default_gateway(session, self.settings.server.account_id)
        finally:
            await store.close()

    def _reserve_port(self) -> None:
        host, port = self.settings.server.host, self.settings.server.port
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            sock.close()
            raise OSError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
        self._port_socket = sock  # bound, not listening: holds the port, takes no connections
        self.port = sock.getsockname()[1]

    def _environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env[MULTIPROC_ENV] = self.metrics_dir or ""
        env["PYTHONUNBUFFERED"] = "1"
        return env

    async def _spawn(self, worker: _Worker) -> bool:
        """Start ``worker``; True once it says it listens, False if it exits or stalls first."""
        process = await asyncio.create_subprocess_exec(
            *self._command(worker.id, self.port), stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, env=self._environment(),
        )  # fmt: skip
        worker.process = process
        assert process.stdout is not None
        try:
            async with asyncio.timeout(self._start_timeout):
                while True:
                    line = await process.stdout.readline()
                    if not line:
                        return False
                    self._out.write(line.decode(errors="replace"))
                    self._out.flush()
                    if READY_MARK in line.decode(errors="replace"):
                        break
        except TimeoutError:
            return False
        worker.relay = asyncio.create_task(self._relay(process.stdout), name=f"aigw-relay-{worker.id}")
        return True

    async def _relay(self, stream: asyncio.StreamReader) -> None:
        """Copy a worker's stdout (its access log) through, in whole chunks of lines."""
        while True:
            chunk = await stream.read(65536)
            if not chunk:
                return
            while not chunk.endswith(b"\n"):
                more = await stream.readline()
                if not more:
                    break
                chunk += more
            self._out.write(chunk.decode(errors="replace"))
            self._out.flush()

    async def _start_all(self) -> bool:
        results = await asyncio.gather(*(self._spawn(w) for w in self._workers))
        failed = [w.id for w, ok in zip(self._workers, results) if not ok]
        if failed:
            self._failed = f"worker {', '.join(failed)} did not start (its error is above); the group is stopped"
            return False
        return True

    async def _supervise(self) -> None:
        stopping = asyncio.create_task(self._stopping.wait())
        try:
            while not self._stopping.is_set():
                exits = {asyncio.create_task(w.process.wait()): w for w in self._workers if w.process is not None}
                done, _ = await asyncio.wait([stopping, *exits], return_when=asyncio.FIRST_COMPLETED)
                for task in exits:
                    if task not in done:
                        task.cancel()
                if self._stopping.is_set():
                    return
                for task in done & exits.keys():
                    if not await self._restart(exits[task], task.result()):
                        self._stopping.set()
                        return
        finally:
            stopping.cancel()

    async def _restart(self, worker: _Worker, code: int) -> bool:
        """Replace a worker that exited; False when it restarts too often (the group then stops)."""
        assert worker.process is not None
        self._forget_metrics(worker.process.pid)
        if worker.relay is not None:
            await worker.relay
        now = time.monotonic()
        while worker.restarts and worker.restarts[0] < now - self._restart_window:
            worker.restarts.popleft()
        if len(worker.restarts) >= self._max_restarts:
            self._failed = (f"worker {worker.id} exited (code {code}) {len(worker.restarts) + 1} times within "
                            f"{self._restart_window:.0f}s; the group is stopped")  # fmt: skip
            return False
        worker.restarts.append(now)
        self._say(f"worker {worker.id} (pid {worker.process.pid}) exited with code {code}; restarting it "
                  f"({len(worker.restarts)} of {self._max_restarts} restarts allowed per {self._restart_window:.0f}s)")  # fmt: skip
        if await self._spawn(worker):
            return True
        self._failed = f"worker {worker.id} could not be restarted; the group is stopped"
        return False

    def _forget_metrics(self, pid: int) -> None:
        """A dead worker's live gauges (queue depth) must leave the sum; its counters stay counted."""
        if self.metrics_dir is not None:
            mark_process_dead(pid, self.metrics_dir)

    async def _stop_all(self) -> None:
        live = [(w.id, w.process) for w in self._workers if w.process is not None and w.process.returncode is None]
        for _, process in live:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(self._stop_timeout):
                await asyncio.gather(*(process.wait() for _, process in live))
        except TimeoutError:
            for worker_id, process in live:
                if process.returncode is None:
                    self._say(f"worker {worker_id} did not stop within {self._stop_timeout:.0f}s: killed")
                    with contextlib.suppress(ProcessLookupError):
                        process.kill()
            await asyncio.gather(*(process.wait() for _, process in live))
        for worker in self._workers:
            if worker.relay is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await worker.relay
