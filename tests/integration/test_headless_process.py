"""``aigw-console --headless`` as a real process: start-up line, access log, SIGTERM flush, bad config."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import aiohttp

CLI = [sys.executable, "-m", "console.cli"]
ROOT = Path(__file__).resolve().parents[2]


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIGW_")}
    env["AIGW_DATA_DIR"] = str(tmp_path / "data")
    env["PYTHONUNBUFFERED"] = "1"
    return env


async def test_sigterm_flushes_every_log_and_exits_cleanly(tmp_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        *CLI, "--headless", "--demo", "--no-demo-traffic", "--port", "0",
        cwd=ROOT, env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
    match = re.search(r"listening on (http://\S+)", line)
    assert match, line
    url = match.group(1)
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}]}
    async with aiohttp.ClientSession() as session:

        async def one(i: int) -> None:
            async with session.post(
                f"{url}/openai/chat/completions", json=body, headers={"authorization": "Bearer sk-never-print-me"}
            ) as resp:
                assert resp.status == 200
                await resp.read()

        await asyncio.gather(*(one(i) for i in range(60)))
    await _a_second_gateway_on_the_same_data_dir_is_refused(tmp_path, proc.pid)
    proc.send_signal(signal.SIGTERM)
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    text = line + out.decode()
    assert text.count(" openai/gpt-4o-mini POST /chat/completions ") == 60
    assert "logs written=60 dropped=0" in text
    assert "sk-never-print-me" not in text + err.decode()
    with sqlite3.connect(tmp_path / "data" / "aigw.db") as db:
        assert db.execute("select count(*) from logs").fetchone()[0] == 60
    assert not (tmp_path / "data" / "gateway.json").exists(), "a stopped gateway unlists itself"


async def _a_second_gateway_on_the_same_data_dir_is_refused(tmp_path: Path, pid: int) -> None:
    assert (tmp_path / "data" / "gateway.json").exists()
    second = await asyncio.create_subprocess_exec(
        *CLI, "--headless", "--port", "0", cwd=ROOT, env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out, err = await asyncio.wait_for(second.communicate(), 30)
    assert second.returncode == 1
    assert f"a gateway already serves {tmp_path / 'data'} (pid {pid}, http://127.0.0.1:" in err.decode()


def test_bad_config_fails_with_one_line_naming_the_key(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[server]\nport = "eighty"\n')
    result = subprocess.run(
        [*CLI, "--headless", "--config", str(config)], cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True,
        timeout=30,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "aigw-console: error: config key [server] port: expected int, got 'eighty'"
    ]


def test_unknown_key_and_unwritable_store_fail_clearly(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[server]\nprot = 1\n")
    result = subprocess.run(
        [*CLI, "--headless", "--config", str(config)], cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True,
        timeout=30,
    )  # fmt: skip
    assert result.returncode == 2 and "unknown config key [server] prot" in result.stderr
    assert "Traceback" not in result.stderr
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("")
    result = subprocess.run(
        [*CLI, "--headless", "--db", f"sqlite+aiosqlite:///{blocker}/sub/aigw.db"],
        cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 2
    assert "config key [store] url" in result.stderr and "Traceback" not in result.stderr
