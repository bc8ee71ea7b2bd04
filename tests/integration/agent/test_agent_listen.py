"""Two agents on one host, one listen address: the second refuses to start, located.

Two real ``stackctl agent`` processes. The first serves on a free port; the second
is given the same ``listen``. It must exit 1 before any pass, with no traceback,
naming the address, the agent.yml line of ``listen`` and the fix, and saying that
another agent holds it; the first keeps serving.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import docker
import pytest
from support.agent_process import RunningAgent
from support.git_repo import GitDaemon, GitRepo, stack_entry, write_config
from support.testkit import new_stack_name, remove_stack_objects, run_stackctl_process

FILES = ["app/stack.yml"]


def state_configs(client: docker.DockerClient, stack: str) -> list[str]:
    """The agent state a pass of ``stack`` writes (absent: no pass ran)."""
    return [c.name for c in client.configs.list(filters={"name": f"stackctl-agent-{stack}"})]


def test_a_second_agent_on_a_taken_listen_address_exits_1_before_any_pass(
    repo: GitRepo,
    daemon: GitDaemon,
    stack_name: str,
    tmp_path: Path,
    docker_client: docker.DockerClient,
    request: pytest.FixtureRequest,
) -> None:
    repo.push({FILES[0]: "services: {}\n"}, "empty")
    url = daemon.url("deploy.git")
    first = RunningAgent(
        write_config(tmp_path / "first.yml", [stack_entry(stack_name, url, FILES, interval="1h")])
    )
    try:
        second_stack = new_stack_name()
        request.addfinalizer(lambda: remove_stack_objects(docker_client, second_stack))
        taken = f"127.0.0.1:{first.port}"
        config = write_config(
            tmp_path / "second.yml",
            [stack_entry(second_stack, url, FILES, interval="1h")],
            listen=taken,
        )
        line = next(
            number
            for number, text in enumerate(config.read_text().splitlines(), start=1)
            if '"listen"' in text
        )
        second = run_stackctl_process("agent", "--config", str(config), "--json", timeout=120)

        assert second.exit_code == 1, second.stdout + second.stderr
        assert "Traceback" not in second.stderr
        assert second.stdout == ""  # no pass line: no pass ran
        assert f"{config}:{line}:" in second.stderr, second.stderr
        assert f"listen: {taken} is already in use by another stackctl agent" in second.stderr
        assert "no pass was run" in second.stderr
        assert "hint: every agent on a host needs its own listen address" in second.stderr
        assert state_configs(docker_client, second_stack) == []

        health = first.call("GET", "/healthz")  # the first agent is untouched
        assert (health.status, json.loads(health.body)["kind"]) == (200, "Health")
    finally:
        assert first.stop() == 0, first.logs()


def test_an_address_another_program_holds_is_named_as_such(
    stack_name: str, tmp_path: Path, docker_client: docker.DockerClient
) -> None:
    with socket.socket() as holder:  # a program that is not an agent
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = f"127.0.0.1:{holder.getsockname()[1]}"
        config = write_config(
            tmp_path / "agent.yml",
            [stack_entry(stack_name, str(tmp_path / "none.git"), FILES)],
            listen=taken,
        )
        result = run_stackctl_process("agent", "--config", str(config), timeout=120)
    assert result.exit_code == 1, result.stdout + result.stderr
    assert f"listen: {taken} is already in use by another process" in result.stderr
    assert "Traceback" not in result.stderr
    assert state_configs(docker_client, stack_name) == []
