"""Console fixtures: a real store in tmp_path seeded with deterministic logs, a fixed clock, and
``make_console`` wired to them (the same factory the CLI uses).

Async tests use the ``console`` fixture (the App shares the test's event loop). Snapshot tests
are synchronous (``snap_compare`` runs the App in its own loop), so ``snapshot_console`` seeds the
store in a throwaway loop and disposes the engine's connections before handing it over.
"""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import timezone
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Iterator

import orjson
import pytest

from console.app import AigwConsole, make_console
from console.store_calls import settle
from tests.console.helpers import listen
from proxy_core.events import EventBus
from proxy_core.live_feed import LiveFeed
from proxy_core.services import Actor, Services
from proxy_core.store.engine import Store, open_store
from proxy_core.store.gateways import ensure_default_gateway
from proxy_core.store.logwriter import LogWriter

NOW = 1_764_300_000_000  # 2025-11-28T03:20:00Z
ACCOUNT = "local"
UTC = timezone.utc
EVIL_PROMPT = "\x1b[31mred\x1b[0m [bold]not bold[/bold] \x07bell \x1b]0;title\x07 \u202eevil"
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def fixed_clock() -> int:
    return NOW


def seed_id(ms: int, n: int) -> str:
    """A ULID-shaped id with a fixed time part and ``n`` as its 'random' part (deterministic)."""
    value = (ms << 80) | n
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def log_row(n: int, created_at: int, **changes: Any) -> dict[str, Any]:
    row = {
        "id": seed_id(created_at, n), "account_id": ACCOUNT, "gateway_id": "default", "created_at": created_at,
        "provider": "openai", "model": "gpt-4o-mini", "model_type": "text", "path": "/chat/completions",
        "request_type": "provider", "method": "POST", "status_code": 200, "success": True, "error_code": None,
        "error": None, "cached": False, "step": 0, "event_id": None, "duration": 200 + (n * 37) % 900,
        "ttfb": 80, "tokens_in": 12 + n, "tokens_out": 40 + (n * 7) % 60, "cost": round(0.00001 * (50 + n), 6),
        "custom_cost": False, "metadata": None, "feedback": 0, "score": None, "guardrails": None,
        "request_content_type": "application/json", "response_content_type": "application/json",
        "request_size": 100, "response_size": 300, "body_stored": True, "body_truncated": False, "streamed": False,
        "worker_id": None,
    }  # fmt: skip
    row.update(changes)
    return row


def _openai(prompt: str, answer: str) -> tuple[bytes, bytes]:
    request = {"model": "gpt-4o-mini", "messages": [{"role": "system", "content": "Be brief."},
                                                     {"role": "user", "content": prompt}]}  # fmt: skip
    response = {"id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o-mini",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 12, "completion_tokens": 40}}  # fmt: skip
    return orjson.dumps(request), orjson.dumps(response)


def _anthropic_stream(prompt: str, words: list[str]) -> tuple[bytes, bytes]:
    request = {"model": "claude-3-5-haiku-latest", "max_tokens": 256, "stream": True, "system": "You are terse.",
               "messages": [{"role": "user", "content": [{"type": "text", "text": prompt}]}]}  # fmt: skip
    events = [b'event: message_start\ndata: {"type":"message_start","message":{"usage":{"input_tokens":9}}}\n\n']
    for word in words:
        delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": word}}
        events.append(b"event: content_block_delta\ndata: " + orjson.dumps(delta) + b"\n\n")
    events.append(b'event: message_stop\ndata: {"type":"message_stop"}\n\n')
    return orjson.dumps(request), b"".join(events)


def _google(prompt: str, answer: str) -> tuple[bytes, bytes]:
    request = {"contents": [{"role": "user", "parts": [{"text": prompt}]}]}
    response = {"candidates": [{"content": {"role": "model", "parts": [{"text": answer}]}, "finishReason": "STOP"}]}
    return orjson.dumps(request), orjson.dumps(response)


def seed_logs() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """60 recent logs of the default gateway (one every second up to NOW), 8 of ``staging`` and
    6 two days old; a mix of providers, errors, cache hits, streams, feedback and metadata."""
    rows, bodies = [], []
    headers_in = {"content-type": "application/json", "authorization": "[REDACTED]"}
    headers_out = {"content-type": "application/json", "x-request-id": "req-1"}
    for n in range(60):
        created = NOW - (59 - n) * 1000
        kind = n % 6
        if kind == 1:
            row = log_row(n, created, provider="anthropic", model="claude-3-5-haiku-latest", path="/v1/messages",
                          streamed=True, response_content_type="text/event-stream")  # fmt: skip
            request, response = _anthropic_stream(f"Question {n}?", ["Streamed ", "answer ", f"{n}."])
        elif kind == 2:
            row = log_row(n, created, provider="google-ai-studio", model="gemini-1.5-flash",
                          path="/v1beta/models/gemini-1.5-flash:generateContent")  # fmt: skip
            request, response = _google(f"Google prompt {n}", f"Google answer {n}")
        elif kind == 3 and n % 4 == 3:
            row = log_row(n, created, status_code=500, success=False, error="upstream returned 500",
                          tokens_in=None, tokens_out=None, cost=None)  # fmt: skip
            request, response = _openai(f"Prompt {n}", "")
            response = orjson.dumps({"error": {"message": "mock error 500", "type": "server_error"}})
        elif kind == 4:
            row = log_row(n, created, cached=True, cost=0.0, duration=3)
            request, response = _openai(f"Cached prompt {n}", f"Cached answer {n}")
        else:
            row = log_row(n, created, metadata={"user": "alice" if n % 2 else "bob", "team": "search"})
            request, response = _openai(f"Prompt {n}: what is a gateway?", f"Answer {n}: it forwards requests.")
        if n % 10 == 0:
            row.update(feedback=1, score=90)
        elif n % 10 == 5:
            row.update(feedback=-1, score=20)
        rows.append(row)
        bodies.append({"log_id": row["id"], "request_headers": headers_in, "request_body": request,
                       "response_headers": headers_out, "response_body": response})  # fmt: skip
    for n in range(60, 68):
        created = NOW - (68 - n) * 1500 - 250
        rows.append(log_row(n, created, gateway_id="staging", provider="groq", model="llama-3.1-8b-instant"))
    for n in range(68, 74):
        rows.append(log_row(n, NOW - 2 * 86_400_000 - n * 60_000, model="gpt-4o"))
    evil = log_row(74, NOW - 120_000, model="evil\x1b[2Jmodel", metadata={"user": "[red]mallory[/red]"})
    request, response = _openai(EVIL_PROMPT, "[link=http://x]click[/link] \x1b[5mblink\x1b[0m")
    rows.append(evil)
    bodies.append({"log_id": evil["id"], "request_headers": headers_in, "request_body": request,
                   "response_headers": headers_out, "response_body": response})  # fmt: skip
    return rows, bodies


async def build_store(path: Path) -> Store:
    store = await open_store(f"sqlite+aiosqlite:///{path}")
    async with store.sessions.begin() as session:
        await ensure_default_gateway(session, ACCOUNT)
    services = Services(store, account_id=ACCOUNT, clock=fixed_clock)
    await services.gateways.create("staging", {}, Actor("operator", "console"))
    rows, bodies = seed_logs()
    await LogWriter(store, lambda a, g: None).write(rows, bodies)
    return store


@pytest.fixture(scope="session")
def seeded_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seeded database, built once; each test gets a copy (migrating and seeding per test
    would cost more than most tests)."""
    path = tmp_path_factory.mktemp("seed") / "aigw.db"

    async def seed() -> None:
        store = await build_store(path)
        await store.close()

    asyncio.run(seed())
    return path


def copy_db(seeded_db: Path, target: Path) -> Path:
    """A consistent copy through SQLite's backup API (reads the WAL too, if one was left)."""
    source, copy = sqlite3.connect(seeded_db), sqlite3.connect(target)
    try:
        source.backup(copy)
    finally:
        copy.close()
        source.close()
    return target


@pytest.fixture
async def store(seeded_db: Path, tmp_path: Path) -> AsyncIterator[Store]:
    store = await open_store(f"sqlite+aiosqlite:///{copy_db(seeded_db, tmp_path / 'aigw.db')}")
    yield store
    await settle()
    await store.close()


@pytest.fixture
def feed() -> LiveFeed:
    """The live feed the console reads, started at the fixed clock (the seeded logs are history)."""
    return LiveFeed(fixed_clock)


@pytest.fixture
def bus(feed: LiveFeed) -> EventBus:
    """What the gateway publishes on: events published here reach ``feed``, as in the gateway."""
    bus = EventBus()
    bus.attach(feed)
    return bus


@pytest.fixture
def services(store: Store, bus: EventBus) -> Services:
    return Services(store, account_id=ACCOUNT, bus=bus, clock=fixed_clock)


ConsoleFactory = Callable[..., AigwConsole]


def _factory(services: Services, feed: LiveFeed, prefs_path: Path) -> ConsoleFactory:
    def make(**kwargs: Any) -> AigwConsole:
        options: dict[str, Any] = dict(
            gateway_url="http://127.0.0.1:8787/v1/local/default", account_id=ACCOUNT, clock=fixed_clock, tz=UTC,
            prefs_path=prefs_path,
        )  # fmt: skip
        options.update(kwargs)
        return listen(make_console(services, feed, **options))

    return make


@pytest.fixture
def console(services: Services, feed: LiveFeed, tmp_path: Path) -> ConsoleFactory:
    """Builds the App on the seeded store (call it; keyword arguments override make_console's)."""
    return _factory(services, feed, tmp_path / "console-prefs.json")


@pytest.fixture
def snapshot_console(seeded_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ConsoleFactory]:
    """The same, for synchronous snapshot tests (the App runs in snap_compare's own loop)."""
    monkeypatch.delenv("NO_COLOR", raising=False)

    async def open_copy() -> Store:
        store = await open_store(f"sqlite+aiosqlite:///{copy_db(seeded_db, tmp_path / 'aigw.db')}")
        await store.engine.dispose()  # no connection may outlive this loop
        return store

    store = asyncio.run(open_copy())
    feed = LiveFeed(fixed_clock)
    bus = EventBus()
    bus.attach(feed)
    yield _factory(Services(store, account_id=ACCOUNT, bus=bus, clock=fixed_clock), feed, tmp_path / "prefs.json")
