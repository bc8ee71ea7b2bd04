"""The agent as users run it in the cluster: the offline-built image, deployed as a Swarm
service with deploy/agent/stack.yml, applies a commit from a private git server.

- The image is built by deploy/agent/build-image.sh (cached by the hash of its inputs,
  so only the first run on a machine pays the build).
- deploy/agent/stack.yml is applied as it ships (Docker socket mounted, constrained to
  managers, agent.yml as a Swarm config), plus a small override file, the way a user
  adds a site's settings: this test's agent.yml and the git password as a Swarm
  secret that agent.yml's ``credentials.password_file`` names.
- The repository is served over the network from the host, as a git server on the LAN
  would be: ``git http-backend`` behind Basic auth (githttp.py), listening on the
  host's address on docker_gwbridge, the bridge through which Swarm task containers
  reach anything outside the cluster. Not a bind-mounted repository: the agent's
  fetch crosses a real network, with real credentials, from inside the container.

Then the target stack's service exists with the commit's image and labels, and
``stackctl history`` names the repository and the commit.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import subprocess
import uuid
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest
from support.git_http import GitHttpServer
from support.git_repo import GitRepo, stack_entry, write_config
from support.testkit import REPO_ROOT, new_stack_name, remove_stack_objects, wait_until

pytestmark = [pytest.mark.usefixtures("demo_images"), pytest.mark.slow]

FILES = ["app/stack.yml"]
TARGET_STACK = """services:
  web:
    image: stackctl-demo/web:2
    stop_grace_period: 1s
    labels:
      io.example.release: "{release}"
    deploy:
      replicas: 1
      labels:
        io.example.release: "{release}"
"""


def build_image(tag: str) -> None:
    build = subprocess.run(
        [str(REPO_ROOT / "deploy" / "agent" / "build-image.sh"), tag],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert build.returncode == 0, build.stderr[-3000:]


def host_address_for_tasks(client: docker.DockerClient) -> str:
    """The host's address on docker_gwbridge (Swarm creates the bridge with the Swarm)."""
    bridge = client.networks.get("docker_gwbridge")
    return str(bridge.attrs["IPAM"]["Config"][0]["Gateway"])


def test_the_agent_service_from_deploy_agent_applies_a_commit_from_a_private_server(
    repo: GitRepo,
    stack_name: str,
    tmp_path: Path,
    docker_client: docker.DockerClient,
    run_stackctl: Any,
    request: pytest.FixtureRequest,
) -> None:
    agent_stack = stack_name  # the fixture removes it (service, config, secret)
    target = new_stack_name()
    tag = f"stackctl-agent-test:{uuid.uuid4().hex[:8]}"
    password = "pw-" + secrets.token_hex(12)

    def clean_up() -> None:
        remove_stack_objects(docker_client, agent_stack)  # first: it stops applying
        remove_stack_objects(docker_client, target)
        with contextlib.suppress(docker.errors.NotFound):
            docker_client.volumes.get(f"{agent_stack}_agent-state").remove(force=True)
        with contextlib.suppress(docker.errors.ImageNotFound):
            docker_client.images.remove(tag)  # the cache tag keeps the image for next time

    request.addfinalizer(clean_up)
    build_image(tag)
    server = GitHttpServer(
        repo.root, "deploy", password, host=host_address_for_tasks(docker_client)
    )
    request.addfinalizer(server.stop)
    url = server.url("deploy.git")
    commit = repo.push({FILES[0]: TARGET_STACK.format(release="r7")}, "release r7")

    token = tmp_path / "git_token"
    token.write_text(password + "\n")
    agent_yml = write_config(
        tmp_path / "agent.yml",
        [
            stack_entry(
                target,
                url,
                FILES,
                credentials={"username": "deploy", "password_file": "/run/secrets/git_token"},
            )
        ],
        interval="2s",
        state_dir="/var/lib/stackctl-agent",
        listen="127.0.0.1:8476",  # the port stack.yml's health check probes
    )
    override = tmp_path / "site.yml"
    override.write_text(
        json.dumps(
            {
                "services": {
                    "agent": {"secrets": [{"source": "git_token", "target": "git_token"}]}
                },
                "configs": {"agent_yml": {"file": str(agent_yml)}},
                "secrets": {"git_token": {"file": str(token)}},
            }
        )
    )
    deployed = run_stackctl(
        "apply",
        agent_stack,
        "-c",
        str(REPO_ROOT / "deploy" / "agent" / "stack.yml"),
        "-c",
        str(override),
        "--yes",
        env={"STACKCTL_AGENT_IMAGE": tag},
        timeout=300,
    )
    assert deployed.exit_code == 0, deployed.stdout + deployed.stderr

    service = docker_client.api.inspect_service(f"{agent_stack}_agent")["Spec"]
    task = service["TaskTemplate"]
    assert task["ContainerSpec"]["Image"] == tag
    assert "node.role == manager" in task["Placement"]["Constraints"]
    assert {(m["Source"], m["Target"]) for m in task["ContainerSpec"].get("Mounts", [])} >= {
        ("/var/run/docker.sock", "/var/run/docker.sock")
    }

    def applied() -> bool:
        shown = run_stackctl("history", target, "--json")
        if shown.exit_code != 0:
            return False
        revisions = json.loads(shown.stdout)["revisions"]
        return any(
            (r.get("git") or {}).get("commit") == commit and r["outcome"] == "applied"
            for r in revisions
        )

    def agent_logs() -> str:
        raw = docker_client.api.service_logs(
            f"{agent_stack}_agent", stdout=True, stderr=True, timestamps=False
        )
        return b"".join(raw).decode(errors="replace")

    try:
        wait_until(applied, timeout=240, what="the agent service applying the commit")
    except AssertionError as error:
        raise AssertionError(f"{error}\nagent logs:\n{agent_logs()}") from None

    web = docker_client.api.inspect_service(f"{target}_web")["Spec"]
    assert web["TaskTemplate"]["ContainerSpec"]["Image"] == "stackctl-demo/web:2"
    assert web["Labels"]["io.example.release"] == "r7"
    assert web["TaskTemplate"]["ContainerSpec"]["Labels"]["io.example.release"] == "r7"
    (revision,) = json.loads(run_stackctl("history", target, "--json").stdout)["revisions"]
    assert revision["git"] == {"repo": url, "commit": commit, "ref": "main", "files": FILES}
    table = run_stackctl("history", target).stdout
    assert f"git {commit[:7]}" in table, table
    assert server.attempts["deploy"] > 0  # fetched over HTTP with the secret's credentials
    assert password not in agent_logs()

    # the health check of stack.yml (the image's python against /healthz) passes
    def healthy() -> bool:
        containers = docker_client.containers.list(
            filters={"label": f"com.docker.swarm.service.name={agent_stack}_agent"}
        )
        states = [c.attrs["State"].get("Health", {}).get("Status") for c in containers]
        return states == ["healthy"]

    assert task["ContainerSpec"]["Healthcheck"]["Test"][:2] == ["CMD", "python3"]
    wait_until(healthy, timeout=90, what="the agent container to be healthy\n" + agent_logs())
