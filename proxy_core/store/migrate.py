"""Alembic, driven programmatically on the store's own connection (no ``alembic.ini`` needed)."""

from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

__all__ = ["alembic_config", "upgrade_to_head", "include_name"]


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("proxy_core.store").joinpath("migrations")))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade_to_head(connection: Connection) -> None:
    """Bring the schema to the newest revision (run through ``AsyncConnection.run_sync``)."""
    command.upgrade(alembic_config(connection), "head")


def include_name(name: str | None, type_: str, _parent_names: object) -> bool:
    """Autogenerate ignores the search index: FTS5 tables are made by hand in the migrations."""
    return not (type_ == "table" and name is not None and (name.startswith("logs_fts") or name == "fts_pending"))
