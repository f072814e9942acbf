"""The audit log's caller addresses and Cloudflare's ``audit_logs`` filters, on a real store."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import AsyncIterator

import pytest

from proxy_core.services import Actor, Services
from proxy_core.services.audit import AuditQuery
from proxy_core.store.engine import open_store


class Clock:
    """The time the next change is made at, set by the test."""

    def __init__(self) -> None:
        self.now = 1_000

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def services(tmp_path: Path, clock: Clock) -> AsyncIterator[Services]:
    store = await open_store(f"sqlite+aiosqlite:///{tmp_path}/audit.db")
    yield Services(store, account_id="local", clock=clock)
    await store.close()


async def change(services: Services, gateway_id: str, actor: Actor) -> None:
    await services.gateways.create(gateway_id, {}, actor)


async def test_the_callers_address_is_kept_beside_the_name(services: Services) -> None:
    await change(services, "v4", Actor("admin-token", "API", ip="192.0.2.7"))
    await change(services, "v6", Actor("admin-token", "API", ip="2001:db8::1"))
    await change(services, "local", Actor("operator", "console"))
    records = {r.resource_id: (r.actor, r.interface, r.actor_ip) for r in (await services.audit.list()).items}
    assert records == {
        "v4": ("admin-token", "API", "192.0.2.7"),
        "v6": ("admin-token", "API", "2001:db8::1"),
        "local": ("operator", "console", None),
    }


async def test_a_name_whose_last_word_is_not_an_address_stays_whole(services: Services) -> None:
    await change(services, "spaced", Actor("night shift", "CLI"))
    (record,) = (await services.audit.list()).items
    assert (record.actor, record.actor_ip) == ("night shift", None)


@pytest.mark.parametrize(
    ("network", "expected"),
    [("192.0.2.0/24", ["v4"]), ("192.0.2.7", ["v4"]), ("2001:db8::/32", ["v6"]), ("0.0.0.0/0", ["v4"]),
     ("198.51.100.0/24", [])],
)  # fmt: skip
async def test_address_filter_takes_an_address_or_a_range(services: Services, network: str, expected: list) -> None:
    await change(services, "v4", Actor("admin-token", "API", ip="192.0.2.7"))
    await change(services, "v6", Actor("admin-token", "API", ip="2001:db8::1"))
    await change(services, "local", Actor("operator", "console"))
    page = await services.audit.list(AuditQuery(actor_ip=ipaddress.ip_network(network)))
    assert [r.resource_id for r in page.items] == expected and page.total_count == len(expected)


async def test_address_filter_pages_after_filtering(services: Services) -> None:
    for n in range(5):
        await change(services, f"api-{n}", Actor("admin-token", "API", ip="192.0.2.7"))
        await change(services, f"console-{n}", Actor("operator", "console"))
    query = AuditQuery(actor_ip=ipaddress.ip_network("192.0.2.0/24"), oldest_first=True)
    pages = [await services.audit.list(query, page=p, per_page=2) for p in (1, 2, 3)]
    assert [[r.resource_id for r in page.items] for page in pages] == [["api-0", "api-1"], ["api-2", "api-3"], ["api-4"]]
    assert {page.total_count for page in pages} == {5}


async def test_time_action_and_id_filters(services: Services, clock: Clock) -> None:
    await change(services, "a", Actor("admin-token", "API"))
    clock.now = 2_000
    await change(services, "b", Actor("admin-token", "API"))
    clock.now = 3_000
    await services.gateways.delete("a", Actor("admin-token", "API"))

    def ids(page) -> list[str]:
        return [r.resource_id + ":" + r.action for r in page.items]

    assert ids(await services.audit.list(AuditQuery(since=2_000))) == ["a:delete", "b:create"]
    assert ids(await services.audit.list(AuditQuery(before=2_000))) == ["a:create"]
    assert ids(await services.audit.list(AuditQuery(action="delete"))) == ["a:delete"]
    newest = (await services.audit.list()).items[0]
    assert ids(await services.audit.list(AuditQuery(id=newest.id))) == ["a:delete"]


@pytest.mark.parametrize("query", [AuditQuery(actor_email="x@example.com"), AuditQuery(zone="example.com"),
                                   AuditQuery(hide_user_logs=True)])  # fmt: skip
async def test_what_is_never_recorded_selects_nothing(services: Services, query: AuditQuery) -> None:
    await change(services, "a", Actor("admin-token", "API", ip="192.0.2.7"))
    page = await services.audit.list(query)
    assert page.items == [] and page.total_count == 0
