"""The store: typed models, engine and migrations, and async functions that take a session."""

from proxy_core.store.engine import Store, open_store
from proxy_core.store.logwriter import LogWriter

__all__ = ["Store", "open_store", "LogWriter"]
