"""Both of the console's gateway links, for tests that run the same thing through each: a
gateway in another process reached over its event stream (``attached``) and a gateway on a thread
of this process (``in-process``), each with the console's own store engine and service layer."""

from __future__ import annotations

from typing import AsyncIterator

import orjson
import pytest

from console.attach import AttachedLink
from console.link import GatewayLink, InProcessLink
from proxy_core.gateway_thread import GatewayThread
from proxy_core.runner import RunningGateway
from proxy_core.runtime_file import RUNTIME_FILE_NAME, RuntimeInfo
from proxy_core.server import PIPE
from proxy_core.services import Actor, Services
from proxy_core.services.types import system_clock
from proxy_core.store.engine import open_store
from tests.conftest import GatewayFactory, Upstream, make_settings, mock_providers

ADMIN = "attach-admin-token"
OPERATOR = Actor("operator", "console")


@pytest.fixture
async def gw(gateway_factory: GatewayFactory) -> RunningGateway:
    return await gateway_factory(api={"admin_token": ADMIN})


def runtime_of(gateway: RunningGateway) -> RuntimeInfo:
    """What the gateway wrote for attachers (``read_runtime`` ignores this very process)."""
    raw = orjson.loads((gateway.settings.data_dir / RUNTIME_FILE_NAME).read_bytes())
    return RuntimeInfo(**raw)


class Linked:
    """A console's side of either link: its own store and service layer, and the gateway's URL."""

    def __init__(self, link: GatewayLink, services: Services, gateway: RunningGateway, flush) -> None:  # noqa: ANN001
        self.link, self.services, self.gateway, self.flush = link, services, gateway, flush


@pytest.fixture(params=["attached", "in-process"])
async def linked(request: pytest.FixtureRequest, gateway_factory: GatewayFactory, upstream: Upstream, tmp_path) -> AsyncIterator[Linked]:  # noqa: ANN001
    thread = None
    if request.param == "attached":
        gateway = await gateway_factory(api={"admin_token": ADMIN})
        attached = AttachedLink(runtime_of(gateway), ADMIN)
        await attached.connect()
        link: GatewayLink = attached
        flush = gateway.app[PIPE].flush
    else:
        thread = GatewayThread(make_settings(tmp_path / "threaded", mock_providers(upstream), api={"admin_token": ADMIN}),
                               clock=system_clock)  # fmt: skip
        gateway = await thread.start()
        link = InProcessLink(thread)

        async def flush() -> None:
            await thread.run(gateway.app[PIPE].flush)

    store = await open_store(gateway.settings.store_url)
    services = Services(store, account_id="local", directory=link, bus=link.bus, on_logs_deleted=link.logs_deleted)
    yield Linked(link, services, gateway, flush)
    if isinstance(link, AttachedLink):
        await link.close()
    await store.close()
    if thread is not None:
        await thread.stop()
