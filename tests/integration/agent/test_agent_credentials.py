"""A private repository over HTTP: bad credentials, for real.

The agent's repository is served by ``git http-backend`` behind an HTTP server on
127.0.0.1 that demands Basic auth (githttp.py). The password reaches git only
through ``credentials.password_file`` in agent.yml: the file is read by a
credential helper at every fetch, so a rotated secret is picked up by the next
pass, and the password is never on a command line, in output, in the agent
state or in a revision.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
from support.git_http import GitHttpServer
from support.git_repo import GitRepo, agent_once, stack_entry, web_stack, write_config
from support.testkit import STACKCTL_STACK_LABEL, new_stack_name, remove_stack_objects, wait_until

from stackctl.agent.config import load_config
from stackctl.agent.loop import Agent, StackSchedule
from stackctl.engine.client import connect

pytestmark = pytest.mark.usefixtures("demo_images")

FILES = ["app/stack.yml"]
USER = "deploy"


@pytest.fixture
def password() -> str:
    return "pw-" + secrets.token_hex(12)


@pytest.fixture
def server(repo: GitRepo, password: str) -> Iterator[GitHttpServer]:
    served = GitHttpServer(repo.root, USER, password)
    yield served
    served.stop()


def running_release(client: docker.DockerClient, stack: str) -> str:
    spec = client.api.inspect_service(f"{stack}_web")["Spec"]["TaskTemplate"]["ContainerSpec"]
    return next(e for e in spec.get("Env", []) if e.startswith("RELEASE="))


def stored_labels(client: docker.DockerClient, stack: str) -> str:
    """Every label of the stack's stackctl configs (revisions, agent state, lock) as text."""
    configs = client.api.configs(filters={"label": f"{STACKCTL_STACK_LABEL}={stack}"})
    agent_state = client.api.configs(filters={"name": f"stackctl-agent-{stack}"})
    return json.dumps([c["Spec"].get("Labels") for c in [*configs, *agent_state]])


class RecordingAgent(Agent):
    """The real loop; it also notes each delay it schedules (to see the backoff)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.delays: dict[str, list[float]] = {name: [] for name in self.stacks}

    def delay_after(self, schedule: StackSchedule) -> float:
        delay = super().delay_after(schedule)
        self.delays[schedule.config.name].append(delay)
        return delay


def test_wrong_password_leaves_the_stack_backs_off_and_a_fixed_secret_applies(
    repo: GitRepo,
    server: GitHttpServer,
    password: str,
    stack_name: str,
    tmp_path: Path,
    docker_client: docker.DockerClient,
    request: pytest.FixtureRequest,
    run_stackctl: Any,
) -> None:
    other = new_stack_name()  # fetched from the local path: no credentials involved
    request.addfinalizer(lambda: remove_stack_objects(docker_client, other))
    secret_file = tmp_path / "git.token"
    secret_file.write_text(password + "\n")
    url = server.url("deploy.git")
    config = write_config(
        tmp_path / "agent.yml",
        [
            stack_entry(
                stack_name,
                url,
                FILES,
                credentials={"username": USER, "password_file": "git.token"},
            ),
            stack_entry(other, str(repo.bare), FILES),
        ],
        interval="1s",
        backoff_max="4s",
    )
    assert password not in config.read_text()  # only the file's name is in agent.yml

    # right credentials: the commit is fetched over authenticated HTTP and applied
    first = repo.push({FILES[0]: web_stack("1", "r1")}, "v1")
    run = agent_once(config)
    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.passes[stack_name]["outcome"] == "applied"
    assert run.passes[stack_name]["commit"] == first
    (revision,) = json.loads(run_stackctl("history", stack_name, "--json").stdout)["revisions"]
    assert revision["git"]["repo"] == url and revision["git"]["commit"] == first

    # wrong password: an error naming the repository; the stack stays; the other goes on
    secret_file.write_text("not-the-password\n")
    refused_before = server.attempts[USER]
    second = repo.push({FILES[0]: web_stack("1", "r2")}, "v2")
    run = agent_once(config)
    assert run.exit_code == 1, run.stdout + run.stderr
    message = run.passes[stack_name]["message"]
    assert run.outcome(stack_name) == "error"
    assert message.startswith("git: ") and url in message, message
    assert "Authentication failed" in message, message
    assert server.attempts[USER] > refused_before  # really tried, and refused by the server
    assert running_release(docker_client, stack_name) == "RELEASE=r1"
    assert (run.outcome(other), run.passes[other]["commit"]) == ("applied", second)
    status = run_stackctl("agent", "status", stack_name)
    outputs = [run.stdout, run.stderr, status.stdout, status.stderr]

    # the running agent backs off on the failing stack while the other keeps its interval;
    # a corrected secret file is read by the next fetch (no restart) and the commit applies
    lines: list[str] = []
    agent = RecordingAgent(
        load_config(str(config)), connect=lambda: connect(None), out=lines.append, as_json=True
    )
    thread = threading.Thread(target=agent.run, daemon=True)
    thread.start()
    try:
        wait_until(
            lambda: len(agent.delays[stack_name]) >= 3,
            timeout=120,
            what="three failed passes of the stack with the wrong password",
        )
        third = repo.push({FILES[0]: web_stack("1", "r3")}, "v3")
        wait_until(
            lambda: running_release(docker_client, other) == "RELEASE=r3",
            timeout=120,
            what="the other stack applying a new commit meanwhile",
        )
        assert running_release(docker_client, stack_name) == "RELEASE=r1"
        failing, healthy = agent.delays[stack_name][:3], agent.delays[other]
        assert failing == [2.0, 4.0, 4.0], failing  # 1s doubled per failure, capped at 4s
        assert set(healthy) == {1.0}, healthy
        secret_file.write_text(password + "\n")

        def applied(commit: str) -> bool:
            last = agent.stacks[stack_name].memory.last
            return last is not None and (last.outcome, last.commit) == ("applied", commit)

        wait_until(
            lambda: applied(third),
            timeout=120,
            what="the commit applied once the secret file holds the right password",
        )
        assert running_release(docker_client, stack_name) == "RELEASE=r3"
    finally:
        agent.request_stop()
        thread.join(timeout=180)
    assert not thread.is_alive()
    passes = [json.loads(line) for line in lines if '"event": "pass"' in line]
    ours = [(p["outcome"], p["commit"]) for p in passes if p["stack"] == stack_name]
    assert ours[0][0] == "error" and ours[-1] == ("applied", third), ours
    history = json.loads(run_stackctl("history", stack_name, "--json").stdout)["revisions"]
    assert [r["git"]["commit"] for r in history] == [first, third]

    # the secret is nowhere: output, status, agent state, revisions
    outputs += lines
    outputs.append(run_stackctl("history", stack_name).stdout)
    for text in [*outputs, stored_labels(docker_client, stack_name)]:
        assert password not in text
