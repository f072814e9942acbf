"""The service layer: the one way to read and change gateway state.

The management API, the console and the CLI all call these; none of them touches the database.
Services return plain dataclasses and raise :class:`ServiceError` subclasses.
"""

from __future__ import annotations

from typing import Callable

from proxy_core.cache import CacheBackend
from proxy_core.directory import DirectoryUpdates
from proxy_core.events import EventBus
from proxy_core.logpush import LogpushStatus
from proxy_core.providers.registry import ProviderRegistry
from proxy_core.services.analytics import AnalyticsPoint, AnalyticsService
from proxy_core.services.audit import AuditService
from proxy_core.services.datasets import DatasetInfo, DatasetService
from proxy_core.services.errors import Conflict, InvalidInput, NotFound, ServiceError
from proxy_core.services.evaluations import EVALUATION_TYPES, EvaluationInfo, EvaluationService, ResultInfo
from proxy_core.services.gateways import GatewayService
from proxy_core.services.guardrail_hits import CategoryHits, GuardrailHitService
from proxy_core.services.logs import UNSET, LogDetail, LogRecord, LogService
from proxy_core.services.replay import ReplayChoice, ReplayService, ReplaySent, ReplayUnavailable
from proxy_core.services.tokens import TokenService
from proxy_core.services.types import (
    Actor,
    AuditRecord,
    Clock,
    GatewayInfo,
    NewToken,
    Page,
    TokenInfo,
    system_clock,
)
from proxy_core.services.verdicts import FoundCategory, StageVerdict, describe_guardrails
from proxy_core.store.engine import Store

__all__ = [
    "Actor",
    "AnalyticsPoint",
    "AuditRecord",
    "CategoryHits",
    "Conflict",
    "DatasetInfo",
    "EVALUATION_TYPES",
    "EvaluationInfo",
    "FoundCategory",
    "GatewayInfo",
    "InvalidInput",
    "LogDetail",
    "LogRecord",
    "LogpushStatus",
    "NewToken",
    "NotFound",
    "Page",
    "ReplayChoice",
    "ReplaySent",
    "ReplayService",
    "ReplayUnavailable",
    "ResultInfo",
    "ServiceError",
    "Services",
    "StageVerdict",
    "TokenInfo",
    "UNSET",
    "describe_guardrails",
]


class Services:
    """Every service of one account, sharing a store, a clock and (in the gateway process) the
    in-memory gateway directory and event bus, so changes take effect on the next request."""

    def __init__(
        self,
        store: Store,
        *,
        account_id: str,
        directory: DirectoryUpdates | None = None,
        bus: EventBus | None = None,
        clock: Clock = system_clock,
        on_logs_deleted: Callable[[], None] | None = None,
        cache: CacheBackend | None = None,
        providers: ProviderRegistry | None = None,
        gateway_url: str | None = None,
    ) -> None:
        """``providers`` and ``gateway_url`` (``http://HOST:PORT``) let :attr:`replay` re-send logged
        requests through the gateway; without them replay is unavailable."""
        self.store = store
        self.account_id = account_id
        self.clock = clock
        self.gateways = GatewayService(store, account_id, clock, directory, cache)
        self.logs = LogService(store, account_id, bus, on_logs_deleted, clock=clock)
        self.datasets = DatasetService(store, account_id, clock)
        self.evaluations = EvaluationService(store, account_id, clock, self.datasets)
        self.tokens = TokenService(store, account_id, clock, directory)
        self.audit = AuditService(store, account_id)
        self.analytics = AnalyticsService(store, account_id)
        self.replay = ReplayService(store, account_id, clock, self.logs, self.gateways, self.tokens, providers, gateway_url)
        self.guardrail_hits = GuardrailHitService(store, account_id, clock)
