"""``kill -9`` while the store cannot take writes: the answered requests' logs are in the crash
spool, and the next start stores every one of them; the database passes ``integrity_check``."""

from __future__ import annotations

import asyncio
import re
import signal
import sqlite3
import subprocess
from pathlib import Path

import aiohttp

from proxy_core.logspool import LogSpool
from tests.integration.test_headless_process import CLI, ROOT, _env
from tests.integration.helpers import sqlite_write_lock

DEADLINE = 120.0
"""Generous bound on waiting for a state on a loaded machine; tests end as soon as it is reached."""


async def _start(tmp_path: Path) -> tuple[asyncio.subprocess.Process, str]:
    proc = await asyncio.create_subprocess_exec(
        *CLI, "--headless", "--demo", "--no-demo-traffic", "--port", "0",
        cwd=ROOT, env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), DEADLINE)).decode()
    match = re.search(r"listening on (http://\S+)", line)
    assert match, line
    return proc, match.group(1)


async def _send(url: str, n: int) -> list[str]:
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "remember me"}]}
    async with aiohttp.ClientSession() as session:

        async def one() -> str:
            async with session.post(f"{url}/openai/chat/completions", json=body) as resp:
                assert resp.status == 200
                await resp.read()
                return resp.headers["cf-aig-log-id"]

        return await asyncio.gather(*(one() for _ in range(n)))


def _stored_ids(db: Path) -> set[str]:
    with sqlite3.connect(db, timeout=30) as conn:
        return {row[0] for row in conn.execute("SELECT id FROM logs")}


def _spooled_ids(spool_dir: Path) -> set[str]:
    return {row["id"] for segment in LogSpool(spool_dir, 1 << 30).leftovers() for row, _, _ in segment}


async def _until(check, what: str) -> None:  # noqa: ANN001 - a no-argument predicate
    loop = asyncio.get_running_loop()
    give_up = loop.time() + DEADLINE
    while not check():
        assert loop.time() < give_up, f"gave up waiting for {what}"
        await asyncio.sleep(0.05)


async def test_kill_9_with_the_store_locked_loses_no_answered_request(tmp_path: Path) -> None:
    data = tmp_path / "data"
    db, spool_dir = data / "aigw.db", data / "log-spool"
    proc, url = await _start(tmp_path)
    first = await _send(url, 1)
    await _until(lambda: set(first) <= _stored_ids(db), "the first log to be stored")

    async with sqlite_write_lock(db):  # another process holds the write lock: the writer is stuck
        answered = set(await _send(url, 30))
        await _until(lambda: answered <= _spooled_ids(spool_dir), "the waiting rows to reach the crash spool")
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
    assert not answered & _stored_ids(db)  # none reached the database before the kill

    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    restarted, _ = await _start(tmp_path)  # the dead pid's gateway.json does not stop it
    try:
        await _until(lambda: answered <= _stored_ids(db), "the restart to store the spooled rows")
        await _until(lambda: not list(spool_dir.glob("*.spool")), "the replayed spool to be removed")
    finally:
        restarted.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(restarted.communicate(), DEADLINE)
    assert restarted.returncode == 0, err.decode()
    assert "recovered 30 log rows from the crash spool" in err.decode()
