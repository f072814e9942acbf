"""Engine creation, SQLite pragmas and schema migration at start-up."""

from __future__ import annotations

import logging

import orjson
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from proxy_core.config import ConfigError
from proxy_core.store.migrate import upgrade_to_head

__all__ = ["open_store", "Store", "display_url"]

log = logging.getLogger(__name__)


class Store:
    """The engine and its session factory; ``is_sqlite`` lets the few dialect-specific paths branch."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)
        self.is_sqlite = engine.dialect.name == "sqlite"

    async def close(self) -> None:
        await self.engine.dispose()


def _json_dumps(value: object) -> str:
    return orjson.dumps(value).decode()


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001 - DBAPI types
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _prepare_sqlite_path(url: str) -> None:
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    parent = Path(database).expanduser().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"config key [store] url: cannot create directory {parent}: {exc.strerror}") from None
    probe = parent / ".aigw-write-test"
    try:
        probe.touch()
        probe.unlink()
    except OSError as exc:
        raise ConfigError(f"config key [store] url: directory {parent} is not writable: {exc.strerror}") from None


def display_url(url: str) -> str:
    """A store URL fit to print: the password hidden."""
    return make_url(url).render_as_string(hide_password=True)


async def open_store(url: str) -> Store:
    """Open (creating if needed) the store at ``url`` and migrate it to the current schema."""
    try:
        parsed = make_url(url)
    except Exception:
        raise ConfigError(f"config key [store] url: {url!r} is not a database URL") from None
    is_sqlite = parsed.get_backend_name() == "sqlite"
    if is_sqlite:
        _prepare_sqlite_path(url)
    try:
        engine = create_async_engine(url, pool_pre_ping=not is_sqlite, json_serializer=_json_dumps)
    except Exception as exc:  # unknown driver, bad URL parts
        raise ConfigError(f"config key [store] url: {exc}") from None
    if is_sqlite:
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(upgrade_to_head)
    except Exception as exc:
        await engine.dispose()
        raise ConfigError(f"config key [store] url: cannot open the store: {exc}") from None
    return Store(engine)
