"""The agent's HTTP server over real sockets: routing, 404/405/413/500, the bearer token."""

from __future__ import annotations

import errno
import http.client
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from stackctl.agent.config import parse_config
from stackctl.agent.http.routing import HTTPError, Request, Response, Router, RouteSetup
from stackctl.agent.http.server import (
    AgentServer,
    Listen,
    ServerSettings,
    agent_answers,
    build_router,
    is_loopback,
    listen_error,
    parse_listen,
    server_settings,
)
from stackctl.agent.loop import Agent
from stackctl.errors import StackctlError

CONFIG = "stacks: [{name: s, repo: x, files: [a.yml]}]\n"


def agent(text: str = CONFIG, file: str = "agent.yml") -> Agent:
    config = parse_config(text, file)
    return Agent(config, connect=lambda: None, out=print)  # type: ignore[arg-type,return-value]


def echo(setup: RouteSetup, request: Request) -> Response:
    return Response.json(
        {
            "method": request.method,
            "params": dict(request.params),
            "q": request.arg("q"),
            "body": request.body.decode(),
            "client": request.client[0],
            "stacks": sorted(setup.agent.stacks),
        },
        kind="Echo",
    )


def boom(setup: RouteSetup, request: Request) -> Response:
    raise RuntimeError("secret detail")


def teapot(setup: RouteSetup, request: Request) -> Response:
    raise HTTPError(418, "short and stout")


def serve(token: bytes | None, host: str = "127.0.0.1") -> tuple[AgentServer, list[str]]:
    router = Router()
    router.add("GET", "/echo/{name}", echo)
    router.add("POST", "/echo/{name}", echo)
    router.add("GET", "/open", echo, public=True)
    router.add("GET", "/boom", boom)
    router.add("GET", "/teapot", teapot)
    setup = RouteSetup(agent())
    logged: list[str] = []
    server = AgentServer(
        ServerSettings(Listen(host, 0), token, None), router, setup, log=logged.append
    )
    server.start()
    return server, logged


@pytest.fixture
def local() -> Iterator[tuple[AgentServer, list[str]]]:
    server, logged = serve(None)
    yield server, logged
    server.stop()


def call(
    server: AgentServer,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", server.listen.port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_a_route_gets_its_params_query_body_and_the_agent(
    local: tuple[AgentServer, list[str]],
) -> None:
    server, _ = local
    status, headers, body = call(server, "POST", "/echo/a%20b?q=1&q=2", b"hello")
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == {
        "apiVersion": "stackctl/v1",
        "kind": "Echo",
        "method": "POST",
        "params": {"name": "a b"},
        "q": "1",
        "body": "hello",
        "client": "127.0.0.1",
        "stacks": ["s"],
    }


def test_unknown_paths_404_wrong_methods_405_with_allow(
    local: tuple[AgentServer, list[str]],
) -> None:
    server, _ = local
    status, _, body = call(server, "GET", "/nope")
    assert status == 404
    assert json.loads(body)["kind"] == "Error"
    status, headers, _ = call(server, "DELETE", "/echo/x")
    assert status == 405
    assert headers["Allow"] == "GET, POST"


def test_a_failing_handler_answers_500_without_details_and_is_logged(
    local: tuple[AgentServer, list[str]],
) -> None:
    server, logged = local
    status, _, body = call(server, "GET", "/boom")
    assert status == 500
    assert b"secret detail" not in body
    assert any("RuntimeError: secret detail" in line for line in logged)
    status, _, body = call(server, "GET", "/teapot")
    assert (status, json.loads(body)["message"]) == (418, "short and stout")


def test_a_body_over_the_limit_is_refused(local: tuple[AgentServer, list[str]]) -> None:
    server, _ = local
    big = {"Content-Length": str(1024 * 1024 + 1)}  # refused before the body is read
    status, _, _ = call(server, "POST", "/echo/x", b"x", headers=big)
    assert status == 413


def test_on_loopback_every_route_is_open(local: tuple[AgentServer, list[str]]) -> None:
    server, _ = local
    assert call(server, "GET", "/echo/x")[0] == 200


def test_beyond_loopback_routes_need_the_bearer_token_public_ones_do_not() -> None:
    server, _ = serve(b"s3cret-token", host="0.0.0.0")
    try:
        status, headers, body = call(server, "GET", "/echo/x")
        assert status == 401
        assert headers["WWW-Authenticate"].startswith("Bearer")
        assert b"s3cret" not in body
        bad = {"Authorization": "Bearer wrong"}
        assert call(server, "GET", "/echo/x", headers=bad)[0] == 401
        assert call(server, "GET", "/echo/x", headers={"Authorization": "s3cret-token"})[0] == 401
        good = {"Authorization": "Bearer s3cret-token"}
        assert call(server, "GET", "/echo/x", headers=good)[0] == 200
        assert call(server, "GET", "/open")[0] == 200
    finally:
        server.stop()


def test_listen_addresses_and_the_loopback_rule() -> None:
    assert parse_listen("127.0.0.1:8476") == Listen("127.0.0.1", 8476)
    assert parse_listen("[::1]:80") == Listen("::1", 80)
    assert parse_listen(":9000") == Listen("0.0.0.0", 9000)
    assert [is_loopback(h) for h in ("127.0.0.1", "127.0.0.2", "::1", "localhost")] == [True] * 4
    assert [is_loopback(h) for h in ("0.0.0.0", "172.17.0.1", "::", "agent.example")] == [False] * 4
    with pytest.raises(StackctlError):
        parse_listen("8476")


def test_a_non_loopback_listen_without_a_token_file_is_refused(tmp_path: Path) -> None:
    config = parse_config("listen: 0.0.0.0:8476\n" + CONFIG, str(tmp_path / "agent.yml"))
    with pytest.raises(StackctlError, match="api_token_file is not set"):
        server_settings(config)


def test_token_and_secret_files_are_read_beside_agent_yml(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("tok\n")
    (tmp_path / "hook").write_text("  hook-secret\n")
    text = "listen: 0.0.0.0:1\napi_token_file: token\nwebhook_secret_file: hook\n" + CONFIG
    settings = server_settings(parse_config(text, str(tmp_path / "agent.yml")))
    assert (settings.token, settings.webhook_secret) == (b"tok", b"hook-secret")
    (tmp_path / "token").write_text("\n")
    with pytest.raises(StackctlError, match="is empty"):
        server_settings(parse_config(text, str(tmp_path / "agent.yml")))


def test_a_port_in_use_is_a_clear_error(local: tuple[AgentServer, list[str]]) -> None:
    server, _ = local
    port = server.listen.port
    config = parse_config(f"listen: 127.0.0.1:{port}\n{CONFIG}", "/etc/agent.yml")
    settings = server_settings(config)
    with pytest.raises(StackctlError) as caught:
        AgentServer(settings, Router(), RouteSetup(agent()), log=print)
    error = caught.value
    assert (str(error.location), error.path) == ("/etc/agent.yml:1:1", "listen")
    assert error.message.startswith(f"127.0.0.1:{port} is already in use by another process")
    assert "no pass was run" in error.message
    assert error.hint is not None and f"listen: 127.0.0.1:{port + 1}" in error.hint


def test_the_default_address_in_use_names_the_file_and_the_key() -> None:
    settings = server_settings(parse_config(CONFIG, "/etc/agent.yml"))
    error = listen_error(settings, OSError(errno.EADDRINUSE, "Address already in use"))
    assert (str(error.location), error.path) == ("/etc/agent.yml", "listen")
    assert error.message.startswith(
        "127.0.0.1:8476 (the default: the file sets no listen) is already in use by "
    )
    assert error.hint is not None and "set listen in /etc/agent.yml" in error.hint
    other = listen_error(settings, OSError(errno.EACCES, "Permission denied"))
    assert other.message.endswith(": Permission denied")


def test_a_running_agent_is_told_apart_from_another_program(
    local: tuple[AgentServer, list[str]],
) -> None:
    setup = RouteSetup(agent())
    settings = ServerSettings(Listen("127.0.0.1", 0), None, None)
    real = AgentServer(settings, build_router(setup), setup, log=print)
    real.start()
    try:
        assert agent_answers(real.listen)
    finally:
        real.stop()
    other, _ = local  # serves HTTP, but no /healthz
    assert not agent_answers(other.listen)
    with socket.socket() as closed:  # bound, never listening: nothing answers
        closed.bind(("127.0.0.1", 0))
        assert not agent_answers(Listen("127.0.0.1", closed.getsockname()[1]))


def test_every_shipped_route_module_registers_without_clashes() -> None:
    router = build_router(RouteSetup(agent()))
    patterns = [(r.method, r.pattern) for r in router.routes]
    assert len(patterns) == len(set(patterns))


def test_a_route_registered_twice_is_a_programming_error() -> None:
    router = Router()
    router.add("GET", "/x", echo)
    with pytest.raises(ValueError):
        router.add("get", "/x", echo)
