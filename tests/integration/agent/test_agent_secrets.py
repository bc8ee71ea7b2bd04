"""No secret reaches any surface of a running agent.

One real agent process deploys, over real git, a stack holding a Swarm secret
(file content) and environment values, each a unique marker; the webhook
secret and the API token come from files holding unique markers too. A second
commit (new markers) is applied by a signed webhook, so every surface has seen
a pass that changed secret and environment: the agent's stdout and stderr, every
API answer (stacks, stack, history, the run), /metrics, the status page,
/readyz, /healthz, the 401 answers, the JSON notification sink's bodies, and the
CLI's ``agent status --json``, ``history --json`` and ``status --json``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from pathlib import Path

import docker
import pytest
from support.agent_process import RunningAgent
from support.git_repo import GitDaemon, GitRepo, free_port, stack_entry, write_config
from support.http_receiver import Receiver
from support.testkit import run_stackctl_process, service_container_file, wait_until

pytestmark = pytest.mark.usefixtures("demo_images")

FILES = ["app/stack.yml"]

STACK = """services:
  web:
    image: stackctl-demo/web:1
    stop_grace_period: 1s
    env_file: app.env
    environment:
      API_KEY: "{env}"
      PLAIN: "{plain}"
    secrets: [token]
    deploy:
      replicas: 1
      update_config: {{parallelism: 1, delay: 0s, order: start-first, monitor: 1s}}
secrets:
  token:
    file: token.txt
"""


def marker(what: str) -> str:
    return f"{what}-{uuid.uuid4().hex}"


def commit(repo: GitRepo, secret: str, env: str, plain: str, env_file: str, message: str) -> str:
    stack = STACK.format(env=env, plain=plain)
    files = {FILES[0]: stack, "app/token.txt": secret + "\n", "app/app.env": env_file}
    return repo.push(files, message)


def test_no_secret_env_value_token_or_webhook_secret_reaches_any_surface(
    repo: GitRepo,
    daemon: GitDaemon,
    stack_name: str,
    tmp_path: Path,
    docker_client: docker.DockerClient,
) -> None:
    hook_secret, api_token = marker("hooksecret"), marker("apitoken")
    secrets = [marker("secretfile"), marker("secretfile")]
    envs = [marker("envvalue"), marker("envvalue")]
    # a value that is not secret but equally private: environment values never show
    plains = [marker("plainenv"), marker("plainenv")]
    env_files = [marker("envfile"), marker("envfile")]
    # a third commit whose env file is malformed: the error must not quote its lines
    broken_lines = [marker("brokenline"), marker("brokenvalue")]
    broken_env = f"FROM_FILE=ok\nDB_PASSWORD {broken_lines[0]}\n={broken_lines[1]}\n"
    # webhook URLs carry tokens in their paths (Slack's do): a sink that answers, and
    # one that is down, so the agent logs about it after its retries
    sink_token, down_token = marker("sinkpath"), marker("downpath")
    down_port = free_port()
    markers = [hook_secret, api_token, *secrets, *envs, *plains, *env_files, *broken_lines]
    markers += [sink_token, down_token]

    (tmp_path / "hook.secret").write_text(hook_secret + "\n")
    (tmp_path / "api.token").write_text(api_token + "\n")
    auth = {"Authorization": f"Bearer {api_token}"}
    surfaces: dict[str, bytes | str] = {}

    with Receiver() as receiver:
        config = write_config(
            tmp_path / "agent.yml",
            [stack_entry(stack_name, daemon.url("deploy.git"), FILES, interval="1h")],
            listen="127.0.0.1:0",
            webhook_secret_file="hook.secret",
            api_token_file="api.token",
            notify=[
                {"type": "json", "url": f"{receiver.url}/{sink_token}"},
                {"type": "slack", "url": f"http://127.0.0.1:{down_port}/{down_token}"},
            ],
        )
        commit(repo, secrets[0], envs[0], plains[0], f"FROM_FILE={env_files[0]}\n", "v1")
        agent = RunningAgent(config)
        try:
            wait_until(lambda: len(agent.passes()) >= 1, timeout=240, what="the first pass")
            assert agent.passes()[0]["outcome"] == "applied", agent.logs()
            receiver.wait_for(1)

            # a second commit, deployed by a signed webhook: secret and environment change
            second = commit(
                repo, secrets[1], envs[1], plains[1], f"FROM_FILE={env_files[1]}\n", "v2"
            )
            body = json.dumps({"repo": daemon.url("deploy.git"), "branch": "main"}).encode()
            signed = "sha256=" + hmac.new(hook_secret.encode(), body, hashlib.sha256).hexdigest()
            accepted = agent.call("POST", "/hooks/git", body, {"X-Stackctl-Signature-256": signed})
            assert accepted.status == 202, accepted.body
            surfaces["webhook 202"] = accepted.body
            run_id = accepted.json()["run"]["id"]
            run = agent.call("GET", f"/api/v1/runs/{run_id}?wait=240", headers=auth)
            assert (run.status, run.json()["stacks"][0]["outcome"]) == (200, "applied"), run.body
            assert run.json()["stacks"][0]["commit"] == second
            surfaces["GET /api/v1/runs/ID"] = run.body
            # the secret did reach the container: the markers are the real values
            web = f"{stack_name}_web"
            token = service_container_file(docker_client, web, "/run/secrets/token")
            assert token.strip() == secrets[1]
            spec = docker_client.api.inspect_service(web)["Spec"]["TaskTemplate"]
            assert f"API_KEY={envs[1]}" in spec["ContainerSpec"]["Env"]
            assert f"FROM_FILE={env_files[1]}" in spec["ContainerSpec"]["Env"]
            receiver.wait_for(2)

            # the malformed env file: the pass fails with a located error, quoting nothing
            third = commit(repo, secrets[1], envs[1], plains[1], broken_env, "v3")
            body = json.dumps({"repo": daemon.url("deploy.git"), "branch": "main"}).encode()
            signed = "sha256=" + hmac.new(hook_secret.encode(), body, hashlib.sha256).hexdigest()
            accepted = agent.call("POST", "/hooks/git", body, {"X-Stackctl-Signature-256": signed})
            run_id = accepted.json()["run"]["id"]
            run = agent.call("GET", f"/api/v1/runs/{run_id}?wait=240", headers=auth)
            assert (run.status, run.json()["stacks"][0]["outcome"]) == (424, "error"), run.body
            message = run.json()["stacks"][0]["message"]
            assert third[:12] in message and "app.env:2" in message, message
            surfaces["GET /api/v1/runs/ID (error)"] = run.body
            receiver.wait_for(3)

            for path in (
                "/api/v1/stacks",
                f"/api/v1/stacks/{stack_name}",
                f"/api/v1/stacks/{stack_name}/history",
                "/metrics",
                "/",
                "/readyz",
                "/healthz",
            ):
                reply = agent.call("GET", path, headers=auth)
                assert reply.status == 200, (path, reply.body)
                surfaces[f"GET {path}"] = reply.body

            # error answers: a wrong token, no token, bad signatures of every provider
            errors = {
                "no token": agent.call("GET", "/api/v1/stacks"),
                "wrong token": agent.call(
                    "GET", "/api/v1/stacks", headers={"Authorization": "Bearer nope"}
                ),
                "status page without token": agent.call("GET", "/"),
                "generic bad signature": agent.call(
                    "POST", "/hooks/git", body, {"X-Stackctl-Signature-256": "sha256=00"}
                ),
                "github bad signature": agent.call(
                    "POST",
                    "/hooks/git",
                    body,
                    {"X-Hub-Signature-256": "sha256=00", "X-GitHub-Event": "push"},
                ),
                "gitlab bad token": agent.call(
                    "POST", "/hooks/git", body, {"X-Gitlab-Token": "nope"}
                ),
                "unsigned": agent.call("POST", "/hooks/git", body, {}),
            }
            for what, reply in errors.items():
                assert reply.status == 401, (what, reply.body)
                surfaces[f"401 {what}"] = json.dumps(reply.headers).encode() + reply.body
            surfaces["404"] = agent.call("GET", "/nope", headers=auth).body
            # the down sink: retried, then given up with a line naming its host only
            wait_until(
                lambda: f"127.0.0.1:{down_port}" in "".join(agent.err.lines + agent.out.lines),
                timeout=120,
                what="the agent to report the sink that is down\n" + agent.logs(),
            )
        finally:
            code = agent.stop()
        assert code == 0, agent.logs()
        notifications = receiver.documents()

    outcomes = [n["outcome"] for n in notifications]
    assert outcomes == ["applied", "applied", "error"], notifications
    for index, document in enumerate(notifications):
        surfaces[f"notification {index}"] = json.dumps(document)
    surfaces["agent stdout"] = "".join(agent.out.lines)
    surfaces["agent stderr"] = "".join(agent.err.lines)

    for args in (
        ("agent", "status", "--json"),
        ("agent", "status", stack_name),
        ("history", stack_name, "--json"),
        ("history", stack_name),
        ("status", stack_name, "--json"),
        ("status", stack_name),
        ("ls", "--json"),
    ):
        result = run_stackctl_process(*args)
        assert result.exit_code == 0, (args, result.stderr)
        assert stack_name in result.stdout or "applied" in result.stdout, (args, result.stdout)
        surfaces["stackctl " + " ".join(args)] = result.stdout + result.stderr

    leaks = [
        (surface, found)
        for surface, text in surfaces.items()
        for found in markers
        if found.encode() in (text if isinstance(text, bytes) else text.encode())
    ]
    assert not leaks, leaks
    # the scan looked at real content (an empty surface would pass it vacuously)
    assert stack_name.encode() in surfaces["GET /"]
    assert second in str(surfaces["agent stdout"])
    assert len(surfaces) >= 25
