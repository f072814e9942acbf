"""SIGTERM flushes Logpush: a headless gateway whose batches would wait an hour delivers every
pending record before it exits, as a real process."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp
import orjson

from tests.integration.logpush_helpers import CHAT, make_key_pair

ROOT = Path(__file__).resolve().parents[2]


async def test_sigterm_delivers_what_is_pending(tmp_path: Path) -> None:
    keys = make_key_pair(tmp_path)
    out = tmp_path / "pushed-logs"
    config = tmp_path / "aigw.toml"
    config.write_text(f'[logpush]\ndestination = "file://{out}"\ninterval = 3600\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIGW_")}
    env.update(AIGW_DATA_DIR=str(tmp_path / "data"), AIGW_ADMIN_TOKEN="t0ken", PYTHONUNBUFFERED="1")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "console.cli", "--headless", "--demo", "--no-demo-traffic", "--port", "0",
        "--config", str(config), cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
    match = re.search(r"listening on (http://[^/]+)", line)
    assert match, line
    base = match.group(1)
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{base}/client/v4/accounts/local/ai-gateway/gateways", headers={"authorization": "Bearer t0ken"},
            json={"id": "pushed", "logpush": True, "logpush_public_key": keys.public_pem},
        ) as resp:  # fmt: skip
            assert resp.status == 200, await resp.text()
        ids = []
        for _ in range(5):
            async with session.post(f"{base}/v1/local/pushed/openai/chat/completions", json=CHAT) as resp:
                assert resp.status == 200
                ids.append(resp.headers["cf-aig-log-id"])
    assert not out.exists()  # an hour's interval: nothing is pushed yet
    proc.send_signal(signal.SIGTERM)
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    files = sorted(out.rglob("*.log.gz"))
    assert len(files) == 1
    result = subprocess.run(
        [sys.executable, "-m", "console.cli", "logpush", "decrypt", "--key", str(keys.private_file), str(files[0])],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert [orjson.loads(line)["ID"] for line in result.stdout.splitlines()] == ids
    assert list((tmp_path / "data" / "logpush-spool").rglob("*.log.gz")) == []
