"""What each index on ``logs`` costs the log writer: rows/s through the real SQLite write path.

``python -m bench.store_indexes [--prefill 200000] [--rows 40000]`` makes a store with the real
schema (Alembic migrations), drops every secondary index of ``logs``, then for each variant (no
index, each index alone, the old schema's set, the current set) recreates those indexes on a copy
prefilled with ``--prefill`` logs (so the b-trees have a realistic depth) and times inserting
``--rows`` more logs, with bodies and rollups, through :class:`SqliteLogStore` in batches of the
pipeline's default size: the statements, bind processing and transaction the gateway uses.
Variants run ``--rounds`` times, interleaved, and the best round counts; the figure is rows per
CPU second of the process (the writer thread's work), which other processes on a shared machine
disturb far less than wall time. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

import orjson

from bench.store_scale import _rows
from proxy_core.config import LogSettings
from proxy_core.store.engine import open_store
from proxy_core.store.rollups import batch_rollups
from proxy_core.store.sqlite_logstore import SqliteLogStore

OLD = {
    "ix_logs_gateway_created": "(account_id, gateway_id, created_at)",
    "ix_logs_gateway_provider_model": "(gateway_id, provider, model)",
    "ix_logs_event_id": "(event_id)",
}
"""The indexes of ``logs`` before migration 0005: name → what follows ``ON logs``."""
CANDIDATES = {
    "ix_logs_account_created": "(account_id, created_at)",
    "ix_logs_gateway_provider_created": "(account_id, gateway_id, provider, created_at)",
    "ix_logs_gateway_model_created": "(account_id, gateway_id, model, created_at)",
}
"""Indexes considered for the filters and the million-log page."""
REQUEST = orjson.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hello " * 40}]})
RESPONSE = orjson.dumps({"id": "c1", "object": "chat.completion", "choices": [{"message": {"content": "Hello! " * 60}}]})


def _indexes(path: Path) -> dict[str, str]:
    """The secondary indexes of ``logs`` in ``path``: name → what follows ``ON logs``."""
    db = sqlite3.connect(path)
    try:
        found = db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'logs' AND sql IS NOT NULL")
        return {name: sql.split(" ON logs ", 1)[1] for name, sql in found}
    finally:
        db.close()


def _prepare(template: Path, path: Path, indexes: dict[str, str], prefill: int, now_ms: int) -> None:
    shutil.copyfile(template, path)
    db = sqlite3.connect(path)
    for name, definition in indexes.items():
        db.execute(f"CREATE INDEX {name} ON logs {definition}")
    rows = _rows(prefill, 0, prefill * 2, now_ms)
    columns = list(rows[0])
    db.executemany(
        f"INSERT INTO logs ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
        [tuple(r[c] for c in columns) for r in rows],
    )
    db.commit()
    db.close()


async def _insert_rate(path: Path, dialect, rows: int, prefill: int, now_ms: int, batch: int) -> float:  # noqa: ANN001
    logs = _rows(rows, prefill, prefill * 2, now_ms)
    for row in logs:
        row["metadata"] = orjson.loads(row["metadata"])
        row["body_stored"] = True
    bodies = [
        {"log_id": r["id"], "request_headers": {"content-type": "application/json"}, "request_body": REQUEST,
         "response_headers": {"content-type": "application/json"}, "response_body": RESPONSE}
        for r in logs
    ]  # fmt: skip
    store = SqliteLogStore(str(path), dialect)
    try:
        started = time.process_time()
        for start in range(0, rows, batch):
            chunk = logs[start : start + batch]
            await store.store(chunk, bodies[start : start + batch], batch_rollups(chunk), {})
        return rows / (time.process_time() - started)
    finally:
        await store.close()


async def main(prefill: int, rows: int, rounds: int) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="aigw-indexes-"))
    template = workdir / "template.db"
    store = await open_store(f"sqlite+aiosqlite:///{template}")
    dialect = store.engine.dialect
    await store.close()
    current = _indexes(template)
    db = sqlite3.connect(template)
    for name in current:
        db.execute(f"DROP INDEX {name}")
    db.commit()
    db.close()
    variants = {"none (primary key only)": {}}
    for name, definition in [*OLD.items(), *CANDIDATES.items(), *current.items()]:
        if {name: definition} not in variants.values():
            variants[f"{name} alone" + (" (0005)" if f"{name} alone" in variants else "")] = {name: definition}
    variants["old schema (before 0005)"] = OLD
    variants["current schema"] = current
    now_ms = int(time.time() * 1000)
    batch = LogSettings().batch_size
    best: dict[str, float] = {}
    print(f"store_indexes: {rows:,} logs with bodies in batches of {batch} on top of {prefill:,}, best of {rounds}")
    for _ in range(rounds):
        for label, indexes in variants.items():
            path = workdir / "bench.db"
            _prepare(template, path, indexes, prefill, now_ms)
            rate = await _insert_rate(path, dialect, rows, prefill, now_ms, batch)
            best[label] = max(best.get(label, 0.0), rate)
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
    base = best["none (primary key only)"]
    for label, indexes in variants.items():
        columns = "; ".join(indexes.values()) or "-"
        print(f"  {label:44} {best[label]:9,.0f} rows/CPU-s  {best[label] / base - 1:+6.1%}   {columns}")
    shutil.rmtree(workdir)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prefill", type=int, default=200_000)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.prefill, args.rows, args.rounds))
