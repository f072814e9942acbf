"""The exact-match response cache: keys, TTLs, the backend protocol, the SQL backend and its janitor.

Only successful answers are cached, by the proxy; this package decides what a key is, where
entries live and when they go. See :mod:`proxy_core.cache.keys` for which headers change a key.
"""

from proxy_core.cache.backend import CacheBackend, CachedResponse
from proxy_core.cache.janitor import CacheJanitor
from proxy_core.cache.keys import (
    ANSWER_HEADER_PREFIXES,
    ANSWER_HEADERS,
    CREDENTIAL_HEADERS,
    CREDENTIAL_QUERY_PARAMS,
    MAX_CACHEABLE_BYTES,
    MAX_TTL,
    MIN_TTL,
    cache_key,
    custom_cache_key,
    ttl_from_header,
)
from proxy_core.cache.memory import MemoryLru
from proxy_core.cache.sql import SqlCacheBackend

__all__ = [
    "CachedResponse",
    "CacheBackend",
    "SqlCacheBackend",
    "MemoryLru",
    "CacheJanitor",
    "cache_key",
    "custom_cache_key",
    "ttl_from_header",
    "MAX_CACHEABLE_BYTES",
    "MIN_TTL",
    "MAX_TTL",
    "ANSWER_HEADERS",
    "ANSWER_HEADER_PREFIXES",
    "CREDENTIAL_HEADERS",
    "CREDENTIAL_QUERY_PARAMS",
]
