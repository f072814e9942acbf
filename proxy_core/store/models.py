"""The store's tables, as SQLAlchemy 2.0 typed models (schema changes go through Alembic).

Times are integer Unix milliseconds: compact, indexable and identical on SQLite and PostgreSQL.
Log rows hold the list columns; bodies and headers live in ``log_bodies`` so paging stays fast.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Index, Integer, LargeBinary, String, Text, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "Base",
    "Gateway",
    "Log",
    "LogBody",
    "Dataset",
    "Evaluation",
    "EvaluationResult",
    "GatewayToken",
    "AuditEntry",
    "LogRollup",
    "LogRollupHourly",
    "GuardrailHit",
    "CacheEntry",
    "LogpushState",
]


class Base(DeclarativeBase):
    pass


class Gateway(Base):
    __tablename__ = "gateways"

    account_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    cache_ttl: Mapped[int | None] = mapped_column(Integer, nullable=True)
    cache_invalidate_on_update: Mapped[bool] = mapped_column(Boolean, default=False)
    collect_logs: Mapped[bool] = mapped_column(Boolean, default=True)
    rate_limiting_interval: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rate_limiting_limit: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rate_limiting_technique: Mapped[str] = mapped_column(String(16), default="fixed")
    authentication: Mapped[bool] = mapped_column(Boolean, default=False)
    log_management: Mapped[int | None] = mapped_column(BigInteger, nullable=True, default=10_000_000)
    log_management_strategy: Mapped[str] = mapped_column(String(16), default="STOP_INSERTING")
    logpush: Mapped[bool] = mapped_column(Boolean, default=False)
    logpush_public_key: Mapped[str | None] = mapped_column(Text, nullable=True)
    guardrails: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    retry_max_attempts: Mapped[int | None] = mapped_column(Integer, nullable=True)
    retry_delay: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """Milliseconds between retries."""
    retry_backoff: Mapped[str | None] = mapped_column(String(16), nullable=True)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[int] = mapped_column(BigInteger)
    modified_at: Mapped[int] = mapped_column(BigInteger)


_HAS_EVENT_ID = text("event_id IS NOT NULL")
"""Most logs carry no event id: a partial index costs their inserts nothing."""


class Log(Base):
    __tablename__ = "logs"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(64))
    gateway_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[int] = mapped_column(BigInteger)
    provider: Mapped[str] = mapped_column(String(64))
    model: Mapped[str | None] = mapped_column(String(256), nullable=True)
    model_type: Mapped[str] = mapped_column(String(32), default="unknown")
    path: Mapped[str] = mapped_column(Text)
    request_type: Mapped[str] = mapped_column(String(16), default="provider")
    method: Mapped[str] = mapped_column(String(8), default="POST")
    status_code: Mapped[int] = mapped_column(Integer)
    success: Mapped[bool] = mapped_column(Boolean)
    error_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    cached: Mapped[bool] = mapped_column(Boolean, default=False)
    step: Mapped[int] = mapped_column(Integer, default=0)
    event_id: Mapped[str | None] = mapped_column(String(256), nullable=True)
    duration: Mapped[int] = mapped_column(Integer)
    """Milliseconds from the request's arrival to the last byte sent."""
    ttfb: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """Milliseconds from the request's arrival to the upstream's first byte."""
    tokens_in: Mapped[int | None] = mapped_column(Integer, nullable=True)
    tokens_out: Mapped[int | None] = mapped_column(Integer, nullable=True)
    cost: Mapped[float | None] = mapped_column(Float, nullable=True)
    custom_cost: Mapped[bool] = mapped_column(Boolean, default=False)
    log_metadata: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSON, nullable=True)
    feedback: Mapped[int] = mapped_column(Integer, default=0)
    score: Mapped[int | None] = mapped_column(Integer, nullable=True)
    guardrails: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    request_content_type: Mapped[str | None] = mapped_column(String(128), nullable=True)
    response_content_type: Mapped[str | None] = mapped_column(String(128), nullable=True)
    request_size: Mapped[int] = mapped_column(Integer, default=0)
    response_size: Mapped[int] = mapped_column(Integer, default=0)
    body_stored: Mapped[bool] = mapped_column(Boolean, default=True)
    """False when log collection was off for this request: the row is kept, the bodies are not."""
    body_truncated: Mapped[bool] = mapped_column(Boolean, default=False)
    """True when a body exceeded the stored-body limit and was left out."""
    streamed: Mapped[bool] = mapped_column(Boolean, default=False)
    worker_id: Mapped[str | None] = mapped_column(String(16), nullable=True)
    """The worker process that served the request (``w1``…) under ``--workers``; NULL for a single process."""

    # Each index costs the log writer on every row (``python -m bench.store_indexes``), so only
    # these: a gateway's pages, totals and retention walk (gateway, created_at); every gateway's
    # newest logs (the live tail) walk (account, created_at); provider and model filters, rare
    # values and typos included, read their own rows newest first; an event id finds its rows.
    # Other filters walk the time index, which reaches 50 matches quickly for any value a million
    # logs hold often. Each scoped one leads with the columns a query pins and ends with
    # created_at, so SQLite's planner picks it even on rough statistics; for the event id it needs
    # some, which the log writer refreshes (``logsql.ANALYZE_LOGS``).
    __table_args__ = (
        Index("ix_logs_gateway_created", "account_id", "gateway_id", "created_at"),
        Index("ix_logs_account_created", "account_id", "created_at"),
        Index("ix_logs_gateway_provider_created", "account_id", "gateway_id", "provider", "created_at"),
        Index("ix_logs_gateway_model_created", "account_id", "gateway_id", "model", "created_at"),
        Index("ix_logs_event_id", "event_id", sqlite_where=_HAS_EVENT_ID, postgresql_where=_HAS_EVENT_ID),
    )


class LogBody(Base):
    __tablename__ = "log_bodies"

    log_id: Mapped[str] = mapped_column(String(26), ForeignKey("logs.id", ondelete="CASCADE"), primary_key=True)
    request_headers: Mapped[dict[str, str] | None] = mapped_column(JSON, nullable=True)
    request_body: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    response_headers: Mapped[dict[str, str] | None] = mapped_column(JSON, nullable=True)
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)



class Dataset(Base):
    """A named, saved log filter; it is a live query, so new matching logs join it."""

    __tablename__ = "datasets"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(64))
    gateway_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(256))
    enable: Mapped[bool] = mapped_column(Boolean, default=True)
    filters: Mapped[dict[str, Any]] = mapped_column(JSON)
    """The filter document: Cloudflare's ``filters`` array plus ``start_ms``/``end_ms``/``search``."""
    created_at: Mapped[int] = mapped_column(BigInteger)
    modified_at: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_datasets_gateway", "account_id", "gateway_id"),)


class Evaluation(Base):
    """One run of evaluators over datasets, frozen at ``cutoff_ms`` (evaluations do not update)."""

    __tablename__ = "evaluations"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(64))
    gateway_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(256))
    dataset_ids: Mapped[list[str]] = mapped_column(JSON)
    datasets: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    """The datasets as they were when the run started."""
    evaluation_type_ids: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="running")
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    total_logs: Mapped[int] = mapped_column(Integer, default=0)
    cutoff_ms: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[int] = mapped_column(BigInteger)
    modified_at: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_evaluations_gateway", "account_id", "gateway_id"),)


class EvaluationResult(Base):
    __tablename__ = "evaluation_results"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    evaluation_id: Mapped[str] = mapped_column(String(26), ForeignKey("evaluations.id", ondelete="CASCADE"))
    evaluation_type_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="running")
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    logs_used: Mapped[int] = mapped_column(Integer, default=0)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[int] = mapped_column(BigInteger)
    modified_at: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_evaluation_results_evaluation", "evaluation_id"),)


class GatewayToken(Base):
    """An authentication token of a gateway: only a salted hash is kept."""

    __tablename__ = "gateway_tokens"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(64))
    gateway_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(256), default="")
    salt: Mapped[str] = mapped_column(String(64))
    digest: Mapped[str] = mapped_column(String(128))
    hint: Mapped[str] = mapped_column(String(16))
    """The last characters of the token, so an operator can tell tokens apart."""
    created_at: Mapped[int] = mapped_column(BigInteger)
    revoked_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

    __table_args__ = (Index("ix_gateway_tokens_gateway", "account_id", "gateway_id"),)


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    account_id: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(256))
    interface: Mapped[str] = mapped_column(String(16))
    """``console``, ``API`` or ``CLI``."""
    action: Mapped[str] = mapped_column(String(16))
    """``create``, ``update`` or ``delete``."""
    resource_type: Mapped[str] = mapped_column(String(32))
    resource_id: Mapped[str] = mapped_column(String(128))
    old_value: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    new_value: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)

    __table_args__ = (Index("ix_audit_log_account_created", "account_id", "created_at"),)


class _RollupColumns:
    """The columns of a rollup table: totals of the logs sharing a time bucket and a group."""

    bucket: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    """Start of the bucket, Unix milliseconds."""
    account_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    gateway_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    provider: Mapped[str] = mapped_column(String(64), primary_key=True)
    model: Mapped[str] = mapped_column(String(256), primary_key=True)
    status_class: Mapped[int] = mapped_column(Integer, primary_key=True)
    """``status_code // 100`` (2, 4, 5); 0 when the gateway answered before any upstream."""
    cached: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    requests: Mapped[int] = mapped_column(BigInteger, default=0)
    errors: Mapped[int] = mapped_column(BigInteger, default=0)
    tokens_in: Mapped[int] = mapped_column(BigInteger, default=0)
    tokens_out: Mapped[int] = mapped_column(BigInteger, default=0)
    cost: Mapped[float] = mapped_column(Float, default=0.0)
    duration_sum: Mapped[int] = mapped_column(BigInteger, default=0)


class LogRollup(_RollupColumns, Base):
    """Per-minute aggregates the log writer maintains, so analytics never scan raw logs."""

    __tablename__ = "log_rollups"
    __table_args__ = (Index("ix_log_rollups_gateway_bucket", "account_id", "gateway_id", "bucket"),)


class LogRollupHourly(_RollupColumns, Base):
    """The same aggregates per hour, kept beside the per-minute ones: a 30-day chart reads 720
    buckets instead of 43,200."""

    __tablename__ = "log_rollups_hourly"
    __table_args__ = (Index("ix_log_rollups_hourly_gateway_bucket", "account_id", "gateway_id", "bucket"),)


class GuardrailHit(Base):
    """Per-minute counts of the requests in which a guardrail found a hazard category, by the
    action the policy applied to it, kept by the log writer beside the rollups: the Guardrails
    view's last-hour and 24-hour counters read at most 1,440 buckets, never the logs."""

    __tablename__ = "guardrail_hits"

    account_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    gateway_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    bucket: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    """Start of the minute, Unix milliseconds."""
    category: Mapped[str] = mapped_column(String(8), primary_key=True)
    """``S1`` … ``S14``."""
    action: Mapped[str] = mapped_column(String(8), primary_key=True)
    """What the policy did for this category: ``flag``, ``block`` or ``ignore``."""
    hits: Mapped[int] = mapped_column(BigInteger, default=0)


class CacheEntry(Base):
    """One cached upstream answer; the cache janitor deletes rows once ``expires_at`` has passed."""

    __tablename__ = "cache_entries"

    key: Mapped[str] = mapped_column(String(256), primary_key=True)
    """The caller's key: a SHA-256 of the request (never the credentials), perhaps prefixed by the gateway."""
    account_id: Mapped[str] = mapped_column(String(64))
    gateway_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    headers: Mapped[list[list[str]]] = mapped_column(JSON)
    """Response headers to replay, as ``[name, value]`` pairs."""
    body: Mapped[bytes] = mapped_column(LargeBinary)
    streamed: Mapped[bool] = mapped_column(Boolean, default=False)
    size: Mapped[int] = mapped_column(Integer, default=0)
    """Body bytes, so the cache's size can be summed without reading bodies."""
    created_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ix_cache_entries_expires", "expires_at"),
        Index("ix_cache_entries_gateway", "account_id", "gateway_id"),
    )


class LogpushState(Base):
    """Where one gateway's Logpush stands: the next file sequence (never reused, across restarts and
    processes) and what the last delivery did, so any console can show it."""

    __tablename__ = "logpush_state"

    account_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    gateway_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    next_sequence: Mapped[int] = mapped_column(BigInteger, default=1)
    delivered_files: Mapped[int] = mapped_column(BigInteger, default=0)
    delivered_records: Mapped[int] = mapped_column(BigInteger, default=0)
    last_delivery_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    pending_records: Mapped[int] = mapped_column(BigInteger, default=0)
    """Records not delivered yet (batching, or spooled after a failure) when the state was saved."""
    oldest_pending_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    """``created_at`` of the oldest record not delivered: how far behind the destination is."""
    failures: Mapped[int] = mapped_column(BigInteger, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    """The last failed delivery's reason; cleared by the next delivery that succeeds."""
    last_error_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    dropped_records: Mapped[int] = mapped_column(BigInteger, default=0)
    """Records not kept because the spool was full."""
    updated_at: Mapped[int] = mapped_column(BigInteger, default=0)
