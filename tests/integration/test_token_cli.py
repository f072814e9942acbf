"""``aigw-console token …`` against a data directory a live gateway serves: changes apply at once."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from pathlib import Path

import aiohttp

from tests.integration.test_crash_durability import DEADLINE, _start
from tests.integration.test_headless_process import CLI, ROOT, _env


async def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    proc = await asyncio.create_subprocess_exec(
        *CLI, *args, cwd=ROOT, env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), DEADLINE)
    assert proc.returncode is not None
    return subprocess.CompletedProcess(args, proc.returncode, out.decode(), err.decode())


async def test_a_token_revoked_from_the_cli_is_refused_on_the_next_request(tmp_path: Path) -> None:
    proc, url = await _start(tmp_path)
    base = url.split("/v1/")[0]
    admin = (tmp_path / "data" / "admin_token").read_text().strip()
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    try:
        async with aiohttp.ClientSession() as session:
            async with session.patch(
                f"{base}/client/v4/accounts/local/ai-gateway/gateways/default",
                json={"authentication": True}, headers={"Authorization": f"Bearer {admin}"},
            ) as resp:
                assert resp.status == 200, await resp.text()
            created = await _cli(tmp_path, "token", "create", "--gateway", "default", "--name", "ci")
            assert created.returncode == 0, created.stderr
            secret = created.stdout.strip()
            token_id = created.stderr.split("token ", 1)[1].split(" ", 1)[0]

            async def status() -> int:
                headers = {"cf-aig-authorization": f"Bearer {secret}"}
                async with session.post(f"{url}/openai/chat/completions", json=body, headers=headers) as resp:
                    return resp.status

            assert await status() == 200  # the new token works at once
            revoked = await _cli(tmp_path, "token", "revoke", token_id)  # no --gateway: the token's own
            assert revoked.returncode == 0, revoked.stderr
            assert "warning" not in revoked.stderr
            assert await status() == 401  # refused at once, not after the periodic re-read
        missing = await _cli(tmp_path, "token", "list", "--gateway", "nosuch")
        assert missing.returncode == 1 and "gateway 'nosuch' not found" in missing.stderr
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.communicate(), DEADLINE)
