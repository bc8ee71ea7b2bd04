"""The agent decrypts a commit's age-encrypted secret with the identity named in agent.yml.

Real git (served by git daemon on 127.0.0.1), the real Swarm, a real age key: the
secret's plaintext reaches the container and none of the agent's output.
"""

from __future__ import annotations

from pathlib import Path

import docker
import pyrage
import pytest
from support.git_repo import GitDaemon, GitRepo, agent_once, stack_entry, write_config
from support.testkit import service_container_file

pytestmark = pytest.mark.usefixtures("demo_images")

FILES = ["app/stack.yml"]
PLAINTEXT = "agent-age-plaintext-7c1e"

STACK = """services:
  web:
    image: stackctl-demo/web:1
    stop_grace_period: 1s
    secrets: [token]
    deploy:
      replicas: 1
      update_config: {parallelism: 1, delay: 0s, order: start-first, monitor: 1s}
secrets:
  token:
    file: token.age
"""


def test_agent_decrypts_age_secrets_with_the_identity_from_agent_yml(
    repo: GitRepo,
    daemon: GitDaemon,
    stack_name: str,
    tmp_path: Path,
    docker_client: docker.DockerClient,
) -> None:
    identity = pyrage.x25519.Identity.generate()
    armored = pyrage.encrypt(PLAINTEXT.encode(), [identity.to_public()], armored=True)
    commit = repo.push({FILES[0]: STACK, "app/token.age": armored.decode()}, "age secret")
    url = daemon.url("deploy.git")

    # no identity: the commit is refused, located, and nothing is deployed
    (tmp_path / "bare").mkdir()
    bare = write_config(tmp_path / "bare" / "agent.yml", [stack_entry(stack_name, url, FILES)])
    run = agent_once(bare)
    assert (run.exit_code, run.outcome(stack_name)) == (1, "error"), run.stdout + run.stderr
    message = run.passes[stack_name]["message"]
    assert commit[:12] in message and "token.age" in message, message
    assert not docker_client.api.services(filters={"name": f"{stack_name}_web"})

    # the identity named (relative to agent.yml) in agent.yml: applied, secret readable
    keys = tmp_path / "keyed"
    keys.mkdir()
    (keys / "agent.key").write_text(f"{identity}\n")
    config = write_config(
        keys / "agent.yml",
        [stack_entry(stack_name, url, FILES)],
        age_identity_files=["agent.key"],
    )
    run = agent_once(config)
    assert (run.exit_code, run.outcome(stack_name)) == (0, "applied"), run.stdout + run.stderr
    token = service_container_file(docker_client, f"{stack_name}_web", "/run/secrets/token")
    assert token == PLAINTEXT
    for text in (run.stdout, run.stderr):
        assert PLAINTEXT not in text
