"""Log rows as the log writer stores them, a SQLite store to put them in, and writing them through
the real writer (so the rollups are kept as in the gateway): shared by the store's unit tests."""

from __future__ import annotations

from typing import Any

from proxy_core.store.engine import Store, open_store
from proxy_core.store.logwriter import LogWriter


def log_row(n: int, created_at: int, **fields: Any) -> dict[str, Any]:
    row = {
        "id": f"{n:026d}", "account_id": "local", "gateway_id": "default", "created_at": created_at,
        "provider": "openai", "model": "gpt-4o-mini", "model_type": "text-generation", "path": "/chat/completions",
        "request_type": "provider", "method": "POST", "status_code": 200, "success": True, "error_code": None,
        "error": None, "cached": False, "step": 0, "event_id": None, "duration": 10, "ttfb": 5, "tokens_in": 1,
        "tokens_out": 2, "cost": 0.5, "custom_cost": False, "metadata": None, "feedback": 0, "score": None,
        "guardrails": None, "request_content_type": "application/json", "response_content_type": "application/json",
        "request_size": 2, "response_size": 2, "body_stored": False, "body_truncated": False, "streamed": False,
        "worker_id": None,
    }  # fmt: skip
    row.update(fields)
    return row


def before_worker_ids(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows as a store older than migration 0008 (no ``worker_id`` column) takes them."""
    return [{key: value for key, value in row.items() if key != "worker_id"} for row in rows]


async def open_sqlite_store(path: Any) -> Store:
    return await open_store(f"sqlite+aiosqlite:///{path}")


async def write_logs(store: Store, rows: list[dict[str, Any]], batch: int = 500) -> None:
    """Through the log writer, ``batch`` rows at a time."""
    writer = LogWriter(store, lambda a, g: None)
    try:
        for start in range(0, len(rows), batch):
            await writer.write(rows[start : start + batch], [])
    finally:
        await writer.close()
