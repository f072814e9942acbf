"""``aigw-console --headless --workers N`` as real processes: both workers serve one port and show
in the logs and in ``/metrics``; a killed worker is restarted; SIGTERM stops the group, every
worker flushing its log queue; SQLite is refused unless forced."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from console.cli import main
from proxy_core.store.engine import open_store
from proxy_core.store.models import Log
from tests.conftest import Upstream
from tests.integration.postgres import pg_server, pg_url  # noqa: F401 (fixtures)

CLI = [sys.executable, "-m", "console.cli"]
ROOT = Path(__file__).resolve().parents[2]
HANG_GUARD_S = 90
"""Only so a regression fails instead of hanging the suite; nothing is timed."""
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}]}


class Group:
    """A supervisor process and what it printed so far."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []

    async def line_matching(self, pattern: str) -> re.Match[str]:
        """Read the supervisor's output until a line matches ``pattern`` (lines already read count)."""
        for line in self.lines:
            if found := re.search(pattern, line):
                return found
        assert self.proc.stdout is not None
        async with asyncio.timeout(HANG_GUARD_S):
            while True:
                raw = await self.proc.stdout.readline()
                assert raw, f"the supervisor ended before printing {pattern!r}: {self.lines}"
                line = raw.decode()
                self.lines.append(line)
                if found := re.search(pattern, line):
                    return found

    async def stop(self) -> tuple[int, str]:
        self.proc.send_signal(signal.SIGTERM)
        out, _ = await asyncio.wait_for(self.proc.communicate(), HANG_GUARD_S)
        self.lines.extend(out.decode().splitlines(keepends=True))
        assert self.proc.returncode is not None
        return self.proc.returncode, "".join(self.lines)


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIGW_", "PROMETHEUS_"))}
    env["AIGW_DATA_DIR"] = str(data_dir)
    env["PYTHONUNBUFFERED"] = "1"
    return env


async def start_group(tmp_path: Path, upstream: Upstream, *args: str) -> tuple[Group, str]:
    config = tmp_path / "aigw.toml"
    config.write_text(f'[providers.openai]\nbase_url = "{upstream.url}/v1"\n', encoding="utf-8")
    proc = await asyncio.create_subprocess_exec(
        *CLI, "--headless", "--config", str(config), "--port", "0", *args,
        cwd=ROOT, env=_env(tmp_path / "data"), stdout=subprocess.PIPE,
    )  # fmt: skip
    group = Group(proc)
    url = (await group.line_matching(r"gateway group of \d+ workers .* listening on (http://\S+)")).group(1)
    return group, url


async def send(url: str, n: int) -> None:
    """``n`` requests, each on a new connection, so the kernel spreads them over the workers."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:

        async def one() -> None:
            async with session.post(f"{url}/openai/chat/completions", json=CHAT) as resp:
                assert resp.status == 200, await resp.text()
                await resp.read()

        for _ in range(n // 10):
            await asyncio.gather(*(one() for _ in range(10)))


async def api(base: str, token: str, path: str) -> dict[str, Any]:
    async with aiohttp.ClientSession(headers={"authorization": f"Bearer {token}"}) as session:
        async with session.get(f"{base}/client/v4/accounts/local/ai-gateway{path}") as resp:
            assert resp.status == 200, await resp.text()
            return orjson.loads(await resp.read())


async def logs_of(base: str, token: str, worker: str | None = None) -> int:
    query = "?per_page=1"
    if worker is not None:
        query += "&filters=" + orjson.dumps([{"key": "worker_id", "operator": "eq", "value": [worker]}]).decode()
    return (await api(base, token, f"/gateways/default/logs{query}"))["result_info"]["total_count"]


async def wait_for_logs(base: str, token: str, n: int) -> None:
    async with asyncio.timeout(HANG_GUARD_S):
        while await logs_of(base, token) < n:
            await asyncio.sleep(0.05)


async def test_two_workers_on_postgresql_both_serve_and_show_in_logs_and_metrics(
    tmp_path: Path, upstream: Upstream, pg_url: str
) -> None:
    group, url = await start_group(tmp_path, upstream, "--workers", "2", "--db", pg_url)
    base = url.split("/v1/", 1)[0]
    token = (tmp_path / "data" / "admin_token").read_text().strip()
    assert (tmp_path / "data" / "gateway.json").exists(), "the supervisor lists the group for consoles"
    try:
        await send(url, 60)
        await wait_for_logs(base, token, 60)
        per_worker = {w: await logs_of(base, token, w) for w in ("w1", "w2")}
        assert sum(per_worker.values()) == 60 and all(per_worker.values()), per_worker
        async with aiohttp.ClientSession(headers={"authorization": f"Bearer {token}"}) as session:
            async with session.get(f"{base}/metrics") as resp:
                assert resp.status == 200
                text = await resp.text()
        samples = [s for family in text_string_to_metric_families(text) for s in family.samples]
        requests = {s.labels["worker"]: s.value for s in samples if s.name == "aigw_worker_requests_total"}
        assert requests == {"w1": per_worker["w1"], "w2": per_worker["w2"]}  # whichever worker answered
        up = {s.labels["worker"]: s.value for s in samples if s.name == "aigw_worker_up"}
        assert up == {"w1": 1, "w2": 1}
        assert sum(s.value for s in samples if s.name == "aigw_requests_total") == 60
    finally:
        code, output = await group.stop()
    assert code == 0, output
    assert "worker w1 stopped (" in output and "worker w2 stopped (" in output and "group stopped" in output
    assert not (tmp_path / "data" / "gateway.json").exists()
    store = await open_store(pg_url)
    try:
        async with store.engine.connect() as conn:
            rows = dict((await conn.execute(select(Log.worker_id, func.count()).group_by(Log.worker_id))).all())
    finally:
        await store.close()
    assert rows == per_worker


async def test_a_killed_worker_is_restarted_and_sigterm_flushes_every_worker(tmp_path: Path, upstream: Upstream) -> None:
    group, url = await start_group(tmp_path, upstream, "--workers", "2", "--force-sqlite-workers")
    base = url.split("/v1/", 1)[0]
    token = (tmp_path / "data" / "admin_token").read_text().strip()
    victim = int((await group.line_matching(r"worker w2 \(pid (\d+)\) listening")).group(1))
    try:
        await send(url, 20)
        await wait_for_logs(base, token, 20)  # stored: the kill below loses nothing
        os.kill(victim, signal.SIGKILL)
        await group.line_matching(rf"worker w2 \(pid {victim}\) exited with code -9; restarting it")
        reborn = int((await group.line_matching(rf"worker w2 \(pid (?!{victim}\))(\d+)\) listening")).group(1))
        await send(url, 20)
    finally:
        code, output = await group.stop()
    assert code == 0, output
    assert reborn != victim
    with sqlite3.connect(tmp_path / "data" / "aigw.db") as db:
        assert db.execute("select count(*) from logs").fetchone()[0] == 40
        assert {w for (w,) in db.execute("select distinct worker_id from logs")} <= {"w1", "w2"}


def test_workers_are_refused_on_sqlite_unless_forced(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = ["--data-dir", str(tmp_path)]
    assert main(["--headless", "--workers", "2", *data]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--workers needs a store the processes can share" in err
    assert "--force-sqlite-workers" in err
    assert main(["--workers", "2", *data]) == 2
    assert "add --headless" in capsys.readouterr().err
    assert main(["--headless", "--workers", "0", *data, "--force-sqlite-workers"]) == 2
    assert "at least 1" in capsys.readouterr().err
