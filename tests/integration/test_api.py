"""The management API: every route, its envelope, and its error paths."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web

from proxy_core.api import ROUTES, openapi_document
from proxy_core.config import ProviderSettings
from proxy_core.runner import RunningGateway
from proxy_core.server import PIPE, SERVICES
from tests.conftest import GatewayFactory

ADMIN = "test-admin-token"


@pytest.fixture
async def gw(gateway_factory: GatewayFactory) -> RunningGateway:
    return await gateway_factory(api={"admin_token": ADMIN})


class Api:
    def __init__(self, gateway: RunningGateway, token: str | None = ADMIN) -> None:
        self.base = f"{gateway.api_url}/accounts/local/ai-gateway"
        self.headers = {"authorization": f"Bearer {token}"} if token else {}

    async def call(self, method: str, path: str, body: Any = None, **params: Any) -> tuple[int, dict]:
        async with aiohttp.ClientSession() as session:
            async with session.request(
                method, self.base + path, json=body, params=params or None, headers=self.headers
            ) as resp:
                return resp.status, await resp.json(content_type=None)

    async def ok(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        status, payload = await self.call(method, path, body, **params)
        assert status == 200 and payload["success"], payload
        return payload["result"]


async def send_chat(gateway: RunningGateway, n: int = 1, *, metadata: dict | None = None, **headers: str) -> list[str]:
    ids = []
    async with aiohttp.ClientSession() as session:
        for i in range(n):
            extra = dict(headers)
            if metadata is not None:
                extra["cf-aig-metadata"] = orjson.dumps(metadata).decode()
            body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"question number {i}"}]}
            async with session.post(f"{gateway.gateway_url}/openai/chat/completions", json=body, headers=extra) as r:
                await r.read()
                ids.append(r.headers["cf-aig-log-id"])
    await gateway.app[PIPE].flush()
    return ids


def error_message(payload: dict) -> str:
    assert payload["success"] is False
    return payload["errors"][0]["message"]


async def test_missing_or_wrong_admin_token_is_401(gw: RunningGateway) -> None:
    for token in (None, "wrong"):
        status, payload = await Api(gw, token).call("GET", "/gateways")
        assert status == 401 and payload["errors"][0]["code"] == 10000


async def test_wrong_account_is_404(gw: RunningGateway) -> None:
    api = Api(gw)
    api.base = api.base.replace("/accounts/local/", "/accounts/someone-else/")
    status, payload = await api.call("GET", "/gateways")
    assert status == 404 and "someone-else" in error_message(payload)


async def test_gateway_crud_and_audit(gw: RunningGateway) -> None:
    api = Api(gw)
    listed = await api.ok("GET", "/gateways")
    assert [g["id"] for g in listed] == ["default"] and listed[0]["is_default"]
    created = await api.ok(
        "POST", "/gateways",
        {"id": "team-a", "cache_ttl": 300, "cache_invalidate_on_update": False, "collect_logs": True,
         "rate_limiting_interval": 60, "rate_limiting_limit": 100, "rate_limiting_technique": "sliding"},
    )  # fmt: skip
    assert created["id"] == "team-a" and created["rate_limiting_technique"] == "sliding"
    assert created["created_at"].endswith("Z")
    status, payload = await api.call("POST", "/gateways", {"id": "team-a"})
    assert status == 409
    updated = await api.ok("PUT", "/gateways/team-a", {"collect_logs": False, "log_management": 1000,
                                                        "log_management_strategy": "DELETE_OLDEST"})  # fmt: skip
    assert updated["collect_logs"] is False and updated["log_management_strategy"] == "DELETE_OLDEST"
    assert (await api.ok("GET", "/gateways/team-a"))["log_management"] == 1000
    # the proxy sees the change at once
    assert gw.app[SERVICES].gateways.directory.get("local", "team-a").collect_logs is False
    await api.ok("DELETE", "/gateways/team-a")
    status, _ = await api.call("GET", "/gateways/team-a")
    assert status == 404
    audit = await api.ok("GET", "/audit-logs")
    assert [a["action"]["info"] for a in audit] == ["gateway deleted", "gateway updated", "gateway created"]
    assert audit[1]["oldValueJson"] == {"collect_logs": True, "log_management": 10000000,
                                        "log_management_strategy": "STOP_INSERTING"}  # fmt: skip
    assert audit[1]["newValueJson"]["collect_logs"] is False
    assert audit[0]["interface"] == "API"


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"id": "Bad Id"}, "id:"),
        ({"id": "g1", "cache_ttl": "soon"}, "cache_ttl"),
        ({"id": "g1", "cache_ttl": 30}, "cache_ttl: 30 is out of range"),
        ({"id": "g1", "rate_limiting_technique": "leaky"}, "rate_limiting_technique"),
        ({"id": "g1", "log_management_strategy": "KEEP"}, "log_management_strategy"),
        ({"id": "g1", "colour": "red"}, "colour"),
        ({"id": "g1", "guardrails": {"enabled": True, "prompt": {"S99": "block"}}}, "S99"),
        ({"id": "g1", "guardrails": {"enabled": True, "prompt": {"S1": "explode"}}}, "explode"),
        ({"id": "g1", "logpush": True}, "logpush_public_key"),
    ],
)
async def test_gateway_validation_names_the_field(gw: RunningGateway, body: dict, needle: str) -> None:
    status, payload = await Api(gw).call("POST", "/gateways", body)
    assert status == 400 and needle in error_message(payload)


async def test_malformed_json_body_is_400(gw: RunningGateway) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{gw.api_url}/accounts/local/ai-gateway/gateways",
            data=b"{nope",
            headers={"authorization": f"Bearer {ADMIN}", "content-type": "application/json"},
        ) as resp:
            payload = await resp.json()
    assert resp.status == 400 and "not valid JSON" in error_message(payload)


async def test_logs_list_filter_get_bodies_patch_delete(gw: RunningGateway) -> None:
    api = Api(gw)
    alice = await send_chat(gw, 3, metadata={"user": "alice"})
    bob = await send_chat(gw, 2, metadata={"user": "bob"})
    logs = await api.ok("GET", "/gateways/default/logs", per_page=2)
    assert len(logs) == 2 and logs[0]["id"] == bob[-1]  # newest first
    status, payload = await api.call("GET", "/gateways/default/logs", per_page=2)
    paging = {key: payload["result_info"][key] for key in ("page", "per_page", "count", "total_count")}
    assert paging == {"page": 1, "per_page": 2, "count": 2, "total_count": 5}
    filters = orjson.dumps([{"key": "metadata.value", "operator": "eq", "value": ["alice"]}]).decode()
    only_alice = await api.ok("GET", "/gateways/default/logs", filters=filters)
    assert sorted(log["id"] for log in only_alice) == sorted(alice)
    one = await api.ok("GET", f"/gateways/default/logs/{alice[0]}")
    assert one["provider"] == "openai" and orjson.loads(one["metadata"]) == {"user": "alice"}
    async with aiohttp.ClientSession(headers=api.headers) as session:
        async with session.get(f"{api.base}/gateways/default/logs/{alice[0]}/request") as resp:
            assert (await resp.json())["messages"][0]["content"] == "question number 0"
        async with session.get(f"{api.base}/gateways/default/logs/{alice[0]}/response") as resp:
            assert (await resp.json())["object"] == "chat.completion"
    patched = await api.ok("PATCH", f"/gateways/default/logs/{alice[0]}", {"feedback": 1, "score": 90})
    assert patched["feedback"] == 1 and patched["score"] == 90
    patched = await api.ok("PATCH", f"/gateways/default/logs/{alice[0]}", {"metadata": {"reviewed": True}})
    assert orjson.loads(patched["metadata"]) == {"user": "alice", "reviewed": True}
    liked = await api.ok("GET", "/gateways/default/logs", feedback="1")
    assert [log["id"] for log in liked] == [alice[0]]
    deleted = await api.ok("DELETE", "/gateways/default/logs", filters=filters)
    assert deleted == {"deleted": 3}
    [audited] = await api.ok("GET", "/audit-logs")  # the deletion is audited, with the filter and the count
    assert audited["action"]["info"] == "logs deleted" and audited["oldValueJson"]["deleted"] == 3
    remaining = await api.ok("GET", "/gateways/default/logs")
    assert sorted(log["id"] for log in remaining) == sorted(bob)


@pytest.mark.parametrize(
    ("method", "path", "body", "params", "status", "needle"),
    [
        ("GET", "/gateways/default/logs/01NOPE", None, {}, 404, "not found"),
        ("PATCH", "/gateways/default/logs/{id}", {"score": 101}, {}, 400, "score"),
        ("PATCH", "/gateways/default/logs/{id}", {"feedback": 2}, {}, 400, "feedback"),
        ("PATCH", "/gateways/default/logs/{id}", {"feedback": True}, {}, 400, "feedback"),
        ("PATCH", "/gateways/default/logs/{id}", {"metadata": {"a": {"b": 1}}}, {}, 400, "metadata"),
        ("PATCH", "/gateways/default/logs/{id}", {"rating": 5}, {}, 400, "rating"),
        ("GET", "/gateways/default/logs", None, {"filters": '[{"key": "colour", "operator": "eq", "value": ["x"]}]'},
         400, "colour"),
        ("GET", "/gateways/default/logs", None, {"filters": '[{"key": "cost", "operator": "contains", "value": [1]}]'},
         400, "contains"),
        ("GET", "/gateways/default/logs", None, {"filters": "{not json"}, 400, "JSON"),
        ("GET", "/gateways/default/logs", None, {"per_page": "1000"}, 400, "per_page"),
        ("GET", "/gateways/default/logs", None, {"min_cost": "cheap"}, 400, "cheap"),
        ("GET", "/gateways/nope/logs", None, {}, 404, "nope"),
    ],
)  # fmt: skip
async def test_log_error_paths(
    gw: RunningGateway, method: str, path: str, body: Any, params: dict, status: int, needle: str
) -> None:
    [log_id] = await send_chat(gw)
    got, payload = await Api(gw).call(method, path.replace("{id}", log_id), body, **params)
    assert got == status and needle in error_message(payload)


async def test_cloudflare_flattened_filters_in_the_query_string(gw: RunningGateway) -> None:
    await send_chat(gw, 2, metadata={"user": "alice"})
    await send_chat(gw, 1, metadata={"user": "bob"})
    async with aiohttp.ClientSession(headers=Api(gw).headers) as session:
        query = "filters.key=metadata.value&filters.operator=eq&filters.value=bob"
        async with session.get(f"{Api(gw).base}/gateways/default/logs?{query}") as resp:
            payload = await resp.json()
    assert len(payload["result"]) == 1


async def test_datasets_are_live_and_exportable(gw: RunningGateway) -> None:
    api = Api(gw)
    await send_chat(gw, 2, metadata={"team": "red"})
    filters = [{"key": "metadata.value", "operator": "eq", "value": ["red"]}]
    dataset = await api.ok("POST", "/gateways/default/datasets", {"name": "red team", "enable": True, "filters": filters})
    assert dataset["filters"] == filters and dataset["gateway_id"] == "default"
    assert len(await api.ok("GET", f"/gateways/default/datasets/{dataset['id']}/logs")) == 2
    await send_chat(gw, 1, metadata={"team": "red"})  # a live query: the new log joins
    await send_chat(gw, 1, metadata={"team": "blue"})
    assert len(await api.ok("GET", f"/gateways/default/datasets/{dataset['id']}/logs")) == 3
    async with aiohttp.ClientSession(headers=api.headers) as session:
        async with session.get(f"{api.base}/gateways/default/datasets/{dataset['id']}/export") as resp:
            assert resp.headers["content-type"].startswith("application/x-ndjson")
            lines = [orjson.loads(line) for line in (await resp.read()).splitlines()]
    assert len(lines) == 3
    assert lines[0]["request"]["messages"][0]["content"] == "question number 0"
    assert lines[0]["response"]["object"] == "chat.completion"
    assert {"feedback", "score", "metadata"} <= set(lines[0])
    renamed = await api.ok("PUT", f"/gateways/default/datasets/{dataset['id']}", {"name": "reds"})
    assert renamed["name"] == "reds" and renamed["filters"] == filters
    assert [d["name"] for d in await api.ok("GET", "/gateways/default/datasets")] == ["reds"]
    status, payload = await api.call("POST", "/gateways/default/datasets", {"name": "x", "filters": [{"key": "bogus"}]})
    assert status == 400
    status, _ = await api.call("POST", "/gateways/default/datasets", {"name": "", "filters": []})
    assert status == 400
    await api.ok("DELETE", f"/gateways/default/datasets/{dataset['id']}")
    status, _ = await api.call("GET", f"/gateways/default/datasets/{dataset['id']}")
    assert status == 404


async def test_a_datasets_time_bound_shows_and_is_taken_as_since_and_until(gw: RunningGateway) -> None:
    api = Api(gw)
    unbounded = await api.ok("POST", "/gateways/default/datasets", {"name": "all", "filters": []})
    assert unbounded["since"] is None and unbounded["until"] is None
    body = {"name": "window", "filters": [], "since": "2026-01-01T00:00:00Z", "until": 1_798_761_600_000}
    bounded = await api.ok("POST", "/gateways/default/datasets", body)
    assert (bounded["since"], bounded["until"]) == ("2026-01-01T00:00:00.000Z", "2027-01-01T00:00:00.000Z")
    assert (await api.ok("GET", f"/gateways/default/datasets/{bounded['id']}"))["since"] == bounded["since"]
    status, payload = await api.call("POST", "/gateways/default/datasets", {"name": "x", "filters": [], "since": "soon"})
    assert status == 400 and "since" in str(payload)


async def test_evaluation_types_and_openapi(gw: RunningGateway) -> None:
    api = Api(gw)
    types = await api.ok("GET", "/evaluation-types")
    assert [t["id"] for t in types] == ["cost", "speed", "human_feedback"]
    assert {"id", "name", "type", "description", "enable", "mandatory", "created_at", "modified_at"} <= set(types[0])
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{gw.api_url}/openapi.json") as resp:
            doc = await resp.json()
    assert doc == orjson.loads(orjson.dumps(openapi_document()))
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    assert documented == {(r.method, "/client/v4" + r.path) for r in ROUTES}


async def test_tokens_shown_once_listed_without_secrets_and_revoked(gw: RunningGateway) -> None:
    api = Api(gw)
    created = await api.ok("POST", "/gateways/default/tokens", {"name": "ci"})
    secret = created["token"]
    assert secret.startswith("aigw_") and created["active"]
    listed = await api.ok("GET", "/gateways/default/tokens")
    assert len(listed) == 1 and "token" not in listed[0] and secret not in orjson.dumps(listed).decode()
    revoked = await api.ok("DELETE", f"/gateways/default/tokens/{created['id']}")
    assert revoked["active"] is False and revoked["revoked_at"]
    status, _ = await api.call("DELETE", "/gateways/default/tokens/01NOTATOKEN0000000000000000")
    assert status == 404


async def test_analytics_from_rollups(gw: RunningGateway) -> None:
    await send_chat(gw, 3)
    await send_chat(gw, 1, **{"x-mock-status": "500"})
    result = await Api(gw).ok("GET", "/gateways/default/analytics", bucket="minute", group_by="provider")
    assert result["totals"]["requests"] == 4 and result["totals"]["errors"] == 1
    assert sum(p["requests"] for p in result["series"]) == 4
    assert {p["group"] for p in result["series"]} == {"openai"}
    assert result["totals"]["cost"] > 0


async def test_unknown_api_route_is_json_404(gw: RunningGateway) -> None:
    status, payload = await Api(gw).call("GET", "/nothing-here")
    assert status == 404 and payload["success"] is False
    status, payload = await Api(gw).call("POST", "/evaluation-types")
    assert status == 405 and payload["success"] is False


async def test_evaluation_over_a_known_dataset(gw: RunningGateway) -> None:
    """Hand-computed: 4 logs with costs c1..c4, durations from the DB, feedback +1, +1, -1, none."""
    api = Api(gw)
    ids = await send_chat(gw, 4, metadata={"set": "eval"})
    await send_chat(gw, 2, metadata={"set": "other"})
    for log_id, feedback in zip(ids, (1, 1, -1)):
        await api.ok("PATCH", f"/gateways/default/logs/{log_id}", {"feedback": feedback})
    logs = {log["id"]: log for log in await api.ok("GET", "/gateways/default/logs", per_page=100)}
    expected_cost = sum(logs[i]["cost"] for i in ids) / 4
    expected_speed = sum(logs[i]["duration"] for i in ids) / 4
    dataset = await api.ok(
        "POST", "/gateways/default/datasets",
        {"name": "eval", "enable": True, "filters": [{"key": "metadata.value", "operator": "eq", "value": ["eval"]}]},
    )  # fmt: skip
    started = await api.ok(
        "POST", "/gateways/default/evaluations",
        {"name": "first", "dataset_ids": [dataset["id"]], "evaluation_type_ids": ["cost", "speed", "human_feedback"]},
    )  # fmt: skip
    await gw.app[SERVICES].evaluations.wait()
    done = await api.ok("GET", f"/gateways/default/evaluations/{started['id']}")
    assert done["status"] == "completed" and done["processed"] and done["total_logs"] == 4
    results = {r["evaluation_type_id"]: r for r in done["results"]}
    assert results["cost"]["value"] == pytest.approx(expected_cost) and results["cost"]["logs_used"] == 4
    assert results["speed"]["value"] == pytest.approx(expected_speed)
    assert results["human_feedback"]["value"] == pytest.approx(200 / 3) and results["human_feedback"]["logs_used"] == 3
    assert all(r["status_description"] == "completed" for r in done["results"])
    # evaluations do not update themselves
    await send_chat(gw, 1, metadata={"set": "eval"})
    again = await api.ok("GET", f"/gateways/default/evaluations/{started['id']}")
    assert again["total_logs"] == 4
    assert [e["id"] for e in await api.ok("GET", "/gateways/default/evaluations")] == [started["id"]]
    status, payload = await api.call(
        "POST", "/gateways/default/evaluations",
        {"name": "x", "dataset_ids": [dataset["id"]], "evaluation_type_ids": ["vibes"]},
    )  # fmt: skip
    assert status == 400 and "vibes" in error_message(payload)
    status, _ = await api.call(
        "POST", "/gateways/default/evaluations", {"name": "x", "dataset_ids": ["nope"], "evaluation_type_ids": ["cost"]}
    )
    assert status == 404
    await api.ok("DELETE", f"/gateways/default/evaluations/{started['id']}")
    assert await api.ok("GET", "/gateways/default/evaluations") == []
    await asyncio.sleep(0)


# -- streaming truth: a 2xx answer whose content is broken is logged as such, through the real proxy --


def _sse(event: dict[str, Any], name: str | None = None) -> bytes:
    return (f"event: {name}\n" if name else "").encode() + b"data: " + orjson.dumps(event) + b"\n\n"


async def _broken_upstream(request: web.Request) -> web.StreamResponse:
    """OpenAI- and Anthropic-shaped answers, each 200 and each broken: a JSON body cut short, an
    OpenAI stream without ``data: [DONE]``, an Anthropic stream without ``message_stop``."""
    body = await request.json()
    if not body.get("stream"):
        return web.Response(body=b'{"id": "chatcmpl-1", "object": "chat.completion", "choices": [',
                            content_type="application/json")  # fmt: skip
    response = web.StreamResponse(headers={"content-type": "text/event-stream"})
    await response.prepare(request)
    if request.path == "/v1/messages":
        await response.write(_sse({"type": "message_start", "message": {"model": "claude-3-5-haiku-20241022",
                                                                      "usage": {"input_tokens": 3}}}, "message_start"))  # fmt: skip
        await response.write(_sse({"type": "content_block_delta", "delta": {"type": "text_delta", "text": "Hi"}}))
    else:
        await response.write(_sse({"object": "chat.completion.chunk", "choices": [{"delta": {"content": "Hi"}}]}))
    await response.write_eof()  # a clean end, but not the end the API promises
    return response


async def test_broken_2xx_answers_are_flagged_in_the_logs_api_and_filterable(gateway_factory: GatewayFactory) -> None:
    app = web.Application()
    app.router.add_post("/v1/chat/completions", _broken_upstream)
    app.router.add_post("/v1/messages", _broken_upstream)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    try:
        gateway = await gateway_factory(
            providers={"openai": ProviderSettings(base_url=f"{base}/v1"), "anthropic": ProviderSettings(base_url=base)},
            api={"admin_token": ADMIN},
        )
        chat = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
        calls = [
            ("openai/chat/completions", chat),
            ("openai/chat/completions", {**chat, "stream": True}),
            ("anthropic/v1/messages", {**chat, "model": "claude-3-5-haiku-20241022", "max_tokens": 5, "stream": True}),
        ]
        ids = []
        async with aiohttp.ClientSession() as session:
            for path, body in calls:
                async with session.post(f"{gateway.gateway_url}/{path}", json=body) as resp:
                    assert resp.status == 200  # relayed exactly as the upstream sent it
                    await resp.read()
                    ids.append(resp.headers["cf-aig-log-id"])
        await gateway.app[PIPE].flush()
        api = Api(gateway)
        logs = {log["id"]: log for log in await api.ok("GET", "/gateways/default/logs")}
        flags = [logs[i]["error"].split(":", 1)[0] for i in ids]
        assert flags == ["malformed_json", "stream_unterminated", "stream_unterminated"]
        assert all(logs[i]["success"] and logs[i]["status_code"] == 200 and logs[i]["error_code"] is None for i in ids)
        assert logs[ids[2]]["tokens_in"] == 3  # what could be read still is
        one = await api.ok("GET", f"/gateways/default/logs/{ids[0]}")
        assert one["error"].startswith("malformed_json: the 200 answer is application/json but does not parse")
        filters = orjson.dumps([{"key": "error", "operator": "contains", "value": ["stream_unterminated"]}]).decode()
        found = await api.ok("GET", "/gateways/default/logs", filters=filters)
        assert sorted(log["id"] for log in found) == sorted(ids[1:])
    finally:
        await runner.cleanup()
