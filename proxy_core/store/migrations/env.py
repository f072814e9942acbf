"""Alembic environment: runs on the connection handed over by :mod:`proxy_core.store.migrate`."""

from alembic import context

from proxy_core.store.migrate import include_name
from proxy_core.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through proxy_core.store.migrate, which passes a connection")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    include_name=include_name,
)
with context.begin_transaction():
    context.run_migrations()
