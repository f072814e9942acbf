"""The ``--headless`` access log: one line per request, and log edits on the same bus skipped."""

from __future__ import annotations

import asyncio
import io

from proxy_core.events import EventBus
from proxy_core.runner import print_access_log


def request_event(n: int) -> dict:
    return {
        "id": f"log{n}", "created_at": 1_800_000_000_000, "status_code": 200, "gateway_id": "default",
        "provider": "openai", "model": "gpt-4o-mini", "method": "POST", "path": "/chat/completions",
        "duration": 5, "tokens_in": 3, "tokens_out": 4, "cost": 0.000001, "cached": False, "streamed": False,
        "error": None,
    }  # fmt: skip


async def test_a_log_edit_between_requests_does_not_stop_the_access_log() -> None:
    bus = EventBus()
    out = io.StringIO()
    printer = asyncio.create_task(print_access_log(bus.subscribe(), out))
    try:
        bus.publish(request_event(1))
        while "id=log1" not in out.getvalue():
            await asyncio.sleep(0.01)
        bus.publish({"event": "log_updated", "id": "log1", "feedback": 1, "score": None, "metadata": None})
        for n in (2, 3, 4):
            bus.publish(request_event(n))
        while "id=log4" not in out.getvalue():
            assert not printer.done(), printer
            await asyncio.sleep(0.01)
    finally:
        printer.cancel()
    lines = out.getvalue().splitlines()
    assert [line.rsplit("id=", 1)[1] for line in lines] == ["log1", "log2", "log3", "log4"]


async def test_requests_other_processes_served_are_not_printed_here() -> None:
    bus = EventBus(worker="here")
    out = io.StringIO()
    printer = asyncio.create_task(print_access_log(bus.subscribe(), out))
    try:
        bus.publish({**request_event(1), "worker": "elsewhere", "origin": "0123abcd"})  # heard through Redis
        bus.publish(request_event(2))
        while "id=log2" not in out.getvalue():
            assert not printer.done(), printer
            await asyncio.sleep(0.01)
    finally:
        printer.cancel()
    assert [line.rsplit("id=", 1)[1] for line in out.getvalue().splitlines()] == ["log2"]
