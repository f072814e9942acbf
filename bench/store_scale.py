"""How the store answers on a million logs: pages of 50 under a matrix of filters, counts, analytics.

``python -m bench.store_scale [--logs 1000000]`` builds a SQLite store through the real schema
(Alembic migrations), fills it with synthetic logs spread over 30 days in time order, as the
gateway writes them (rows and their rollups written with plain sqlite3 ``executemany`` for
speed), then times the service-layer calls the API and the console make. ``--db PATH`` reuses a
store filled by an earlier run (``--keep`` keeps it): opening it runs any newer migration, and
the time that took is printed. Not part of the test suite.

Each filter of the matrix is timed twice: the page alone (``count=False``, what paging does) and
the page with its total (what a new filter shows); a total marked ``~`` is an estimate.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, Awaitable, Callable

from proxy_core.services import Services
from proxy_core.store.engine import open_store
from proxy_core.store.filters import Paging, parse_text
from proxy_core.store.logsql import ANALYZE_LOGS
from proxy_core.store.rollups import rollup_rows

PROVIDERS = [("openai", "gpt-4o-mini"), ("openai", "gpt-4o"), ("anthropic", "claude-3-5-haiku-latest"),
             ("google-ai-studio", "gemini-2.0-flash"), ("groq", "llama-3.1-8b-instant")]  # fmt: skip
RARE = ("mistral", "mistral-large-latest")
"""One log in 200 goes to a rarely used provider, so the matrix has a rare value to find."""
USERS = ["alice", "bob", "carol", "dave", "erin", "frank"]
DAY_MS = 86_400_000
SPAN_MS = 30 * DAY_MS
CHUNK = 50_000

ONE_KEY = [
    "provider:anthropic", "provider:mistral", "model:gpt-4o", "-provider:openai", "model~mini", "status:error",
    "status:500", "cost>0.004", "tokens<100", "duration>3900", "meta.user=alice", "feedback:1", "feedback:-1",
    "cached:true", "error~503", "since:1h", "since:7d", "event:evt-500000", "alice",
]  # fmt: skip
TWO_KEY = [
    "provider:anthropic status:error", "provider:anthropic cost>0.0005", "model:gpt-4o cached:true",
    "meta.user=alice feedback:1", "meta.user=alice since:7d", "status:error since:24h", "feedback:-1 provider:groq",
    "cost>0.004 status:error", "provider:mistral since:7d", "tokens<100 model:gpt-4o-mini",
]  # fmt: skip
README_FILTERS = ["provider:anthropic status:error cost>0.0005", "meta.user=alice feedback:1 since:7d"]


def _rows(n: int, first: int, total: int, now_ms: int) -> list[dict]:
    """Logs ``first`` .. ``first + n - 1`` of ``total``, evenly spread over the last 30 days, oldest first."""
    rng = random.Random(first)
    rows = []
    for i in range(first, first + n):
        provider, model = RARE if i % 200 == 199 else PROVIDERS[i % len(PROVIDERS)]
        created = now_ms - SPAN_MS + (i * SPAN_MS) // total + rng.randrange(1_000)
        status = 200 if rng.random() > 0.03 else rng.choice([429, 500, 503])
        tokens_in, tokens_out = rng.randint(5, 2000), rng.randint(5, 800)
        rows.append({
            "id": f"{created:013d}{i:013d}", "account_id": "local", "gateway_id": "default", "created_at": created,
            "provider": provider, "model": model, "model_type": "text-generation", "path": "/chat/completions",
            "request_type": "provider", "method": "POST", "status_code": status, "success": status == 200,
            "error_code": None, "error": None if status == 200 else f"upstream answered {status}",
            "cached": rng.random() < 0.1, "step": 0, "event_id": f"evt-{i}" if i % 100 == 0 else None,
            "duration": rng.randint(50, 4000), "ttfb": 40, "tokens_in": tokens_in, "tokens_out": tokens_out,
            "cost": (tokens_in + 4 * tokens_out) / 1e6, "custom_cost": False,
            "metadata": f'{{"user": "{rng.choice(USERS)}"}}', "feedback": rng.choice([0, 0, 0, 1, -1]),
            "score": None, "guardrails": None, "request_content_type": "application/json",
            "response_content_type": "application/json", "request_size": 300, "response_size": 450,
            "body_stored": False, "body_truncated": False, "streamed": False,
            "worker_id": None,
        })  # fmt: skip
    return rows


def _rollup_tables(db: sqlite3.Connection) -> list[tuple[str, int]]:
    """The rollup tables this schema has, with their bucket size (an older schema has no hourly one)."""
    tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return [(name, size) for name, size in (("log_rollups", 60_000), ("log_rollups_hourly", 3_600_000)) if name in tables]


def _fill(path: Path, n: int, now_ms: int) -> float:
    started = time.perf_counter()
    db = sqlite3.connect(path)
    columns = list(_rows(1, 0, 1, now_ms)[0])
    insert = f"INSERT INTO logs ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    tables = _rollup_tables(db)
    for start in range(0, n, CHUNK):
        rows = _rows(min(CHUNK, n - start), start, n, now_ms)
        db.executemany(insert, [tuple(r[c] for c in columns) for r in rows])
        for table, size in tables:
            rollups = rollup_rows(rows)
            for r in rollups:
                r["bucket"] -= r["bucket"] % size
            keys = list(rollups[0])
            db.executemany(
                f"INSERT INTO {table} ({', '.join(keys)}) VALUES ({', '.join('?' * len(keys))}) "
                "ON CONFLICT DO UPDATE SET requests = requests + excluded.requests, errors = errors + excluded.errors, "
                "tokens_in = tokens_in + excluded.tokens_in, tokens_out = tokens_out + excluded.tokens_out, "
                "cost = cost + excluded.cost, duration_sum = duration_sum + excluded.duration_sum",
                [tuple(r[k] for k in keys) for r in rollups],
            )
        db.commit()
    for statement in ANALYZE_LOGS:  # the statistics the log writer keeps, not a full ANALYZE
        db.execute(statement)
    db.commit()
    db.close()
    return time.perf_counter() - started


async def _median_ms(call: Callable[[], Awaitable[Any]], repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = await call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), result


def _total(page: Any) -> str:
    estimated = getattr(page, "total_is_estimate", False)
    return ("~" if estimated else "") + f"{page.total_count:,}"


async def main(n: int, db: Path | None, keep: bool, repeat: int) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="aigw-store-"))
    path = workdir / "aigw.db"
    url = f"sqlite+aiosqlite:///{path}"
    if db is not None:
        shutil.copyfile(db, path)
        started = time.perf_counter()
        await (await open_store(url)).close()  # newer migrations run here
        print(f"store_scale: reusing {db} ({n:,} logs assumed); opening it took {time.perf_counter() - started:.1f} s")
        now_ms = sqlite3.connect(path).execute("SELECT max(created_at) FROM logs").fetchone()[0]
    else:
        await (await open_store(url)).close()  # migrations
        now_ms = int(time.time() * 1000)
        print(f"store_scale: filling {n:,} logs into {workdir} …")
        print(f"  filled in {_fill(path, n, now_ms):.1f} s")
    store = await open_store(url)
    services = Services(store, account_id="local")
    paging = Paging(page=1, per_page=50)

    print(f"  {'page of 50 under':46} {'page':>9} {'+ total':>9}   total")
    worst = 0.0
    for text in ["", *ONE_KEY, *TWO_KEY, *README_FILTERS]:
        log_filter = parse_text(text, now_ms=now_ms)
        bare, page = await _median_ms(lambda: services.logs.list("default", log_filter, paging, count=False), repeat)
        counted, page = await _median_ms(lambda: services.logs.list("default", log_filter, paging), repeat)
        worst = max(worst, bare, counted)
        print(f"  {text or '(no filter)':46} {bare:7.1f}ms {counted:7.1f}ms   {len(page.items)} rows of {_total(page)}")
    print(f"  slowest of the matrix: {worst:.1f} ms")
    later, _ = await _median_ms(lambda: services.logs.list("default", parse_text(""), Paging(page=50, per_page=50), count=False), repeat)
    print(f"  {'page 50 of the newest (no count)':46} {later:7.1f}ms")
    every, _ = await _median_ms(lambda: services.logs.list(None, parse_text(""), paging, count=False), repeat)
    print(f"  {'newest 50 of every gateway (the live tail)':46} {every:7.1f}ms")
    exact, total = await _median_ms(lambda: services.logs.count("default", parse_text("")), repeat)
    print(f"  {'exact count (no filter)':46} {exact:7.1f}ms   {total:,}")

    async def series(hours: int, bucket: str) -> str:
        points = await services.analytics.series("default", now_ms - hours * 3_600_000, now_ms, bucket, "provider")
        return f"{len(points)} points"

    for label, hours, bucket in (("24 h by minute", 24, "minute"), ("30 d by hour", 720, "hour"), ("30 d by day", 720, "day")):
        took, result = await _median_ms(lambda: series(hours, bucket), repeat)
        print(f"  {'analytics ' + label + ', grouped by provider':46} {took:7.1f}ms   {result}")
    took, _ = await _median_ms(lambda: services.analytics.totals("default", now_ms - SPAN_MS, now_ms), repeat)
    print(f"  {'analytics totals over 30 d':46} {took:7.1f}ms")
    await store.close()
    if keep:
        print(f"  kept {path}")
    else:
        shutil.rmtree(workdir)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--logs", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, help="reuse a store an earlier --keep run filled (copied, not changed)")
    parser.add_argument("--keep", action="store_true", help="keep the filled store and print its path")
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure (the median is printed)")
    args = parser.parse_args()
    asyncio.run(main(args.logs, args.db, args.keep, args.repeat))
