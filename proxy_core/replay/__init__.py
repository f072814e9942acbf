"""Replaying a logged request through the gateway, to the same or another provider
(:mod:`~proxy_core.replay.plan`), and reading the answers to compare (:mod:`~proxy_core.replay.answers`).
The service that sends a replay, audits it and waits for its log is
:class:`proxy_core.services.replay.ReplayService`."""

from proxy_core.replay.answers import answer_text
from proxy_core.replay.plan import (
    REPLAY_OF,
    LoggedRequest,
    ReplayRefused,
    ReplayRequest,
    ReplayTarget,
    plan_replay,
    replay_metadata,
)

__all__ = [
    "REPLAY_OF",
    "LoggedRequest",
    "ReplayRefused",
    "ReplayRequest",
    "ReplayTarget",
    "answer_text",
    "plan_replay",
    "replay_metadata",
]
