"""Canary secrets sent every way a client can send a credential never come out anywhere.

A real ``aigw-console --headless --demo`` process gets unique canaries in every credential
header, every credential query parameter (in two spellings), the realtime subprotocols and four
malformed requests that make aiohttp's parser quote the raw bytes. Then stdout, stderr, the
SQLite file and its WAL, and the management API's log list and log details are searched: no
canary may appear. Each malformed request may cost at most one stderr line, never a traceback.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp

from proxy_core.redact import CREDENTIAL_NAMES

CLI = [sys.executable, "-m", "console.cli"]
ROOT = Path(__file__).resolve().parents[2]
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}]}
HEADERS = ["Authorization", "x-api-key", "api-key", "x-goog-api-key", "xi-api-key", "Proxy-Authorization",
           "X-Amz-Security-Token", "X-Auth-Key", "X-Auth-Token", "Cookie", "ocp-apim-subscription-key"]  # fmt: skip


class Canaries:
    """Unique, greppable fake secrets: ``cnry<run>n<i>`` (not shaped like any provider key, so a
    hit is not caught by the key-shape rules by luck)."""

    def __init__(self) -> None:
        self.run = secrets.token_hex(4)
        self.issued: dict[str, str] = {}

    def __call__(self, where: str) -> str:
        value = f"cnry{self.run}n{len(self.issued)}"
        self.issued[value] = where
        return value

    def found_in(self, blob: bytes | str) -> list[str]:
        text = blob.decode("utf-8", "replace") if isinstance(blob, bytes) else blob
        return sorted({self.issued.get(m, m) for m in re.findall(rf"cnry{self.run}n\d+", text, re.IGNORECASE)})


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIGW_")}
    env["AIGW_DATA_DIR"] = str(tmp_path / "data")
    env["PYTHONUNBUFFERED"] = "1"
    return env


async def _started(proc: asyncio.subprocess.Process) -> tuple[list[str], str, str, str]:
    """The start-up lines, the gateway URL, the management API URL and its token."""
    assert proc.stdout is not None
    lines: list[str] = []
    while not lines or "management API" not in lines[-1]:
        line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        assert line, "the gateway exited during start-up"
        lines.append(line)
    gateway = re.search(r"listening on (http://\S+)", "".join(lines))
    api = re.search(r"management API (http://\S+) \(token in (\S+)\)", lines[-1])
    assert gateway and api, lines
    return lines, gateway.group(1), api.group(1), Path(api.group(2)).read_text().strip()


async def _raw(port: int, data: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 10)  # aiohttp closes after a 400
    writer.close()
    return answer


def _malformed(canary: Canaries) -> list[bytes]:
    """The four shapes that made aiohttp's parser print raw header lines on stderr."""
    path = b"POST /v1/local/default/openai/chat/completions HTTP/1.1\r\nHost: x\r\n"
    return [
        path + b"Authorization: Bearer " + canary("malformed: bad char in Authorization").encode() + b"\x01\r\n\r\n",
        path + b"Authorization: Bearer " + canary("malformed: overlong Authorization").encode() + b"A" * 9000
        + b"\r\n\r\n",
        b"GET /v1/local/default/google-ai-studio/v1beta/models?key=" + canary("malformed: ?key= bad char").encode()
        + b"\x01 HTTP/1.1\r\nHost: x\r\n\r\n",
        path + b"x-api-key " + canary("malformed: x-api-key without colon").encode() + b"\r\n\r\n",
    ]  # fmt: skip


async def _logs(session: aiohttp.ClientSession, api: str, token: str, want: int) -> list[dict[str, Any]]:
    """The gateway's logs once ``want`` of them are stored (the writer is asynchronous)."""
    url = f"{api}/accounts/local/ai-gateway/gateways/default/logs?per_page=100"
    headers = {"Authorization": f"Bearer {token}"}
    while True:
        async with session.get(url, headers=headers) as resp:
            assert resp.status == 200, await resp.text()
            logs = (await resp.json())["result"]
        if len(logs) >= want:
            return logs
        await asyncio.sleep(0.05)


async def test_no_canary_leaves_through_logs_store_or_api(tmp_path: Path) -> None:
    canary = Canaries()
    proc = await asyncio.create_subprocess_exec(
        *CLI, "--headless", "--demo", "--no-demo-traffic", "--port", "0",
        cwd=ROOT, env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        startup, url, api, token = await _started(proc)
        port = int(url.split(":")[2].split("/")[0])
        ws = "ws" + url[4:]
        expected = 0
        blobs: dict[str, bytes | str] = {}
        async with aiohttp.ClientSession() as session:
            # every credential header (the provider paths that do not echo the request back)
            for name in HEADERS:
                value = canary(f"header {name}")
                value = f"Bearer {value}" if "authorization" in name.lower() else value
                async with session.post(f"{url}/openai/chat/completions", json=CHAT, headers={name: value}) as resp:
                    assert resp.status == 200, await resp.text()
                expected += 1
            # every credential query parameter, as listed and in upper case
            for spell in (str.lower, str.upper):
                query = "&".join(f"{spell(n)}={canary(f'query {spell(n)}')}" for n in sorted(CREDENTIAL_NAMES))
                async with session.post(f"{url}/openai/chat/completions?alt=x&{query}", json=CHAT) as resp:
                    assert resp.status == 200, await resp.text()
                expected += 1
            google = f"{url}/google-ai-studio/v1beta/models/gemini-1.5-flash:generateContent"
            body = {"contents": [{"parts": [{"text": "hi"}]}]}
            for name in ("key", "token", "apikey", "api_key", "access_token", "X-Amz-Signature"):
                async with session.post(f"{google}?{name}={canary(f'google ?{name}=')}", json=body) as resp:
                    assert resp.status == 200, await resp.text()
                expected += 1
            # realtime: secrets in subprotocols and the query. The mock provider echoes the
            # handshake it saw in its first frame: the stored transcript must be scrubbed too.
            offers = [
                ["realtime", f"openai-insecure-api-key.{canary('subprotocol openai-insecure-api-key')}",
                 f"xi-api-key.{canary('subprotocol xi-api-key')}"],
                [f"openai-insecure-api-key.{canary('lone subprotocol (no overlap at the mock)')}"],
                [f"cf-aig-authorization.{canary('subprotocol cf-aig-authorization')}", "realtime"],
            ]  # fmt: skip
            for protocols in offers:
                realtime = f"{ws}/openai/v1/realtime?model=gpt-4o-realtime-preview&api_key={canary('realtime ?api_key=')}"
                async with session.ws_connect(realtime, protocols=protocols) as sock:
                    first = await sock.receive_json(timeout=10)
                    assert first["type"] == "session.created"
                expected += 1
            # the universal endpoint offered a secret subprotocol it does not select
            async with session.ws_connect(ws, protocols=[f"openai-insecure-api-key.{canary('universal ws')}"]) as sock:
                await sock.close()
            # malformed requests: aiohttp's parser quotes the raw bytes in its errors
            malformed = _malformed(canary) * 3
            for raw in malformed:
                assert (await _raw(port, raw)).startswith(b"HTTP/1.")
            logs = await _logs(session, api, token, expected)
            blobs["GET …/logs"] = repr(logs)
            auth = {"Authorization": f"Bearer {token}"}
            for log in logs:
                async with session.get(f"{api}/accounts/local/ai-gateway/gateways/default/logs/{log['id']}",
                                       headers=auth) as resp:  # fmt: skip
                    blobs[f"GET …/logs/{log['id']}"] = await resp.text()
        data = tmp_path / "data"
        blobs.update({f.name: f.read_bytes() for f in data.glob("aigw.db*")})  # the WAL before its checkpoint
        assert any(name.endswith("-wal") for name in blobs), sorted(blobs)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    blobs["stdout"] = "".join(startup) + out.decode()
    blobs["stderr"] = err.decode()
    blobs.update({f"{f.name} (after stop)": f.read_bytes() for f in (tmp_path / "data").glob("aigw.db*")})
    leaks = {where: hits for where, blob in blobs.items() if (hits := canary.found_in(blob))}
    assert leaks == {}
    assert len(logs) == expected
    stderr = err.decode().splitlines()
    assert "Traceback" not in err.decode()
    bad = [line for line in stderr if "bad request from 127.0.0.1: 400 " in line]
    assert 1 <= len(bad) <= len(malformed), stderr
    assert all(line.startswith("aigw-console: ") for line in stderr), stderr  # one line per record

