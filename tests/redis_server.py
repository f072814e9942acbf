"""A private ``redis-server`` for the tests that share state through Redis.

``AIGW_TEST_REDIS_URL`` points the tests at an existing server (they then cannot kill it: the
outage test skips). Otherwise the installed ``redis-server`` (Debian's ``redis-server`` package)
is started on a free loopback port with a temporary directory, no persistence and no protected
mode, and stopped afterwards. Where there is none the tests skip and say why. Each test names its
keys with a fresh prefix (:meth:`RedisServer.fresh_prefix`), so tests never see each other's state.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Iterator

__all__ = ["RedisServer", "RedisUnavailableForTests", "free_port", "redis_server"]

_START_TIMEOUT = 30.0


class RedisUnavailableForTests(Exception):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """A server the tests may stop (``kill``) and start again on the same port (``start``)."""

    def __init__(self, port: int, root: Path | None, binary: str | None) -> None:
        self.port = port
        self.root = root
        self.binary = binary
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def controllable(self) -> bool:
        """Whether the tests started it (and may kill and restart it)."""
        return self.binary is not None

    @staticmethod
    def fresh_prefix() -> str:
        return f"aigwtest{uuid.uuid4().hex[:10]}"

    def start(self) -> None:
        assert self.binary is not None and self.root is not None
        command = [
            self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.root),
            "--save", "", "--appendonly", "no", "--protected-mode", "no", "--daemonize", "no",
            "--loglevel", "warning", "--logfile", str(self.root / "redis.log"),
        ]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + _START_TIMEOUT
        while not _answers_ping(self.port):
            if self.process.poll() is not None:
                error = (self.process.stderr.read() if self.process.stderr else b"").decode(errors="replace")
                raise RedisUnavailableForTests(f"redis-server exited at start: {error.strip()[:300]}")
            if time.monotonic() > deadline:
                self.kill()
                raise RedisUnavailableForTests(f"redis-server did not answer PING within {_START_TIMEOUT}s")
            time.sleep(0.05)  # polling the server's readiness, not timing the test

    def kill(self) -> None:
        """SIGKILL: what an outage looks like to the gateways (connections reset, nothing flushed)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)
        self.process = None


def redis_server() -> Iterator[RedisServer]:
    """Yield a running server (raises :class:`RedisUnavailableForTests` with the reason if none)."""
    url = os.environ.get("AIGW_TEST_REDIS_URL")
    if url:
        host_port = url.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)
        yield RedisServer(int(host_port[1]) if len(host_port) == 2 else 6379, None, None)
        return
    binary = shutil.which("redis-server") or shutil.which("valkey-server")
    if binary is None:
        raise RedisUnavailableForTests("redis-server is not installed (Debian package 'redis-server')")
    root = Path(tempfile.mkdtemp(prefix="aigw-redis-"))
    server = RedisServer(free_port(), root, binary)
    try:
        server.start()
        yield server
    finally:
        server.kill()
        shutil.rmtree(root, ignore_errors=True)
