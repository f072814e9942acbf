"""Ours on PostgreSQL: one process (``ours-pg``) and a ``--workers 2`` group (``ours-pg-2w``).

Both run against a private PostgreSQL cluster the bench starts for them (the tests' own helper,
:func:`tests.integration.postgres.postgres_server`: ``initdb`` in a temporary directory, a free
loopback port, fsync off), a fresh database per target. The database's processes are part of the
cost: their CPU is counted with the gateway's (:meth:`pids` lists the postmaster, whose backends
are its children), and the postmaster is given the gateway's cores, so a pinned row stays pinned.

``ours-pg-2w`` runs on every core (two workers on one core would measure nothing); compare it
with ``ours-unpinned``. Its ``/healthz`` is one worker's, so the log-writer judgement (rows
written vs requests answered) is left out; the rows stored are counted at shutdown instead.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import re
from typing import Any

from bench.targets import Mock, OursTarget, Proc, aigw_bin, ours_version, pin

__all__ = ["OursPostgresTarget", "OursPostgresWorkersTarget"]


class _Cluster:
    """One private PostgreSQL server for every PostgreSQL target of a run, started on first use and
    stopped when the bench exits."""

    server: Any = None

    @classmethod
    def database(cls) -> str:
        if cls.server is None:
            from tests.integration.postgres import postgres_server

            servers = postgres_server()
            cls.server = next(servers)  # raises PostgresUnavailable with the reason
            atexit.register(servers.close)  # pg_ctl stop, and the directory removed
        return cls.server.create_database()

    @classmethod
    def postmaster_pid(cls) -> int | None:
        """The server's pid, when the bench started it (``postmaster.pid`` in its data directory)."""
        data_dir = cls.server.data_dir if cls.server is not None else None
        if data_dir is None:
            return None
        try:
            return int((data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None


def _count_rows(url: str) -> tuple[int, int]:
    import asyncpg

    async def count() -> tuple[int, int]:
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
        try:
            return (await conn.fetchval("select count(*) from logs"),
                    await conn.fetchval("select count(*) from logs where status_code = 200"))  # fmt: skip
        finally:
            await conn.close()

    return asyncio.run(count())


class OursPostgresTarget(OursTarget):
    """``aigw-console --headless`` with full logging into PostgreSQL."""

    workers = 0
    ready = r"gateway listening on http://[^:]+:(\d+)(/v1/\S+)"

    def prepare(self) -> None:
        try:
            self.db_url = _Cluster.database()
        except Exception as exc:  # noqa: BLE001 - no server binaries: a skipped row that says why
            self.skip_reason = f"no PostgreSQL: {exc}"[:300]

    def start(self, mock: Mock) -> None:
        config = self.write_config(mock, self.name)
        group = ["--workers", str(self.workers)] if self.workers else []
        cmd = pin(
            [aigw_bin(), "--headless", "--quiet", *group, "--port", "0", "--data-dir", str(self.data_dir),
             "--config", str(config), "--db", self.db_url],
            self.cpu,
        )  # fmt: skip
        self.proc = Proc(self.name, cmd, self.workdir / f"{self.name}.log", cwd=self.workdir)
        m = self.proc.wait_for_line(self.ready, 90)
        self.port = int(m.group(1))
        self.prefix = m.group(2).rstrip("/")
        self.version = ours_version() + " on PostgreSQL"
        self.postmaster = _Cluster.postmaster_pid()
        if self.postmaster is not None and self.cpu is not None:
            cores = {int(c) for c in str(self.cpu).split(",")}
            os.sched_setaffinity(self.postmaster, cores)  # backends forked from now on inherit it
        else:
            self.notes.append("the PostgreSQL server's CPU is not counted (its pid was not found)")

    def pids(self) -> list[int]:
        return [self.pid] + ([self.postmaster] if self.postmaster is not None else [])

    def shutdown_facts(self, rc: int | None, out: str) -> dict[str, Any]:
        facts = super().shutdown_facts(rc, out)
        facts.pop("rows_error", None)  # there is no SQLite file
        try:
            facts["rows"], facts["rows_ok"] = _count_rows(self.db_url)
        except Exception as exc:  # noqa: BLE001 - informative only
            facts["rows_error"] = f"PostgreSQL: {exc}"
        if self.workers:  # one line per worker: the sums
            stopped = re.findall(r"worker w\d+ stopped \(logs written=(\d+) dropped=(\d+)", out)
            facts["reported_written"] = sum(int(w) for w, _ in stopped)
            facts["reported_dropped"] = sum(int(d) for _, d in stopped)
        return facts


class OursPostgresWorkersTarget(OursPostgresTarget):
    """``aigw-console --headless --workers 2`` on PostgreSQL (SO_REUSEPORT, one port)."""

    workers = 2
    ready = r"gateway group of \d+ workers .* listening on http://[^:]+:(\d+)(/v1/\S+)"

    def healthz(self) -> dict[str, Any]:
        return {}  # one worker's view: the writer judgement would compare its rows with both workers' requests
