"""Logpush test kit: a key pair on disk, waiting for the pusher's figures, reading delivered files
with the independent decryptor, and an HTTP receiver that can be taken down."""

from __future__ import annotations

import asyncio
import gzip
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import orjson
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from proxy_core.logpush import FILE_HEADER, LogpushStatus
from proxy_core.runner import RunningGateway
from proxy_core.server import LOGPUSH, SERVICES
from proxy_core.services import Actor
from tests.unit.test_logpush_records import independent_open

TEST_ACTOR = Actor("test", "API")
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "the secret prompt"}]}
WAIT_S = 60.0


@dataclass(frozen=True)
class KeyPair:
    private: rsa.RSAPrivateKey
    public_pem: str
    private_file: Path


def make_key_pair(directory: Path) -> KeyPair:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    private_file = directory / "private_key.pem"
    private_file.write_bytes(private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    ))  # fmt: skip
    return KeyPair(private, public_pem, private_file)


async def push_gateway(gateway: RunningGateway, gateway_id: str, keys: KeyPair) -> None:
    await gateway.app[SERVICES].gateways.create(
        gateway_id, {"logpush": True, "logpush_public_key": keys.public_pem}, TEST_ACTOR
    )


def status(gateway: RunningGateway, gateway_id: str) -> LogpushStatus | None:
    return next((s for s in gateway.app[LOGPUSH].statuses() if s.gateway_id == gateway_id), None)


async def wait_for(what: str, condition: Callable[[], bool]) -> None:
    """Wait on state (the pusher's figures, a receiver's files), failing after a generous bound."""
    try:
        async with asyncio.timeout(WAIT_S):
            while not condition():
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


async def wait_for_saved(gateway: RunningGateway, gateway_id: str, condition: Callable[[LogpushStatus], bool]) -> LogpushStatus:
    """Wait until the state the pusher saves in the store (what consoles read) meets ``condition``."""
    try:
        async with asyncio.timeout(WAIT_S):
            while True:
                saved = (await gateway.app[SERVICES].gateways.logpush_status()).get(gateway_id)
                if saved is not None and condition(saved):
                    return saved
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for the saved logpush state of {gateway_id}") from None


def delivered(gateway: RunningGateway, gateway_id: str, records: int) -> Callable[[], bool]:
    def check() -> bool:
        s = status(gateway, gateway_id)
        return s is not None and s.delivered_records >= records and s.pending_records == 0

    return check


def open_records(data: bytes, keys: KeyPair) -> list[dict[str, Any]]:
    """A delivered file's records, each sealed field opened by the independent decryptor."""
    text = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
    out = []
    for line in text.splitlines():
        record = orjson.loads(line)
        for name in ("Metadata", "RequestBody", "ResponseBody"):
            record[name] = independent_open(record[name], keys.private).decode()
        out.append(record)
    return out


@dataclass
class Receiver:
    """An HTTP Logpush destination on loopback; ``down`` answers 503 to every file."""

    url: str = ""
    down: bool = False
    files: dict[str, bytes] = field(default_factory=dict)
    refused: int = 0

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()  # aiohttp undoes the Content-Encoding: plain JSON lines here
        if self.down:
            self.refused += 1
            return web.Response(status=503, text="receiver down")
        self.files[request.headers[FILE_HEADER]] = body
        return web.Response(status=204)
