"""One typed settings object: defaults, then the TOML file, then ``AIGW_*`` env, then flags.

Every section is a frozen dataclass whose field docstrings are the contract. Unknown keys and
wrong types raise :class:`ConfigError` with one line naming the key, so a bad file fails at start
instead of deep inside a request.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

__all__ = [
    "ConfigError",
    "ServerSettings",
    "StoreSettings",
    "ApiSettings",
    "LogSettings",
    "CacheSettings",
    "GuardrailSettings",
    "LogpushSettings",
    "ProviderSettings",
    "RedisSettings",
    "Settings",
    "load_settings",
    "default_data_dir",
]


class ConfigError(ValueError):
    """A configuration problem, phrased as one line that names the offending key."""


def default_data_dir() -> Path:
    """``$AIGW_DATA_DIR``, else ``$XDG_DATA_HOME/aigw-console``, else ``~/.local/share/aigw-console``."""
    explicit = os.environ.get("AIGW_DATA_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "aigw-console"


@dataclass(frozen=True, slots=True)
class ServerSettings:
    host: str = "127.0.0.1"
    """Address the proxy listens on."""
    port: int = 8787
    """TCP port the proxy listens on (0 picks a free one)."""
    account_id: str = "local"
    """The account segment of every URL: ``/v1/{account_id}/{gateway_id}/…``."""
    max_body_bytes: int = 25 * 1024 * 1024
    """Largest request body accepted; larger ones get a 413 before being read."""
    body_read_timeout: float = 30.0
    """Seconds a client may take to send its whole request body."""
    idle_timeout: float = 30.0
    """Seconds a connection may sit without a complete request (cuts off clients trickling headers)."""
    upstream_connect_timeout: float = 10.0
    """Seconds to open a connection to a provider."""
    upstream_timeout: float = 600.0
    """Seconds to wait for a provider's first response byte (``cf-aig-request-timeout`` overrides)."""
    upstream_connection_limit: int = 256
    """Most concurrent upstream connections kept by the shared pool."""
    access_log: bool = True
    """In ``--headless`` mode, print one compact line per request to stdout."""


@dataclass(frozen=True, slots=True)
class StoreSettings:
    url: str = ""
    """SQLAlchemy async URL; empty means ``sqlite+aiosqlite:///{data_dir}/aigw.db``."""
    data_dir: str = ""
    """Directory for the database, the admin token file and exports; empty means the default."""


@dataclass(frozen=True, slots=True)
class ApiSettings:
    admin_token: str = ""
    """Bearer token for the management API; empty means read or generate ``admin_token`` in the data dir."""


OVERLOAD_MODES = ("backpressure", "drop")


@dataclass(frozen=True, slots=True)
class LogSettings:
    queue_max_entries: int = 50_000
    """Most finished requests buffered in memory while waiting for the store."""
    queue_max_bytes: int = 256 * 1024 * 1024
    """Most body bytes buffered in memory while waiting for the store."""
    batch_size: int = 800
    """Most rows written in one transaction (one multi-row statement per table)."""
    max_stored_body_bytes: int = 10 * 1024 * 1024
    """Bodies larger than this are not stored; the log row is, flagged ``body_truncated``."""
    retry_delay: float = 0.5
    """Seconds to wait before retrying a batch the store refused (doubles up to 10 s)."""
    linger: float = 0.05
    """Seconds the writer waits for a batch to fill before writing a partial one."""
    overload: str = "backpressure"
    """When the queue is full: ``backpressure`` (new requests wait for room, up to
    ``backpressure_timeout``, then get 503 code 2019) or ``drop`` (requests go on, their logs are
    dropped and counted). Either way ``/healthz`` says so."""
    backpressure_timeout: float = 10.0
    """Seconds a request waits for room in a full queue before it is answered 503 (``backpressure``)."""
    flush_interval: float = 1.0
    """The crash bound: a log row not in the store after this many seconds is copied to the crash
    spool (``{data_dir}/log-spool``), so a ``kill -9`` loses at most this much traffic; 0 turns the
    spool off."""
    spool_max_bytes: int = 512 * 1024 * 1024
    """Most bytes the crash spool holds; rows past it stay in memory only (counted)."""


@dataclass(frozen=True, slots=True)
class CacheSettings:
    share_across_credentials: bool = False
    """Let requests with different API keys share cache entries (off: keys never share)."""
    memory_bytes: int = 64 * 1024 * 1024
    """Size of the in-memory layer in front of the cache table."""
    read_timeout: float = 0.05
    """Seconds a request waits for the cache table on a memory miss; a slower read is a miss."""


@dataclass(frozen=True, slots=True)
class GuardrailSettings:
    evaluator: str = "builtin"
    """Which evaluator judges content: ``builtin``, ``llama-guard`` or ``openai-moderation``."""
    timeout: float = 10.0
    """Seconds one evaluator call may take before it counts as unreachable."""
    cache_seconds: float = 60.0
    """How long a verdict is reused for identical content."""
    options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Per-evaluator options from ``[guardrails.NAME]`` tables (base_url, model, api_key, …)."""


@dataclass(frozen=True, slots=True)
class RedisSettings:
    url: str = ""
    """Redis (or Valkey) shared by every gateway process: ``redis://[:password@]host:port/db``,
    ``rediss://…`` (TLS) or ``unix:///path/redis.sock``; empty means no Redis (each process counts
    its own rate limits, keeps its own cache memory and polls the store for settings)."""
    prefix: str = "aigw"
    """Start of every key and channel name, so several deployments can share one Redis."""
    timeout: float = 0.1
    """Seconds one Redis call on the request path (a rate-limit check, a cache read) may take;
    a slower call is answered without Redis (per-process count, cache miss)."""
    reconnect_max_delay: float = 5.0
    """Longest wait between reconnection attempts while Redis is down (the wait doubles from 0.1 s)."""
    ack_timeout: float = 2.0
    """Longest a settings or token change waits for the other processes to say they applied it
    (then it returns; the late ones apply it when the message reaches them, or at their poll)."""


@dataclass(frozen=True, slots=True)
class LogpushSettings:
    destination: str = ""
    """Where encrypted logs go: ``file:///DIR``, ``http(s)://…`` (one POST per file) or
    ``s3://BUCKET/PREFIX`` (any S3-compatible store); empty turns Logpush off."""
    endpoint: str = ""
    """For ``s3://``: the store's URL (``http://127.0.0.1:9000`` for MinIO); empty means AWS S3 in ``region``."""
    region: str = "us-east-1"
    """For ``s3://``: the region requests are signed for."""
    access_key_id: str = ""
    """For ``s3://``: the access key id (or ``AWS_ACCESS_KEY_ID``)."""
    secret_access_key: str = ""
    """For ``s3://``: the secret access key (or ``AWS_SECRET_ACCESS_KEY``); never logged."""
    authorization: str = ""
    """For ``http(s)://``: an ``Authorization`` header value sent with every file."""
    interval: float = 30.0
    """Seconds between batches: a gateway's records wait at most this long before they are pushed."""
    max_batch: int = 1000
    """Most records in one file; a full batch is pushed at once."""
    spool_max_bytes: int = 256 * 1024 * 1024
    """Most bytes of files waiting for delivery in ``{data_dir}/logpush-spool``; files past it are
    dropped, counted."""
    timeout: float = 30.0
    """Seconds one delivery may take before it counts as failed (and is retried)."""


@dataclass(frozen=True, slots=True)
class ProviderSettings:
    base_url: str = ""
    """Upstream base URL; for a built-in provider this overrides the default."""
    format: str = ""
    """API family of a custom provider: ``openai``, ``anthropic``, ``google``, ``cohere``, ``workers-ai``, ``generic``."""


@dataclass(frozen=True, slots=True)
class Settings:
    server: ServerSettings = field(default_factory=ServerSettings)
    store: StoreSettings = field(default_factory=StoreSettings)
    api: ApiSettings = field(default_factory=ApiSettings)
    logs: LogSettings = field(default_factory=LogSettings)
    cache: CacheSettings = field(default_factory=CacheSettings)
    guardrails: GuardrailSettings = field(default_factory=GuardrailSettings)
    logpush: LogpushSettings = field(default_factory=LogpushSettings)
    redis: RedisSettings = field(default_factory=RedisSettings)
    providers: Mapping[str, ProviderSettings] = field(default_factory=dict)
    """Per-provider overrides and custom providers, keyed by the URL path segment."""
    pricing_file: str = ""
    """A TOML pricing table replacing the shipped one; empty means the shipped table."""
    demo: bool = False
    """Wire the embedded mock provider in place of ``openai``, ``anthropic`` and ``google-ai-studio``."""
    demo_traffic: bool = True
    """With ``demo``, also run the synthetic client that sends varied traffic."""
    headless: bool = False
    """Run the proxy alone, without the console."""
    worker_id: str = ""
    """Set (``w1``…) in the processes of a ``--workers`` group: listen with ``SO_REUSEPORT``, stamp
    every log row, keep a crash spool of its own; the supervising parent owns ``gateway.json``."""

    @property
    def data_dir(self) -> Path:
        return Path(self.store.data_dir).expanduser() if self.store.data_dir else default_data_dir()

    @property
    def store_url(self) -> str:
        if self.store.url:
            return self.store.url
        return f"sqlite+aiosqlite:///{self.data_dir / 'aigw.db'}"


_SECTIONS: dict[str, type] = {
    "server": ServerSettings,
    "store": StoreSettings,
    "api": ApiSettings,
    "logs": LogSettings,
    "cache": CacheSettings,
    "logpush": LogpushSettings,
    "redis": RedisSettings,
}
_TOP_LEVEL = {"pricing_file": str}


def _coerce(key: str, value: Any, kind: Any) -> Any:
    """Check ``value`` against a field type; strings from env/flags are converted."""
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in {"1", "true", "yes", "on", "0", "false", "no", "off"}:
            return value.lower() in {"1", "true", "yes", "on"}
    elif kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                pass
    elif kind is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
    elif kind is str:
        if isinstance(value, str):
            return value
    raise ConfigError(f"config key {key}: expected {kind.__name__}, got {value!r}")


def _section(name: str, cls: type, values: Mapping[str, Any]) -> Any:
    if not isinstance(values, Mapping):
        raise ConfigError(f"config key [{name}]: expected a table")
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for key, value in values.items():
        if key not in hints:
            known = ", ".join(sorted(hints))
            raise ConfigError(f"unknown config key [{name}] {key} (known: {known})")
        kwargs[key] = _coerce(f"[{name}] {key}", value, hints[key])
    return cls(**kwargs)


def _providers(values: Any) -> dict[str, ProviderSettings]:
    if not isinstance(values, Mapping):
        raise ConfigError("config key [providers]: expected a table of provider tables")
    return {name: _section(f"providers.{name}", ProviderSettings, body) for name, body in values.items()}


def _env_overrides(env: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """``AIGW_SERVER_PORT=9000`` → ``{"server": {"port": "9000"}}``; ``AIGW_ADMIN_TOKEN``, ``AIGW_DB`` and ``AIGW_DATA_DIR`` are aliases."""
    out: dict[str, dict[str, Any]] = {}
    aliases = {
        "AIGW_ADMIN_TOKEN": ("api", "admin_token"),
        "AIGW_DB": ("store", "url"),
        "AIGW_DATA_DIR": ("store", "data_dir"),
    }
    for var, value in env.items():
        if var in aliases:
            section, key = aliases[var]
            out.setdefault(section, {})[key] = value
            continue
        if not var.startswith("AIGW_"):
            continue
        rest = var[5:].lower()
        for section in _SECTIONS:
            if rest.startswith(section + "_"):
                key = rest[len(section) + 1 :]
                if key in typing.get_type_hints(_SECTIONS[section]):
                    out.setdefault(section, {})[key] = value
                break
    return out


def load_settings(
    config_file: str | os.PathLike[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    demo: bool = False,
    demo_traffic: bool = True,
    headless: bool = False,
    worker_id: str = "",
) -> Settings:
    """Build :class:`Settings` from defaults, ``config_file``, ``env`` and flag ``overrides``.

    ``overrides`` has the file's shape (``{"server": {"port": 9000}}``); ``None`` values are ignored.
    """
    raw: dict[str, Any] = {}
    if config_file is not None:
        path = Path(config_file)
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file {path} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    merged: dict[str, dict[str, Any]] = {}
    for key, value in raw.items():
        if key in _SECTIONS or key in ("providers", "guardrails"):
            if not isinstance(value, Mapping):
                raise ConfigError(f"config key [{key}]: expected a table")
            merged[key] = dict(value)
        elif key in _TOP_LEVEL:
            merged.setdefault("", {})[key] = value
        else:
            raise ConfigError(f"unknown config key {key}")
    for layer in (_env_overrides(os.environ if env is None else env), overrides or {}):
        for section, values in layer.items():
            target = merged.setdefault(section, {})
            for key, value in values.items():
                if value is not None:
                    target[key] = value
    guardrail_values = dict(merged.get("guardrails", {}) or {}) if isinstance(merged.get("guardrails", {}), Mapping) else {}
    options = {k: dict(v) for k, v in guardrail_values.items() if isinstance(v, Mapping)}
    guardrails = _section("guardrails", GuardrailSettings,
                          {k: v for k, v in guardrail_values.items() if not isinstance(v, Mapping) and k != "options"})
    guardrails = dataclasses.replace(guardrails, options=types.MappingProxyType(options))
    sections = {name: _section(name, cls, merged.get(name, {})) for name, cls in _SECTIONS.items()}
    top = merged.get("", {})
    pricing_file = _coerce("pricing_file", top["pricing_file"], str) if "pricing_file" in top else ""
    settings = Settings(
        **sections,
        guardrails=guardrails,
        providers=types.MappingProxyType(_providers(merged.get("providers", {}))),
        pricing_file=pricing_file,
        demo=demo,
        demo_traffic=demo_traffic,
        headless=headless,
        worker_id=worker_id,
    )
    _validate(settings)
    return settings


def _validate(settings: Settings) -> None:
    if not 0 <= settings.server.port <= 65535:
        raise ConfigError(f"config key [server] port: {settings.server.port} is not a TCP port")
    if settings.server.max_body_bytes <= 0:
        raise ConfigError("config key [server] max_body_bytes: must be positive")
    if settings.logs.queue_max_entries <= 0 or settings.logs.batch_size <= 0:
        raise ConfigError("config keys [logs] queue_max_entries and batch_size must be positive")
    if settings.logs.overload not in OVERLOAD_MODES:
        raise ConfigError(f"config key [logs] overload: {settings.logs.overload!r} is not one of {', '.join(OVERLOAD_MODES)}")
    if settings.logs.flush_interval < 0 or settings.logs.backpressure_timeout <= 0:
        raise ConfigError("config keys [logs] flush_interval (≥ 0) and backpressure_timeout (> 0) are seconds")
    if settings.cache.read_timeout <= 0:
        raise ConfigError("config key [cache] read_timeout: must be positive seconds")
    from proxy_core.config_checks import check_logpush, check_redis  # they raise this module's ConfigError

    check_logpush(settings.logpush)
    check_redis(settings.redis)
    for name, provider in settings.providers.items():
        if provider.base_url and not provider.base_url.startswith(("http://", "https://")):
            raise ConfigError(f"config key [providers.{name}] base_url: must start with http:// or https://")
