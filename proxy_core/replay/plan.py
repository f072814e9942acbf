"""What a replay sends: the HTTP request that asks a logged request again, through the gateway.

A replay goes to the gateway's own HTTP endpoint, so it is admitted, rate limited, guarded,
cached and logged like any client's request. Two routes:

* **provider** — the target is the logged request's own provider: the stored native request goes
  back to the same provider path (``…/{provider}{path}``) with its stored headers, the model
  swapped when another one was chosen (in the body's ``model``, or in the path for the APIs that
  name the model there);
* **compat** — the target is another provider: the stored request is read back into OpenAI's
  shape by its family's translator (:meth:`proxy_core.compat.Translator.openai_request`) and sent
  to ``/compat/chat/completions`` with ``model = "{provider}/{model}"``, which translates it into
  the target's native API.

Credentials were never stored (their values read ``[REDACTED]`` in the log): the operator's key,
when given, takes the place of the first redacted credential (header or query parameter), or goes
where the target's translator puts a key; without one the provider answers as it answers a request
without a key (a local model server may need none). The new log carries ``cf-aig-metadata``
``{"replay_of": "<original log id>", …the original's other entries, up to five}`` and is always
collected (``cf-aig-collect-log: true``); ``fresh`` asks for an answer from the provider rather than
from the cache (``cf-aig-skip-cache: true``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping
from urllib.parse import parse_qsl, quote, urlencode

import orjson

from proxy_core.compat import CompatError
from proxy_core.policy import MAX_METADATA_ENTRIES
from proxy_core.providers.registry import ProviderRegistry
from proxy_core.redact import REDACTED, is_credential_name

__all__ = ["REPLAY_OF", "ReplayRefused", "ReplayRequest", "ReplayTarget", "LoggedRequest", "plan_replay", "replay_metadata"]

REPLAY_OF = "replay_of"
"""The metadata key that marks a log as the replay of another (its value: that log's id)."""

COMPAT_PATH = "/compat/chat/completions"

_NOT_FORWARDED = frozenset(
    {"host", "content-length", "connection", "keep-alive", "transfer-encoding", "te", "upgrade", "expect",
     "accept-encoding", "proxy-connection", "cookie"}
)  # fmt: skip
_CARRIED_POLICY = ("cf-aig-request-timeout", "cf-aig-max-attempts", "cf-aig-retry-delay", "cf-aig-backoff")
"""The original's ``cf-aig-*`` settings a replay keeps (cost, cache, metadata and log settings are
the replay's own)."""


class ReplayRefused(ValueError):
    """The logged request cannot be replayed to the chosen target (the message says why)."""


@dataclass(frozen=True, slots=True)
class ReplayTarget:
    """Where to replay: a provider path name of the registry and a model id of that provider."""

    provider: str
    model: str


@dataclass(frozen=True, slots=True)
class LoggedRequest:
    """What the log kept of the request to replay."""

    log_id: str
    provider: str
    model: str | None
    path: str
    """Below the provider, with the (redacted) query, as logged."""
    method: str
    headers: Mapping[str, str]
    """The stored, redacted request headers."""
    body: bytes | None
    metadata: Mapping[str, Any] | None


@dataclass(frozen=True, slots=True)
class ReplayRequest:
    """One HTTP request to the gateway; ``path`` is below ``…/v1/{account}/{gateway}``."""

    route: str
    """``provider`` (the same provider path) or ``compat`` (``/compat/chat/completions``)."""
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


def replay_metadata(log_id: str, original: Mapping[str, Any] | None) -> dict[str, Any]:
    """``replay_of`` first, then the original's entries (its own ``replay_of`` aside: a replay of a
    replay points at the log it replays) up to the gateway's limit of entries."""
    entries = {REPLAY_OF: log_id}
    for key, value in (original or {}).items():
        if key != REPLAY_OF and len(entries) < MAX_METADATA_ENTRIES:
            entries[key] = value
    return entries


def plan_replay(
    registry: ProviderRegistry, logged: LoggedRequest, target: ReplayTarget, *, api_key: str | None, fresh: bool
) -> ReplayRequest:
    """The request that replays ``logged`` to ``target``; :class:`ReplayRefused` when it cannot be."""
    if registry.get(target.provider) is None:
        raise ReplayRefused(f"unknown provider '{target.provider}'")
    if not target.model.strip():
        raise ReplayRefused("name the model to replay to")
    if logged.body is None:
        raise ReplayRefused(f"log {logged.log_id} has no stored request body to replay")
    same = registry.get(target.provider) is registry.get(logged.provider)
    request = _same_provider(registry, logged, target, api_key) if same else _compat(registry, logged, target, api_key)
    request.headers["cf-aig-metadata"] = orjson.dumps(replay_metadata(logged.log_id, logged.metadata)).decode()
    request.headers["cf-aig-collect-log"] = "true"
    if fresh:
        request.headers["cf-aig-skip-cache"] = "true"
    return request


def _json_body(logged: LoggedRequest) -> Any:
    try:
        return orjson.loads(logged.body or b"")
    except orjson.JSONDecodeError:
        return None


def _same_provider(
    registry: ProviderRegistry, logged: LoggedRequest, target: ReplayTarget, api_key: str | None
) -> ReplayRequest:
    spec = registry.get(logged.provider)
    assert spec is not None
    if spec.path_params:
        needed = "/".join("{" + p + "}" for p in spec.path_params)
        raise ReplayRefused(f"a {logged.provider} log does not keep its {needed} path segments: "
                            "replay it to another provider instead")  # fmt: skip
    path, _, query = logged.path.partition("?")
    body = logged.body or b""
    if target.model != logged.model:
        decoded = _json_body(logged)
        if isinstance(decoded, dict) and isinstance(decoded.get("model"), str):
            body = orjson.dumps({**decoded, "model": target.model})
        elif logged.model and logged.model in path:
            path = path.replace(logged.model, quote(target.model, safe="@/._-:"), 1)
        else:
            raise ReplayRefused(f"the {logged.provider} request names its model neither in the body nor in "
                                "the path: replay it to the same model")  # fmt: skip
    headers: dict[str, str] = {}
    key_placed = False
    for name, value in logged.headers.items():
        lower = name.lower()
        if lower in _NOT_FORWARDED or (lower.startswith("cf-aig-") and lower not in _CARRIED_POLICY):
            continue
        if value == REDACTED or is_credential_name(lower):
            if api_key and not key_placed and value == REDACTED:
                headers[lower] = f"Bearer {api_key}" if lower in ("authorization", "proxy-authorization") else api_key
                key_placed = True
            continue
        headers[lower] = value
    params = []
    for name, value in parse_qsl(query, keep_blank_values=True):
        if value == REDACTED or is_credential_name(name):
            if api_key and not key_placed:
                params.append((name, api_key))
                key_placed = True
            continue
        params.append((name, value))
    if api_key and not key_placed:
        headers.update(_key_headers(registry, target.provider, api_key))
    full_path = f"/{logged.provider}{path}" + ("?" + urlencode(params) if params else "")
    return ReplayRequest("provider", logged.method, full_path, headers, body)


def _key_headers(registry: ProviderRegistry, provider: str, api_key: str) -> dict[str, str]:
    """Where the provider's API takes a key (its translator knows), else ``Authorization: Bearer``."""
    spec = registry.get(provider)
    translator = spec.family.translator() if spec is not None else None
    bearer = f"Bearer {api_key}"
    return translator.auth_headers(bearer) if translator is not None else {"authorization": bearer}


def _compat(registry: ProviderRegistry, logged: LoggedRequest, target: ReplayTarget, api_key: str | None) -> ReplayRequest:
    source = registry.get(logged.provider)
    translator = source.family.translator() if source is not None else None
    if translator is None:
        raise ReplayRefused(f"requests to '{logged.provider}' cannot be translated for another provider "
                            "(no OpenAI-compatible translation for its API)")  # fmt: skip
    target_spec = registry.get(target.provider)
    if target_spec is None or target_spec.family.translator() is None:
        raise ReplayRefused(f"'{target.provider}' cannot be reached through /compat/chat/completions")
    decoded = _json_body(logged)
    if not isinstance(decoded, dict):
        raise ReplayRefused(f"log {logged.log_id}'s request body is not a JSON object")
    try:
        body = translator.openai_request(logged.path.partition("?")[0], decoded)
    except CompatError as exc:
        raise ReplayRefused(f"cannot translate the {logged.provider} request: {exc.message}") from None
    body["model"] = f"{target.provider}/{target.model}"
    headers = {"content-type": "application/json"}
    if api_key:
        headers["authorization"] = f"Bearer {api_key}"
    headers.update({name: logged.headers[name] for name in _CARRIED_POLICY if name in logged.headers})
    return ReplayRequest("compat", "POST", COMPAT_PATH, headers, orjson.dumps(body))
