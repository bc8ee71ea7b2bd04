"""The API and webhook routes over real sockets, answers validated against their JSON Schemas.

The agent here has no engine (its connection fails), so passes end ``error``:
enough to follow runs from request to outcome without a Swarm.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from importlib import resources
from typing import Any

import pytest
from jsonschema import Draft7Validator

from stackctl.agent.config import parse_config
from stackctl.agent.http.routing import RouteSetup
from stackctl.agent.http.server import AgentServer, Listen, ServerSettings, build_router
from stackctl.agent.http.webhooks import sign
from stackctl.agent.loop import Agent
from stackctl.engine.client import EngineClient
from stackctl.errors import EngineError

SECRET = b"hook-secret"
CONFIG = """
stacks:
  - {name: shop, repo: "https://git.example.com/ops/deploy.git", files: [a.yml]}
  - {name: blog, repo: "https://git.example.com/ops/blog.git", files: [a.yml]}
"""


def no_engine() -> EngineClient:
    raise EngineError("cannot reach the engine at unix:///nowhere")


def schema(name: str) -> dict[str, Any]:
    text = (resources.files("stackctl.schemas") / name).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def check(document: Any, name: str = "agent-api.schema.json") -> Any:
    Draft7Validator(schema(name)).validate(document)
    return document


@pytest.fixture
def served() -> Iterator[tuple[Agent, AgentServer]]:
    agent = Agent(parse_config(CONFIG, "agent.yml"), connect=no_engine, out=lambda line: None)
    setup = RouteSetup(agent, SECRET)
    server = AgentServer(
        ServerSettings(Listen("127.0.0.1", 0), None, SECRET),
        build_router(setup),
        setup,
        log=print,
    )
    server.start()
    yield agent, server
    server.stop()


def call(
    server: AgentServer,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", server.listen.port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, check(json.loads(response.read()))
    finally:
        connection.close()


def simulate_pass(agent: Agent, name: str) -> None:
    """What ``Agent.run`` does around a pass (number it, run it on this thread)."""
    schedule = agent.stacks[name]
    schedule.started += 1
    schedule.running = True
    agent.run_pass(name)
    schedule.running = False


def test_stacks_answer_even_without_an_engine_and_say_why(
    served: tuple[Agent, AgentServer],
) -> None:
    _, server = served
    status, document = call(server, "GET", "/api/v1/stacks")
    assert status == 200
    assert [s["name"] for s in document["stacks"]] == ["shop", "blog"]
    assert document["stacks"][0]["suspended"] is None
    assert "cannot reach the engine" in document["engineError"]
    status, document = call(server, "GET", "/api/v1/stacks/shop")
    assert (status, document["kind"]) == (200, "AgentStack")
    assert call(server, "GET", "/api/v1/stacks/nope")[0] == 404
    status, document = call(server, "GET", "/api/v1/stacks/shop/history")
    assert status == 503
    assert document["kind"] == "Error"


def test_a_sync_run_follows_the_next_pass_and_a_failed_one_is_not_2xx(
    served: tuple[Agent, AgentServer],
) -> None:
    agent, server = served
    status, document = call(server, "POST", "/api/v1/stacks/shop/sync")
    assert status == 202
    run_id = document["run"]["id"]
    assert document["run"]["state"] == "pending"
    assert agent.stacks["shop"].next_due == 0.0  # made due now
    status, document = call(server, "GET", f"/api/v1/runs/{run_id}")
    assert (status, document["state"], document["succeeded"]) == (200, "pending", None)
    simulate_pass(agent, "shop")
    status, document = call(server, "GET", f"/api/v1/runs/{run_id}?wait=5")
    assert status == 424
    assert (document["state"], document["succeeded"]) == ("done", False)
    assert document["stacks"][0]["outcome"] == "error"
    assert call(server, "GET", "/api/v1/runs/0000000000000000")[0] == 404
    assert call(server, "GET", f"/api/v1/runs/{run_id}?wait=soon")[0] == 400


def test_a_pass_already_running_when_the_run_starts_does_not_count_for_it(
    served: tuple[Agent, AgentServer],
) -> None:
    agent, server = served
    schedule = agent.stacks["shop"]
    schedule.started, schedule.running = 1, True  # a pass runs (it fetched before the push)
    _, document = call(server, "POST", "/api/v1/stacks/shop/sync")
    assert schedule.sync_requested  # the loop passes again right after it
    agent.run_pass("shop")  # the running pass ends
    schedule.running = False
    _, document = call(server, "GET", f"/api/v1/runs/{document['run']['id']}")
    assert document["state"] == "pending"
    simulate_pass(agent, "shop")
    _, document = call(server, "GET", f"/api/v1/runs/{document['id']}")
    assert document["state"] == "done"


def test_controls_report_engine_trouble_as_503_not_success(
    served: tuple[Agent, AgentServer],
) -> None:
    _, server = served
    for action in ("suspend", "resume", "retry"):
        status, document = call(server, "POST", f"/api/v1/stacks/shop/{action}")
        assert (status, document["kind"]) == (503, "Error")


def test_a_signed_delivery_starts_one_run_for_the_matching_stack(
    served: tuple[Agent, AgentServer],
) -> None:
    _, server = served
    body = json.dumps({"repo": "git@git.example.com:ops/deploy.git", "branch": "main"}).encode()
    check(json.loads(body), "webhook-generic.schema.json")
    headers = {"X-Stackctl-Signature-256": sign(SECRET, body), "X-Stackctl-Delivery": "one"}
    status, first = call(server, "POST", "/hooks/git", body, headers)
    assert (status, first["stacks"], first["duplicate"]) == (202, ["shop"], False)
    status, again = call(server, "POST", "/hooks/git", body, headers)
    assert (status, again["duplicate"]) == (202, True)
    assert again["run"]["id"] == first["run"]["id"]
    status, refused = call(server, "POST", "/hooks/git", body, {})
    assert (status, refused["kind"]) == (401, "Error")
    ping = b'{"zen": "Keep it logically awesome."}'
    status, document = call(
        server,
        "POST",
        "/hooks/git",
        ping,
        {"X-GitHub-Event": "ping", "X-Hub-Signature-256": sign(SECRET, ping)},
    )
    assert (status, document["run"], document["event"]) == (200, None, "ping")
