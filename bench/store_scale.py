"""How the store answers on a million logs: a filtered, paged list and a 24 h analytics query.

``python -m bench.store_scale [--logs 1000000]`` builds a SQLite store through the real schema
(Alembic migrations), fills it with synthetic logs spread over 30 days (rows and their per-minute
rollups written with plain sqlite3 ``executemany`` for speed), then times the service-layer calls the
API and the console make. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from proxy_core.services import Services
from proxy_core.store.engine import open_store
from proxy_core.store.filters import Paging, parse_text
from proxy_core.store.logwriter import rollup_rows

PROVIDERS = [("openai", "gpt-4o-mini"), ("openai", "gpt-4o"), ("anthropic", "claude-3-5-haiku-latest"),
             ("google-ai-studio", "gemini-2.0-flash"), ("groq", "llama-3.1-8b-instant")]  # fmt: skip
USERS = ["alice", "bob", "carol", "dave", "erin", "frank"]
DAY_MS = 86_400_000


def _rows(n: int, now_ms: int, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        provider, model = PROVIDERS[i % len(PROVIDERS)]
        created = now_ms - int(rng.random() * 30 * DAY_MS)
        status = 200 if rng.random() > 0.03 else rng.choice([429, 500, 503])
        tokens_in, tokens_out = rng.randint(5, 2000), rng.randint(5, 800)
        rows.append({
            "id": f"{created:013d}{i:013d}", "account_id": "local", "gateway_id": "default", "created_at": created,
            "provider": provider, "model": model, "model_type": "text-generation", "path": "/chat/completions",
            "request_type": "provider", "method": "POST", "status_code": status, "success": status == 200,
            "error_code": None, "error": None if status == 200 else f"upstream answered {status}",
            "cached": rng.random() < 0.1, "step": 0, "event_id": None, "duration": rng.randint(50, 4000),
            "ttfb": 40, "tokens_in": tokens_in, "tokens_out": tokens_out, "cost": (tokens_in + 4 * tokens_out) / 1e6,
            "custom_cost": False, "metadata": f'{{"user": "{rng.choice(USERS)}"}}', "feedback": rng.choice([0, 0, 0, 1, -1]),
            "score": None, "guardrails": None, "request_content_type": "application/json",
            "response_content_type": "application/json", "request_size": 300, "response_size": 450,
            "body_stored": False, "body_truncated": False, "streamed": False,
        })  # fmt: skip
    return rows


def _fill(path: Path, n: int, now_ms: int) -> float:
    started = time.perf_counter()
    db = sqlite3.connect(path)
    columns = list(_rows(1, now_ms)[0])
    insert = f"INSERT INTO logs ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    for start in range(0, n, 50_000):
        rows = _rows(min(50_000, n - start), now_ms, seed=start)
        db.executemany(insert, [tuple(r[c] for c in columns) for r in rows])
        for r in rows:
            r["metadata"] = None
        rollups = rollup_rows(rows)
        keys = list(rollups[0])
        db.executemany(
            f"INSERT INTO log_rollups ({', '.join(keys)}) VALUES ({', '.join('?' * len(keys))}) "
            "ON CONFLICT DO UPDATE SET requests = requests + excluded.requests, errors = errors + excluded.errors, "
            "tokens_in = tokens_in + excluded.tokens_in, tokens_out = tokens_out + excluded.tokens_out, "
            "cost = cost + excluded.cost, duration_sum = duration_sum + excluded.duration_sum",
            [tuple(r[k] for k in keys) for r in rollups],
        )
        db.commit()
    db.execute("ANALYZE")
    db.close()
    return time.perf_counter() - started


async def _time(label: str, call, repeat: int = 5) -> None:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = await call()
        times.append((time.perf_counter() - started) * 1000)
    print(f"  {label:58} median {statistics.median(times):8.1f} ms   ({result})")


async def main(n: int) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="aigw-store-"))
    url = f"sqlite+aiosqlite:///{workdir / 'aigw.db'}"
    store = await open_store(url)  # migrations
    await store.close()
    now_ms = int(time.time() * 1000)
    print(f"store_scale: filling {n:,} logs into {workdir} …")
    print(f"  filled in {_fill(workdir / 'aigw.db', n, now_ms):.1f} s")
    store = await open_store(url)
    services = Services(store, account_id="local")
    paging = Paging(page=1, per_page=50)
    newest = parse_text("")
    filtered = parse_text("provider:anthropic status:error cost>0.0005", now_ms=now_ms)
    meta = parse_text("meta.user=alice feedback:1 since:7d", now_ms=now_ms)

    async def page(f, count=True):
        result = await services.logs.list("default", f, paging, count=count)
        return f"{len(result.items)} rows, total {result.total_count:,}" if count else f"{len(result.items)} rows"

    await _time("newest page of 50 (no filter, with total count)", lambda: page(newest))
    await _time("newest page of 50 (no filter, no count)", lambda: page(newest, False))
    await _time("page of 50: provider:anthropic status:error cost>0.0005", lambda: page(filtered))
    await _time("page of 50: meta.user=alice feedback:1 since:7d", lambda: page(meta))

    async def series(hours: int, bucket: str):
        points = await services.analytics.series("default", now_ms - hours * 3_600_000, now_ms, bucket, "provider")
        return f"{len(points)} points"

    await _time("analytics 24 h by minute, grouped by provider", lambda: series(24, "minute"))
    await _time("analytics 30 d by hour, grouped by provider", lambda: series(720, "hour"))
    await store.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--logs", type=int, default=1_000_000)
    asyncio.run(main(parser.parse_args().logs))
