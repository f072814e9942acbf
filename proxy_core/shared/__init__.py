"""State shared by every gateway process through Redis (or Valkey), when ``[redis] url`` is set:
rate-limit counts (:mod:`~proxy_core.shared.limits`), the cache's hot layer
(:mod:`proxy_core.cache.redis_layer`), settings and token changes and the live tail
(:mod:`~proxy_core.shared.broadcast`), over one bounded, self-healing connection
(:mod:`~proxy_core.shared.link`). Without Redis, or while it is down, each process does the same
on its own.
"""

from __future__ import annotations

from proxy_core.shared.broadcast import Broadcaster, BroadcastingDirectory
from proxy_core.shared.limits import RedisRateLimits
from proxy_core.shared.link import RedisLink, RedisUnavailable

__all__ = ["Broadcaster", "BroadcastingDirectory", "RedisLink", "RedisRateLimits", "RedisUnavailable"]
