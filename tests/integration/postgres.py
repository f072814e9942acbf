"""A throwaway PostgreSQL server for the tests that need one.

``AIGW_TEST_POSTGRES_URL`` (an admin URL such as ``postgresql+asyncpg://user@host:port/postgres``)
points the tests at an existing server. Otherwise, where PostgreSQL's server binaries are installed
(Debian's ``postgresql`` package: ``/usr/lib/postgresql/<version>/bin``), a private cluster is made
in a temporary directory (as the ``postgres`` user when the tests run as root, since ``initdb``
refuses root), listening on a free loopback port, with fsync off, and removed afterwards. Each test
gets a fresh database. Where neither is possible the tests skip and say why.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import Iterator

import pytest

__all__ = ["PostgresServer", "pg_server", "pg_url", "postgres_server"]


class PostgresUnavailable(Exception):
    pass


class PostgresServer:
    def __init__(self, admin_url: str, data_dir: Path | None = None) -> None:
        self.admin_url = admin_url
        """``postgresql+asyncpg://…/postgres``."""
        self.data_dir = data_dir
        """The cluster's directory when it is a private one (``postmaster.pid`` is there)."""

    def create_database(self) -> str:
        """A fresh, empty database; its SQLAlchemy async URL."""
        import asyncio

        import asyncpg

        name = f"aigw_{uuid.uuid4().hex[:12]}"
        dsn = self.admin_url.replace("postgresql+asyncpg://", "postgresql://", 1)

        async def create() -> None:
            conn = await asyncpg.connect(dsn)
            try:
                await conn.execute(f'CREATE DATABASE "{name}"')
            finally:
                await conn.close()

        asyncio.run(create())
        return self.admin_url.rsplit("/", 1)[0] + f"/{name}"


def _binaries() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    raise PostgresUnavailable("PostgreSQL's server binaries (initdb, pg_ctl) are not installed")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_owner(command: list[str], owner: str | None) -> list[str]:
    return ["runuser", "-u", owner, "--", *command] if owner else command


def postgres_server() -> Iterator[PostgresServer]:
    """Yield a server (raises :class:`PostgresUnavailable` with the reason if there can be none)."""
    url = os.environ.get("AIGW_TEST_POSTGRES_URL")
    if url:
        yield PostgresServer(url)
        return
    bin_dir = _binaries()
    owner = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            raise PostgresUnavailable("running as root and there is no 'postgres' user for initdb") from None
        if not shutil.which("runuser"):
            raise PostgresUnavailable("running as root and runuser is missing")
        owner = "postgres"
    root = Path(tempfile.mkdtemp(prefix="aigw-pg-"))
    if owner:
        shutil.chown(root, user=owner)
    data, port = root / "data", _free_port()
    run = lambda cmd: subprocess.run(_as_owner(cmd, owner), capture_output=True, text=True, timeout=60)  # noqa: E731
    try:
        made = run([str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "aigw", "-E", "UTF8", "--no-sync"])
        if made.returncode != 0:
            raise PostgresUnavailable(f"initdb failed: {made.stderr.strip()[:300]}")
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        started = run([str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start"])
        if started.returncode != 0:
            raise PostgresUnavailable(f"pg_ctl start failed: {started.stderr.strip()[:300]}")
        try:
            yield PostgresServer(f"postgresql+asyncpg://aigw@127.0.0.1:{port}/postgres", data)
        finally:
            run([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"])
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def pg_server() -> Iterator[PostgresServer]:
    """One private server per test module (import this fixture and ``pg_url`` to use them); the
    module skips, saying why, where none can be started."""
    servers = postgres_server()
    try:
        server = next(servers)
    except PostgresUnavailable as exc:
        pytest.skip(f"no PostgreSQL server for these tests: {exc}")
    yield server
    servers.close()


@pytest.fixture
def pg_url(pg_server: PostgresServer) -> str:
    """A fresh, empty database on the module's server."""
    return pg_server.create_database()
