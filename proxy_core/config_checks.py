"""Checks of the ``[redis]`` and ``[logpush]`` sections, run by :func:`proxy_core.config.load_settings`
(kept apart so the settings module stays one screenful of sections and their loading)."""

from __future__ import annotations

from proxy_core.config import ConfigError, LogpushSettings, RedisSettings

__all__ = ["LOGPUSH_SCHEMES", "REDIS_SCHEMES", "check_logpush", "check_redis"]

LOGPUSH_SCHEMES = ("file://", "http://", "https://", "s3://")
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def check_redis(redis: RedisSettings) -> None:
    if redis.url and not redis.url.startswith(REDIS_SCHEMES):
        raise ConfigError(f"config key [redis] url: must start with {', '.join(REDIS_SCHEMES)}")
    if redis.timeout <= 0 or redis.reconnect_max_delay <= 0 or redis.ack_timeout <= 0:
        raise ConfigError("config keys [redis] timeout, reconnect_max_delay and ack_timeout: must be positive seconds")
    if not redis.prefix or any(c in redis.prefix for c in " *?[]"):
        raise ConfigError("config key [redis] prefix: must be non-empty, without spaces or *?[]")


def check_logpush(logpush: LogpushSettings) -> None:
    if logpush.destination and not logpush.destination.startswith(LOGPUSH_SCHEMES):
        raise ConfigError(
            f"config key [logpush] destination: {logpush.destination!r} must start with {', '.join(LOGPUSH_SCHEMES)}"
        )
    if logpush.destination.startswith("s3://") and not logpush.destination[5:].split("/", 1)[0]:
        raise ConfigError("config key [logpush] destination: s3:// needs a bucket (s3://BUCKET/PREFIX)")
    if logpush.destination.startswith("file://") and not logpush.destination[7:].startswith("/"):
        raise ConfigError("config key [logpush] destination: file:// needs an absolute directory (file:///DIR)")
    if logpush.endpoint and not logpush.endpoint.startswith(("http://", "https://")):
        raise ConfigError("config key [logpush] endpoint: must start with http:// or https://")
    if logpush.interval <= 0 or logpush.timeout <= 0:
        raise ConfigError("config keys [logpush] interval and timeout: must be positive seconds")
    if logpush.max_batch <= 0:
        raise ConfigError("config key [logpush] max_batch: must be positive")
    if logpush.spool_max_bytes <= 0:
        raise ConfigError("config key [logpush] spool_max_bytes: must be positive")
