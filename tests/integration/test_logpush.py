"""Logpush end to end: a gateway with a public key, requests through the real proxy, files in a
directory, on an HTTP receiver and in a real S3-compatible server (moto), decrypted by
``aigw-console logpush decrypt``, by an independent decryptor and by the reference's own Node
script; a destination down for a while and a restart lose nothing; a full spool counts its drops."""

from __future__ import annotations

import asyncio
import gzip
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import AsyncIterator, Iterator

import aiohttp
import orjson
import pytest
from aiohttp import web

from proxy_core.runner import RunningGateway, start_gateway
from proxy_core.server import SERVICES
from tests.conftest import GatewayFactory, Upstream, make_settings, mock_providers
from tests.integration.logpush_helpers import (
    CHAT, KeyPair, Receiver, delivered, make_key_pair, open_records, push_gateway, status, wait_for, wait_for_saved,
)  # fmt: skip

ROOT = Path(__file__).resolve().parents[2]
NAME = re.compile(r"^local/pushed/\d{8}/pushed_\d{8}T\d{6}Z_\d{8}\.log\.gz$")


@pytest.fixture
def keys(tmp_path: Path) -> KeyPair:
    return make_key_pair(tmp_path)


async def send(gateway: RunningGateway, gateway_id: str, n: int, *, user: str = "alice") -> list[str]:
    """``n`` chat requests through the proxy; their log ids."""
    ids = []
    async with aiohttp.ClientSession() as session:
        for i in range(n):
            async with session.post(
                f"{gateway.base_url}/v1/local/{gateway_id}/openai/chat/completions", json=CHAT,
                headers={"authorization": "Bearer sk-never-pushed", "cf-aig-metadata": f'{{"user": "{user}", "n": {i}}}'},
            ) as resp:  # fmt: skip
                assert resp.status == 200
                await resp.read()
                ids.append(resp.headers["cf-aig-log-id"])
    return ids


def cli_decrypt(keys: KeyPair, *files: Path) -> list[dict]:
    result = subprocess.run(
        [sys.executable, "-m", "console.cli", "logpush", "decrypt", "--key", str(keys.private_file), *map(str, files)],
        cwd=ROOT, capture_output=True, timeout=60, env={"PATH": "/usr/bin:/bin", "AIGW_DATA_DIR": str(files[0].parent)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()
    return [orjson.loads(line) for line in result.stdout.splitlines()]


async def test_file_destination_end_to_end(gateway_factory: GatewayFactory, tmp_path: Path, keys: KeyPair) -> None:
    out = tmp_path / "pushed-logs"
    gateway = await gateway_factory(logpush={"destination": f"file://{out}", "max_batch": 2, "interval": 3600})
    await push_gateway(gateway, "pushed", keys)
    ids = await send(gateway, "pushed", 4)
    await send(gateway, "default", 2)  # Logpush is off on this gateway
    await wait_for("4 records delivered", delivered(gateway, "pushed", 4))
    files = sorted(p for p in out.rglob("*") if p.is_file())
    assert [p.relative_to(out).as_posix() for p in files if not NAME.match(p.relative_to(out).as_posix())] == []
    assert len(files) == 2  # max_batch 2: a file as soon as two records wait
    raw = b"".join(gzip.decompress(p.read_bytes()) for p in files)
    assert b"secret prompt" not in raw and b"alice" not in raw and b"sk-never-pushed" not in raw

    mine = [r for f in files for r in open_records(f.read_bytes(), keys)]
    assert sorted(r["ID"] for r in mine) == sorted(ids)
    first = next(r for r in mine if r["ID"] == ids[0])
    assert orjson.loads(first["Metadata"]) == {"user": "alice", "n": 0}
    assert orjson.loads(first["RequestBody"]) == CHAT
    assert "choices" in orjson.loads(first["ResponseBody"])
    assert (first["Gateway"], first["Provider"], first["Model"], first["StatusCode"]) == ("pushed", "openai", "gpt-4o-mini", 200)
    assert first["TokensIn"] and first["Cost"] is not None and first["BodyTruncated"] is False

    by_cli = cli_decrypt(keys, *files)
    assert [r["ID"] for r in by_cli] == [r["ID"] for r in mine]
    assert by_cli == mine

    saved = await wait_for_saved(gateway, "pushed", lambda s: s.delivered_records == 4)
    assert (saved.delivered_records, saved.delivered_files, saved.pending_records) == (4, 2, 0)
    assert "default" not in await gateway.app[SERVICES].gateways.logpush_status()


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed: the reference's script cannot run")
async def test_the_references_node_script_decrypts_a_file_unchanged(
    gateway_factory: GatewayFactory, tmp_path: Path, keys: KeyPair
) -> None:
    out = tmp_path / "pushed-logs"
    gateway = await gateway_factory(logpush={"destination": f"file://{out}", "max_batch": 1})
    await push_gateway(gateway, "pushed", keys)
    [log_id] = await send(gateway, "pushed", 1)
    await wait_for("1 record delivered", delivered(gateway, "pushed", 1))
    [pushed] = [p for p in out.rglob("*.log.gz")]
    work = tmp_path / "download"
    work.mkdir()
    shutil.copy(pushed, work / "my_log.log.gz")  # the name the script reads
    # The script as the reference prints it; the operator's only edit is pasting the key at the top.
    script = (Path(__file__).parent / "logpush_reference_decrypt.js").read_text()
    pem_body = "\n".join(keys.private_file.read_text().strip().splitlines()[1:-1])
    (work / "decrypt.js").write_text(script.replace("\n....\n", f"\n{pem_body}\n", 1))
    result = subprocess.run(["node", "decrypt.js"], cwd=work, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert log_id in result.stdout
    assert "the secret prompt" in result.stdout and "alice" in result.stdout and "choices" in result.stdout


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/logs", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    receiver.url = f"http://127.0.0.1:{runner.addresses[0][1]}/logs"
    yield receiver
    await runner.cleanup()


async def test_http_receiver_down_for_a_while_loses_nothing(
    gateway_factory: GatewayFactory, keys: KeyPair, receiver: Receiver
) -> None:
    gateway = await gateway_factory(logpush={"destination": receiver.url, "max_batch": 2, "interval": 3600})
    await push_gateway(gateway, "pushed", keys)
    receiver.down = True
    ids = await send(gateway, "pushed", 6)

    def all_spooled_and_refused() -> bool:
        s = status(gateway, "pushed")
        return s is not None and s.failures >= 1 and s.pending_records == 6

    await wait_for("every file spooled and one refused", all_spooled_and_refused)
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{gateway.base_url}/healthz") as resp:
            health = await resp.json()
    pushed = health["logpush"]["gateways"]["pushed"]
    assert health["status"] == "degraded" and any(r.startswith("logpush_failing: gateway pushed") for r in health["reasons"])
    assert pushed["pending"] == 6 and pushed["errors"] >= 1 and "503" in pushed["last_error"]
    assert pushed["last_delivery"] is None and pushed["lag_ms"] >= 0
    assert {"logs", "cache", "reasons", "status"} <= health.keys()  # the existing parts stay

    receiver.down = False
    await wait_for("6 records delivered after the receiver came back", delivered(gateway, "pushed", 6))
    got = [r["ID"] for data in receiver.files.values() for r in open_records(data, keys)]
    assert sorted(got) == sorted(ids) and len(receiver.files) == 3
    assert all(NAME.match(name) for name in receiver.files)
    final = status(gateway, "pushed")
    assert final is not None and final.last_error is None and final.last_delivery_at is not None


async def test_spooled_files_survive_a_restart(tmp_path: Path, upstream: Upstream, keys: KeyPair, receiver: Receiver) -> None:
    settings = make_settings(
        tmp_path / "data", mock_providers(upstream), logpush={"destination": receiver.url, "max_batch": 1, "timeout": 5}
    )
    receiver.down = True
    first = await start_gateway(settings)
    try:
        await push_gateway(first, "pushed", keys)
        ids = await send(first, "pushed", 3)
        await wait_for("3 files spooled", lambda: (s := status(first, "pushed")) is not None and s.pending_records == 3 and s.failures >= 1)
    finally:
        await first.stop()  # tries once more at close; the receiver is still down
    assert len(list((tmp_path / "data" / "logpush-spool").rglob("*.log.gz"))) == 3
    receiver.down = False
    second = await start_gateway(settings)
    try:
        await wait_for("the previous run's files delivered", delivered(second, "pushed", 3))
    finally:
        await second.stop()
    got = [r["ID"] for data in receiver.files.values() for r in open_records(data, keys)]
    assert sorted(got) == sorted(ids)
    assert list((tmp_path / "data" / "logpush-spool").rglob("*.log.gz")) == []
    names = sorted(receiver.files)
    assert len(set(names)) == 3  # sequences are not reused across the restart


async def test_a_full_spool_drops_and_counts(gateway_factory: GatewayFactory, tmp_path: Path, keys: KeyPair) -> None:
    out = tmp_path / "pushed-logs"
    gateway = await gateway_factory(logpush={"destination": f"file://{out}", "max_batch": 1, "spool_max_bytes": 64})
    await push_gateway(gateway, "pushed", keys)
    await send(gateway, "pushed", 2)
    await wait_for("2 records dropped", lambda: (s := status(gateway, "pushed")) is not None and s.dropped_records == 2)
    assert not out.exists() or list(out.rglob("*.log.gz")) == []
    saved = await wait_for_saved(gateway, "pushed", lambda s: s.dropped_records == 2)
    assert saved.pending_records == 0 and saved.delivered_records == 0


@pytest.fixture
def s3_server() -> Iterator[str]:
    """moto's S3 in server mode on a loopback port (a real HTTP server that checks request shapes)."""
    moto_server = pytest.importorskip("moto.server", reason="moto[server] is a test extra")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


async def test_s3_destination_with_a_real_s3_server(
    gateway_factory: GatewayFactory, keys: KeyPair, s3_server: str, tmp_path: Path
) -> None:
    import boto3  # installed with moto

    client = boto3.client("s3", endpoint_url=s3_server, region_name="eu-west-1",
                          aws_access_key_id="AKIDTEST", aws_secret_access_key="test-secret")  # fmt: skip
    client.create_bucket(Bucket="logs", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    gateway = await gateway_factory(logpush={
        "destination": "s3://logs/aigw/prod", "endpoint": s3_server, "region": "eu-west-1",
        "access_key_id": "AKIDTEST", "secret_access_key": "test-secret", "max_batch": 3, "interval": 3600,
    })  # fmt: skip
    await push_gateway(gateway, "pushed", keys)
    ids = await send(gateway, "pushed", 3)
    await wait_for("3 records in the bucket", delivered(gateway, "pushed", 3))
    listing = await asyncio.to_thread(client.list_objects_v2, Bucket="logs", Prefix="aigw/prod/")
    [key] = [item["Key"] for item in listing["Contents"]]
    assert NAME.match(key.removeprefix("aigw/prod/")), key
    data = (await asyncio.to_thread(client.get_object, Bucket="logs", Key=key))["Body"].read()
    assert sorted(r["ID"] for r in open_records(data, keys)) == sorted(ids)
    downloaded = tmp_path / "from-s3.log.gz"
    downloaded.write_bytes(data)
    assert sorted(r["ID"] for r in cli_decrypt(keys, downloaded)) == sorted(ids)


@pytest.mark.parametrize(
    ("key", "needle"),
    [
        ("not a key", "not a PEM public key"),
        ("weak", "1024 bits: at least 2048"),
        ("private", "private key"),
    ],
)
async def test_a_bad_public_key_is_a_400_naming_the_field(
    gateway_factory: GatewayFactory, keys: KeyPair, key: str, needle: str
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    if key == "weak":
        weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
        key = weak.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    elif key == "private":
        key = keys.private_file.read_text()
    gateway = await gateway_factory(api={"admin_token": "t0ken"})
    base = f"{gateway.api_url}/accounts/local/ai-gateway/gateways"
    async with aiohttp.ClientSession(headers={"authorization": "Bearer t0ken"}) as session:
        async with session.post(base, json={"id": "g1", "logpush": True, "logpush_public_key": key}) as resp:
            body = await resp.json()
            assert resp.status == 400 and "logpush_public_key" in body["errors"][0]["message"]
            assert needle in body["errors"][0]["message"]
        async with session.post(base, json={"id": "g2", "logpush": True, "logpush_public_key": keys.public_pem}) as resp:
            created = await resp.json()
            assert resp.status == 200 and created["result"]["logpush"] is True
            assert created["result"]["logpush_public_key"] == keys.public_pem
        async with session.put(f"{base}/g2", json={"logpush_public_key": "garbage"}) as resp:
            assert resp.status == 400 and "logpush_public_key" in (await resp.json())["errors"][0]["message"]


async def test_logpush_on_without_a_destination_is_a_degraded_health(gateway_factory: GatewayFactory, keys: KeyPair) -> None:
    """A gateway with Logpush on while the process has no ``[logpush] destination`` exports nothing:
    ``/healthz`` names it instead of staying silent."""
    gateway = await gateway_factory()
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{gateway.base_url}/healthz") as resp:
            quiet = await resp.json()
        assert "logpush" not in quiet and not any(r.startswith("logpush") for r in quiet["reasons"])
        await push_gateway(gateway, "pushed", keys)  # the service layer puts it in the directory
        async with session.get(f"{gateway.base_url}/healthz") as resp:
            health = await resp.json()
    assert health["status"] == "degraded" and health["logpush"]["destination"] is None
    assert any(r.startswith("logpush_unconfigured: local/pushed: Logpush is on") for r in health["reasons"])
