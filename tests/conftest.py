"""Shared fixtures: the mock upstream on a loopback port and gateways started against it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable, Iterator

import pytest

from proxy_core.config import ProviderSettings, Settings, load_settings
from proxy_core.demo.mock_provider import MockProvider, start_mock
from proxy_core.runner import RunningGateway, start_gateway
from tests.redis_server import RedisServer, RedisUnavailableForTests, redis_server as start_redis_server

ACCOUNT = "local"


@dataclass
class Upstream:
    mock: MockProvider
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def requests(self) -> list[dict[str, Any]]:
        return self.mock.requests


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    mock = MockProvider(record=True)
    runner, port = await start_mock(mock)
    yield Upstream(mock, port)
    await runner.cleanup()


def make_settings(data_dir: Path, providers: dict[str, ProviderSettings] | None = None, **sections: Any) -> Settings:
    overrides: dict[str, Any] = {"server": {"port": 0, "host": "127.0.0.1"}, "store": {"data_dir": str(data_dir)}}
    for name, values in sections.items():
        overrides.setdefault(name, {}).update(values)
    settings = load_settings(env={}, overrides=overrides)
    return dataclasses.replace(settings, providers=providers or {})


def mock_providers(upstream: Upstream) -> dict[str, ProviderSettings]:
    """Point the three families the mock imitates at it."""
    return {
        "openai": ProviderSettings(base_url=f"{upstream.url}/v1"),
        "anthropic": ProviderSettings(base_url=upstream.url),
        "google-ai-studio": ProviderSettings(base_url=upstream.url),
    }


GatewayFactory = Callable[..., Awaitable[RunningGateway]]


@pytest.fixture
async def gateway_factory(tmp_path: Path, upstream: Upstream) -> AsyncIterator[GatewayFactory]:
    started: list[RunningGateway] = []

    async def make(providers: dict[str, ProviderSettings] | None = None, **sections: Any) -> RunningGateway:
        settings = make_settings(tmp_path / f"data{len(started)}", providers or mock_providers(upstream), **sections)
        gateway = await start_gateway(settings)
        started.append(gateway)
        return gateway

    yield make
    for gateway in started:
        await gateway.stop()


@pytest.fixture
async def gateway(gateway_factory: GatewayFactory) -> RunningGateway:
    return await gateway_factory()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One private redis-server for the session (tests keep apart by key prefix); skips with the
    reason where there can be none."""
    servers = start_redis_server()
    try:
        server = next(servers)
    except RedisUnavailableForTests as exc:
        pytest.skip(f"no Redis server for these tests: {exc}")
    yield server
    servers.close()


@pytest.fixture
def redis_settings(redis_server: RedisServer) -> dict[str, Any]:
    """The ``[redis]`` section for one test: the session's server, a prefix of its own."""
    return {"url": redis_server.url, "prefix": RedisServer.fresh_prefix()}
