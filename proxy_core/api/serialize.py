"""Service dataclasses → the JSON objects the API returns (Cloudflare's field names, ISO times)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import orjson

from proxy_core.services import (
    AuditRecord,
    DatasetInfo,
    EvaluationInfo,
    GatewayInfo,
    LogRecord,
    Page,
    ResultInfo,
    TokenInfo,
)
from proxy_core.services.analytics import AnalyticsPoint
from proxy_core.services.evaluations import EvaluationType
from proxy_core.services.logs import LogSummary

__all__ = [
    "iso",
    "gateway_json",
    "log_json",
    "dataset_json",
    "evaluation_json",
    "token_json",
    "audit_json",
    "point_json",
    "evaluation_type_json",
    "page_info",
    "log_page_info",
]

_EPOCH = "2026-01-01T00:00:00.000Z"


def iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def page_info(page: Page[Any]) -> dict[str, int]:
    return {
        "page": page.page,
        "per_page": page.per_page,
        "count": len(page.items),
        "total_count": page.total_count,
    }


def log_page_info(page: Page[Any], summary: LogSummary) -> dict[str, Any]:
    """A log page's ``result_info``: paging plus the count and ranges the reference shows."""
    ranges = {name: getattr(summary, name) for name in LogSummary.__slots__ if name.startswith(("min_", "max_"))}
    return {**page_info(page), "total_count": summary.count, **ranges}


def gateway_json(g: GatewayInfo) -> dict[str, Any]:
    out = {"id": g.id, **g.settings(), "is_default": g.is_default}
    out["created_at"], out["modified_at"] = iso(g.created_at), iso(g.modified_at)
    return out


def log_json(log: LogRecord) -> dict[str, Any]:
    return {
        "id": log.id,
        "created_at": iso(log.created_at),
        "gateway_id": log.gateway_id,
        "provider": log.provider,
        "model": log.model or "",
        "model_type": log.model_type,
        "path": log.path,
        "request_type": log.request_type,
        "status_code": log.status_code,
        "success": log.success,
        "cached": log.cached,
        "step": log.step,
        "event_id": log.event_id,
        "duration": log.duration,
        "ttfb": log.ttfb,
        "tokens_in": log.tokens_in,
        "tokens_out": log.tokens_out,
        "cost": log.cost,
        "custom_cost": log.custom_cost,
        # Cloudflare returns metadata as a JSON string; so do we.
        "metadata": orjson.dumps(log.metadata).decode() if log.metadata else None,
        "feedback": log.feedback,
        "score": log.score,
        "error": log.error,
        "error_code": log.error_code,
        "guardrails": log.guardrails,
        "request_content_type": log.request_content_type,
        "response_content_type": log.response_content_type,
        "request_size": log.request_size,
        "response_size": log.response_size,
        "streamed": log.streamed,
        "body_stored": log.body_stored,
        "body_truncated": log.body_truncated,
        "worker_id": log.worker_id,
    }


def dataset_json(d: DatasetInfo, account_id: str) -> dict[str, Any]:
    return {
        "id": d.id,
        "account_id": account_id,
        "account_tag": account_id,
        "gateway_id": d.gateway_id,
        "name": d.name,
        "enable": d.enable,
        "filters": d.filters_json(),
        "search": d.filter.search,
        "since": iso(d.filter.start_ms),
        "until": iso(d.filter.end_ms),
        "created_at": iso(d.created_at),
        "modified_at": iso(d.modified_at),
    }


_STATUS_CODE = {"running": 0, "completed": 1, "error": 2}


def _result_json(r: ResultInfo, evaluation_id: str) -> dict[str, Any]:
    return {
        "id": r.id,
        "evaluation_id": evaluation_id,
        "evaluation_type_id": r.evaluation_type_id,
        "result": "" if r.value is None else repr(round(r.value, 10)),
        "value": r.value,
        "logs_used": r.logs_used,
        "total_logs": r.logs_used,
        "status": _STATUS_CODE[r.status],
        "status_description": r.status,
        "description": r.description,
        "created_at": iso(r.created_at),
        "modified_at": iso(r.modified_at),
    }


def evaluation_json(e: EvaluationInfo, account_id: str) -> dict[str, Any]:
    datasets = [
        {"id": d["id"], "account_id": account_id, "account_tag": account_id, "gateway_id": e.gateway_id,
         "name": d["name"], "enable": d["enable"], "filters": d["filters"],
         "created_at": iso(d["created_at"]), "modified_at": iso(d["modified_at"])}
        for d in e.datasets
    ]  # fmt: skip
    return {
        "id": e.id,
        "gateway_id": e.gateway_id,
        "name": e.name,
        "dataset_ids": e.dataset_ids,
        "datasets": datasets,
        "evaluation_type_ids": e.evaluation_type_ids,
        "processed": e.processed,
        "status": e.status,
        "error": e.error,
        "total_logs": e.total_logs,
        "results": [_result_json(r, e.id) for r in e.results],
        "created_at": iso(e.created_at),
        "modified_at": iso(e.modified_at),
    }


def evaluation_type_json(t: EvaluationType) -> dict[str, Any]:
    return {
        "id": t.id,
        "name": t.name,
        "type": t.type,
        "description": t.description,
        "enable": t.enable,
        "mandatory": t.mandatory,
        "created_at": _EPOCH,
        "modified_at": _EPOCH,
    }


def token_json(t: TokenInfo) -> dict[str, Any]:
    return {
        "id": t.id,
        "gateway_id": t.gateway_id,
        "name": t.name,
        "hint": f"…{t.hint}",
        "active": t.active,
        "created_at": iso(t.created_at),
        "revoked_at": iso(t.revoked_at),
    }


_PAST = {"create": "created", "update": "updated", "delete": "deleted", "revoke": "revoked"}


def audit_json(a: AuditRecord, account_id: str) -> dict[str, Any]:
    """The reference's audit entry shape."""
    return {
        "id": a.id,
        "when": iso(a.created_at),
        "action": {"type": a.action, "result": True, "info": f"{a.resource_type} {_PAST.get(a.action, a.action)}"},
        # Cloudflare's actor is a user id and an e-mail; here it is a role ("admin-token",
        # "operator", "cli") and, for the API, the caller's address.
        "actor": {"id": a.actor, "email": "", "ip": a.actor_ip, "type": "user"},
        "interface": a.interface,
        "resource": {"type": f"ai_gateway.{a.resource_type}", "id": a.resource_id},
        "metadata": {},
        "owner": {"id": account_id},
        "oldValue": "",
        "oldValueJson": a.old_value or {},
        "newValue": "",
        "newValueJson": a.new_value or {},
    }


def point_json(p: AnalyticsPoint) -> dict[str, Any]:
    return {
        "bucket": iso(p.bucket),
        "group": p.group,
        "requests": p.requests,
        "errors": p.errors,
        "cached": p.cached,
        "cache_hit_ratio": p.cache_hit_ratio,
        "tokens_in": p.tokens_in,
        "tokens_out": p.tokens_out,
        "cost": p.cost,
        "avg_duration": p.avg_duration,
    }
