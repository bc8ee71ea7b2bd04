"""The agent process's HTTP surface over real sockets, with the real Swarm and real git.

Each test runs ``stackctl agent --config ... --json`` as a subprocess (``listen``
on port 0) with ``interval: 1h``, so after the first pass only webhook and API
calls make the agent pass again: a pass that should not have run shows up in
the pass count or in the next run's outcome.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

import docker
import pytest
import yaml
from support.agent_metrics import parse, scrape, scrape_body, value
from support.agent_process import Reply, RunningAgent
from support.agent_schemas import check_api_document
from support.git_repo import GitDaemon, GitRepo, stack_entry, web_stack, write_config
from support.promtool import promtool
from support.testkit import REPO_ROOT, run_stackctl_process, wait_until

FILES = ["app/stack.yml"]
SECRET = "hook-s3cret"
TOKEN = "api-t0ken"
PASSES = "stackctl_agent_passes_total"
ROLLBACKS = "stackctl_agent_rollbacks_total"


def running_image(docker_client: docker.DockerClient, stack: str) -> str:
    service = docker_client.api.inspect_service(f"{stack}_web")
    return str(service["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"])


def agent_config(tmp_path: Path, stack: str, repo: str, **top: Any) -> Path:
    (tmp_path / "hook.secret").write_text(SECRET + "\n")
    return write_config(
        tmp_path / "agent.yml",
        [stack_entry(stack, repo, FILES, interval="1h")],
        listen=top.pop("listen", "127.0.0.1:0"),
        webhook_secret_file="hook.secret",
        **top,
    )


def signature(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def github(
    body: dict[str, Any], delivery: str, secret: str = SECRET
) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body).encode()
    return raw, {
        "Content-Type": "application/json",
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": signature(raw, secret),
    }


def github_push(repo_url: str, branch: str = "main") -> dict[str, Any]:
    return {
        "ref": f"refs/heads/{branch}",
        "repository": {"clone_url": repo_url, "html_url": repo_url.removesuffix(".git")},
    }


def wait_run(agent: RunningAgent, accepted: Reply) -> Reply:
    """The run of a 202 answer, once done (the server holds the request until then)."""
    assert accepted.status == 202, accepted.body
    run_id = accepted.json()["run"]["id"]
    assert accepted.headers["Location"] == f"/api/v1/runs/{run_id}"
    reply = agent.call("GET", f"/api/v1/runs/{run_id}?wait=240", timeout=300)
    assert reply.json()["state"] == "done", reply.body
    check_api_document(reply.json())
    return reply


def github_recipe(agent: RunningAgent, daemon: GitDaemon, tmp_path: Path) -> tuple[int, str]:
    """Run the `agent` job of docs/examples/github-actions/stackctl.yml against ``agent``."""

    workflow = REPO_ROOT / "docs" / "examples" / "github-actions" / "stackctl.yml"
    (step,) = yaml.safe_load(workflow.read_text())["jobs"]["agent"]["steps"]
    script = tmp_path / "agent-step.sh"
    script.write_text(step["run"])
    env = {
        "PATH": os.environ["PATH"],
        "AGENT_URL": f"http://127.0.0.1:{agent.port}",
        "WEBHOOK_SECRET": SECRET,
        "AGENT_TOKEN": TOKEN,
        "GITHUB_SERVER_URL": f"git://127.0.0.1:{daemon.port}",
        "GITHUB_REPOSITORY": "deploy",
        "GITHUB_REF_NAME": "main",
        "GITHUB_RUN_ID": str(uuid.uuid4()),
        "GITHUB_RUN_ATTEMPT": "1",
    }
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=660,
    )
    return done.returncode, done.stdout + done.stderr


def pass_count(agent: RunningAgent) -> int:
    """Passes the agent started (its log is quiet about repeated no_change passes)."""
    reply = agent.call("GET", "/api/v1/stacks")
    return int(reply.json()["stacks"][0]["passes"])


def first_pass_done(agent: RunningAgent) -> bool:
    return len(agent.passes()) >= 1


@pytest.mark.usefixtures("demo_images")
def test_signed_webhooks_from_each_provider_trigger_a_pass_once_and_bad_ones_nothing(
    repo: GitRepo,
    daemon: GitDaemon,
    stack_name: str,
    tmp_path: Path,
    docker_client: docker.DockerClient,
) -> None:
    repo.push({FILES[0]: web_stack("1")}, "v1")
    url = daemon.url("deploy.git")
    agent = RunningAgent(agent_config(tmp_path, stack_name, url))
    try:
        wait_until(lambda: first_pass_done(agent), timeout=240, what="the first pass")
        assert agent.passes()[0]["outcome"] == "applied", agent.logs()
        second = repo.push({FILES[0]: web_stack("2")}, "v2")
        # the payload names the repository the way GitHub does (https, credentials, port)
        as_github = f"https://user:pw@127.0.0.1:{daemon.port}/deploy.git"
        body, headers = github(github_push(as_github), str(uuid.uuid4()))

        # wrong secret, missing signature, a bad GitLab token, a bad generic signature: 401
        bad_github = github(github_push(as_github), str(uuid.uuid4()), secret="wrong")
        generic = json.dumps({"repo": url, "branch": "main"}).encode()
        refused = [
            agent.call("POST", "/hooks/git", bad_github[0], bad_github[1]),
            agent.call("POST", "/hooks/git", body, {"X-GitHub-Event": "push"}),
            agent.call("POST", "/hooks/git", body, {"X-Gitlab-Token": "wrong"}),
            agent.call(
                "POST",
                "/hooks/git",
                generic,
                {"X-Stackctl-Signature-256": signature(generic, "wrong")},
            ),
            agent.call(
                "POST",  # signed for another body: the signature covers the raw bytes
                "/hooks/git",
                generic + b" ",
                {"X-Stackctl-Signature-256": signature(generic)},
            ),
        ]
        assert [r.status for r in refused] == [401] * 5
        for reply in refused:
            check_api_document(reply.json())
            assert SECRET.encode() not in reply.body
        assert pass_count(agent) == 1

        # a valid GitHub push: 202 with a run whose pass applies the new commit
        accepted = agent.call("POST", "/hooks/git", body, headers)
        check_api_document(accepted.json())
        assert accepted.json()["stacks"] == [stack_name]
        run = wait_run(agent, accepted)
        assert run.status == 200
        assert run.json()["succeeded"] is True
        assert run.json()["stacks"][0]["outcome"] == "applied"  # not already applied by a 401
        assert run.json()["stacks"][0]["commit"] == second
        assert running_image(docker_client, stack_name) == "stackctl-demo/web:2"

        # the same delivery again: accepted as the same run, nothing runs
        replay = agent.call("POST", "/hooks/git", body, headers)
        assert replay.status == 202
        assert replay.json()["duplicate"] is True
        assert replay.json()["run"]["id"] == accepted.json()["run"]["id"]

        # GitLab (its token header) and the generic signature each run one pass
        gitlab_body = json.dumps(
            {
                "object_kind": "push",
                "ref": "refs/heads/main",
                "project": {"git_http_url": f"http://127.0.0.1/{'deploy.git'}"},
            }
        ).encode()
        gitlab_headers = {
            "X-Gitlab-Event": "Push Hook",
            "X-Gitlab-Token": SECRET,
            "X-Gitlab-Event-UUID": str(uuid.uuid4()),
        }
        gitlab = agent.call("POST", "/hooks/git", gitlab_body, gitlab_headers)
        run = wait_run(agent, gitlab)
        assert run.json()["stacks"][0]["outcome"] == "no_change"
        replay = agent.call("POST", "/hooks/git", gitlab_body, gitlab_headers)
        assert (replay.status, replay.json()["duplicate"]) == (202, True)
        assert replay.json()["run"]["id"] == gitlab.json()["run"]["id"]
        generic_headers = {"X-Stackctl-Signature-256": signature(generic)}
        run = wait_run(agent, agent.call("POST", "/hooks/git", generic, generic_headers))
        assert (run.status, run.json()["succeeded"]) == (200, True)

        # a push to a branch no stack follows: verified, answered, nothing runs
        other = json.dumps({"repo": url, "branch": "feature"}).encode()
        ignored = agent.call(
            "POST", "/hooks/git", other, {"X-Stackctl-Signature-256": signature(other)}
        )
        assert (ignored.status, ignored.json()["run"]) == (200, None)
        # first pass, GitHub, GitLab, generic: the replay and the 401s ran nothing
        assert pass_count(agent) == 4, agent.logs()

        # the GitHub Actions recipe's agent job: signed generic hook, waits, passes
        third = repo.push({FILES[0]: web_stack("1", release="r3")}, "v3")
        code, output = github_recipe(agent, daemon, tmp_path)
        assert code == 0, output
        assert third in output
        assert running_image(docker_client, stack_name) == "stackctl-demo/web:1"
    finally:
        code = agent.stop()
    assert code == 0, agent.logs()
    assert SECRET not in agent.logs()
    assert "the github signature does not match the webhook secret" in agent.logs()


@pytest.mark.usefixtures("demo_images")
def test_a_failed_deploy_is_never_reported_as_success_and_the_api_shows_it(
    repo: GitRepo,
    daemon: GitDaemon,
    stack_name: str,
    tmp_path: Path,
    docker_client: docker.DockerClient,
) -> None:
    repo.push({FILES[0]: web_stack("1")}, "v1")
    url = daemon.url("deploy.git")
    agent = RunningAgent(agent_config(tmp_path, stack_name, url))
    try:
        wait_until(lambda: first_pass_done(agent), timeout=240, what="the first pass")
        stacks = agent.call("GET", "/api/v1/stacks")
        assert stacks.status == 200
        check_api_document(stacks.json())
        (entry,) = stacks.json()["stacks"]
        assert (entry["name"], entry["outcome"], entry["suspended"]) == (
            stack_name,
            "applied",
            False,
        )

        broken = repo.push({FILES[0]: web_stack("broken")}, "broken")
        generic = json.dumps({"repo": url, "branch": "main"}).encode()
        accepted = agent.call(
            "POST", "/hooks/git", generic, {"X-Stackctl-Signature-256": signature(generic)}
        )
        assert accepted.status == 202  # accepted, not "deployed"
        run = wait_run(agent, accepted)
        assert run.status == 424, run.body  # never a 2xx about a failed deploy
        assert run.json()["succeeded"] is False
        assert run.json()["stacks"][0]["outcome"] == "rolled_back"
        assert run.json()["stacks"][0]["commit"] == broken
        assert running_image(docker_client, stack_name) == "stackctl-demo/web:1"

        (entry,) = agent.call("GET", "/api/v1/stacks").json()["stacks"]
        assert (entry["outcome"], entry["commit"]) == ("rolled_back", broken)
        # the status page and the metrics say it too (the page: no "applied" for the stack)
        page = agent.call("GET", "/").body.decode()
        assert f'<td class="mono commit">{broken[:12]}</td>' in page, page
        assert '<td class="outcome outcome-rolled_back">rolled_back</td>' in page, page
        assert '<td class="outcome outcome-applied">' not in page, page
        samples, _ = scrape(agent)
        assert value(samples, PASSES, stack_name, outcome="rolled_back") == 1
        assert value(samples, PASSES, stack_name, outcome="applied") == 1
        # the agent's apply rolled the broken commit back: exactly one rollback counted
        assert value(samples, ROLLBACKS, stack_name) == 1
        history = agent.call("GET", f"/api/v1/stacks/{stack_name}/history")
        assert history.status == 200
        check_api_document(history.json())
        assert [r["outcome"] for r in history.json()["revisions"]] == ["applied", "rolled_back"]
        assert history.json()["revisions"][-1]["git"]["commit"] == broken
        # the GitHub Actions recipe fails its job: the commit is held, not deployed
        code, output = github_recipe(agent, daemon, tmp_path)
        assert code == 1, output
        assert '"outcome": "held"' in output and "did not succeed" in output

        # suspend: stored in the cluster, the next pass stands still (not a success either)
        suspended = agent.call("POST", f"/api/v1/stacks/{stack_name}/suspend")
        assert (suspended.status, suspended.json()["suspended"]) == (200, True)
        check_api_document(suspended.json())
        status = json.loads(_cli("agent", "status", stack_name, "--json"))
        assert (status["kind"], status["stacks"][0]["suspended"]) == ("AgentStatus", True)
        run = wait_run(agent, agent.call("POST", f"/api/v1/stacks/{stack_name}/sync"))
        assert (run.status, run.json()["stacks"][0]["outcome"]) == (424, "suspended")
        # resume: the broken commit stays held (a resume is not a retry)
        run = wait_run(agent, agent.call("POST", f"/api/v1/stacks/{stack_name}/resume"))
        assert (run.status, run.json()["stacks"][0]["outcome"]) == (424, "held")
        (entry,) = agent.call("GET", "/api/v1/stacks").json()["stacks"]
        assert (entry["suspended"], entry["outcome"]) == (False, "held")
        assert agent.call("POST", "/api/v1/stacks/nope/sync").status == 404

        # retry: the held commit is applied again (a new attempt, rolled back again)
        held_passes = pass_count(agent)
        retried = agent.call("POST", f"/api/v1/stacks/{stack_name}/retry")
        check_api_document(retried.json())
        assert retried.json()["kind"] == "StackControl", retried.body
        assert (retried.json()["stack"], retried.json()["action"]) == (stack_name, "retry")
        assert retried.json()["suspended"] is False
        run = wait_run(agent, retried)
        assert run.status == 424, run.body
        assert run.json()["succeeded"] is False
        assert run.json()["stacks"][0]["outcome"] == "rolled_back"  # applied, not held
        assert run.json()["stacks"][0]["commit"] == broken
        assert pass_count(agent) == held_passes + 1
        assert running_image(docker_client, stack_name) == "stackctl-demo/web:1"
        history = agent.call("GET", f"/api/v1/stacks/{stack_name}/history").json()
        assert [r["outcome"] for r in history["revisions"]] == [
            "applied",
            "rolled_back",
            "rolled_back",
        ], history
        assert history["revisions"][-1]["git"]["commit"] == broken
        body = scrape_body(agent)
        samples, _ = parse(body)
        assert value(samples, ROLLBACKS, stack_name) == 2
        assert value(samples, PASSES, stack_name, outcome="rolled_back") == 2
        assert value(samples, PASSES, stack_name, outcome="applied") == 1
        assert value(samples, "stackctl_agent_outcome", stack_name, outcome="rolled_back") == 1
        # Prometheus's own checker accepts the exposition (format and naming lint)
        checked = promtool("check", "metrics", stdin=body)
        assert checked.returncode == 0, checked.stdout + checked.stderr
    finally:
        code = agent.stop()
    assert code == 0, agent.logs()


def _cli(*args: str) -> str:
    result = run_stackctl_process(*args)
    assert result.exit_code == 0, result.stderr
    return result.stdout


def test_beyond_loopback_the_api_needs_the_bearer_token_but_signed_webhooks_do_not(
    tmp_path: Path, stack_name: str
) -> None:
    (tmp_path / "api.token").write_text(TOKEN + "\n")
    repo = str(tmp_path / "missing.git")  # no pass needs to succeed here
    config = agent_config(
        tmp_path, stack_name, repo, listen="0.0.0.0:0", api_token_file="api.token"
    )
    agent = RunningAgent(config)
    try:
        refused = agent.call("GET", "/api/v1/stacks")
        assert refused.status == 401
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")
        wrong = agent.call("GET", "/api/v1/stacks", headers={"Authorization": "Bearer nope"})
        assert wrong.status == 401
        assert agent.call("POST", f"/api/v1/stacks/{stack_name}/sync").status == 401
        allowed = agent.call("GET", "/api/v1/stacks", headers={"Authorization": f"Bearer {TOKEN}"})
        assert allowed.status == 200
        assert allowed.json()["stacks"][0]["name"] == stack_name
        generic = json.dumps({"repo": repo, "branch": "main"}).encode()
        hook = agent.call(
            "POST", "/hooks/git", generic, {"X-Stackctl-Signature-256": signature(generic)}
        )
        assert hook.status == 202, hook.body
        assert agent.call("POST", "/hooks/git", generic, {}).status == 401
    finally:
        code = agent.stop()
    assert code == 0, agent.logs()
    assert TOKEN not in agent.logs()


def test_the_agent_serves_http_on_a_free_port_and_stops_cleanly_on_sigterm(
    stack_name: str, tmp_path: Path
) -> None:
    config = write_config(
        tmp_path / "agent.yml",
        [stack_entry(stack_name, str(tmp_path / "missing.git"), FILES, interval="1h")],
        listen="127.0.0.1:0",
    )
    agent = RunningAgent(config)
    try:
        reply = agent.call("GET", "/no/such/endpoint")
        assert reply.status == 404
        assert reply.json()["apiVersion"] == "stackctl/v1"
        # no webhook_secret_file: every delivery is refused, signed or not
        body = b'{"repo": "x", "branch": "main"}'
        hook = agent.call("POST", "/hooks/git", body, {"X-Stackctl-Signature-256": signature(body)})
        assert hook.status == 401
    finally:
        code = agent.stop()
    assert code == 0, agent.logs()
    assert "stackctl agent: stopped" in agent.logs()


def test_a_non_loopback_listen_without_a_token_file_is_refused_before_any_pass(
    tmp_path: Path, run_stackctl: Any
) -> None:
    config = write_config(
        tmp_path / "agent.yml",
        [stack_entry("never", str(tmp_path / "missing.git"), FILES)],
        listen="0.0.0.0:0",
    )
    result = run_stackctl("agent", "--config", str(config))
    assert result.exit_code == 1
    assert "api_token_file is not set" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
