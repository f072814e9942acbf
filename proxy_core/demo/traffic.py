"""The demo's synthetic client: varied traffic through the gateway so a newcomer sees a living console.

It sends the prompts in ``sample_data/demo_prompts.toml`` through the real proxy (OpenAI and
Anthropic shapes, some streamed, some repeated with a cache TTL so they hit the cache, a few that
the mock answers with an error), with ``cf-aig-metadata`` naming the user and team.
"""

from __future__ import annotations

import asyncio
import logging
import random
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson

__all__ = ["DemoPrompt", "load_prompts", "run_demo_traffic"]

log = logging.getLogger(__name__)

_PROMPTS_FILE = Path(__file__).resolve().parents[1] / "sample_data" / "demo_prompts.toml"
_FALLBACK = [{"user": "demo", "team": "demo", "provider": "openai", "model": "gpt-4o-mini", "text": "Hello, gateway!"}]


@dataclass(frozen=True, slots=True)
class DemoPrompt:
    user: str
    team: str
    provider: str
    model: str
    text: str
    kind: str = "chat"


def load_prompts(path: Path = _PROMPTS_FILE) -> list[DemoPrompt]:
    try:
        entries = tomllib.loads(path.read_text(encoding="utf-8")).get("prompt", [])
    except OSError:
        entries = _FALLBACK  # installed without sample_data: still a living demo
    return [DemoPrompt(**entry) for entry in entries]


def _request(prompt: DemoPrompt, stream: bool) -> tuple[str, dict[str, Any]]:
    if prompt.kind == "embeddings":
        return "/openai/embeddings", {"model": prompt.model, "input": prompt.text}
    if prompt.provider == "anthropic":
        return "/anthropic/v1/messages", {
            "model": prompt.model, "max_tokens": 256, "stream": stream,
            "messages": [{"role": "user", "content": prompt.text}],
        }  # fmt: skip
    body: dict[str, Any] = {"model": prompt.model, "messages": [{"role": "user", "content": prompt.text}]}
    if stream:
        body.update(stream=True, stream_options={"include_usage": True})
    return "/openai/chat/completions", body


async def run_demo_traffic(gateway_url: str, *, rate: float = 2.0, seed: int | None = None) -> None:
    """Send about ``rate`` requests a second until cancelled."""
    prompts = load_prompts()
    rng = random.Random(seed)
    pending: set[asyncio.Task[None]] = set()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        while True:
            await asyncio.sleep(rng.expovariate(rate))
            prompt = rng.choice(prompts)
            path, body = _request(prompt, stream=rng.random() < 0.3)
            headers = {
                "authorization": "Bearer demo-key",
                "x-api-key": "demo-key",
                "cf-aig-metadata": orjson.dumps({"user": prompt.user, "team": prompt.team}).decode(),
            }
            roll = rng.random()
            if roll < 0.05:
                headers["x-mock-status"] = rng.choice(["429", "500", "503"])
            elif roll < 0.35:
                headers["cf-aig-cache-ttl"] = "300"
            task = asyncio.get_running_loop().create_task(_send(session, gateway_url + path, body, headers))
            pending.add(task)
            task.add_done_callback(pending.discard)


async def _send(session: aiohttp.ClientSession, url: str, body: dict[str, Any], headers: dict[str, str]) -> None:
    try:
        async with session.post(url, json=body, headers=headers) as resp:
            await resp.read()
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        log.debug("demo request failed: %s", exc)
