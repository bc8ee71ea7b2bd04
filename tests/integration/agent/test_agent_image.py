"""The agent image, built offline by deploy/agent/build-image.sh, runs a real pass.

The container gets what deploy/agent/stack.yml gives the service (the Docker
socket, agent.yml at /etc/stackctl/agent.yml) plus the bare repository bind-mounted
at the same path, and must apply its commit like the agent on the host does.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path
from typing import Any

import docker
import pytest
from support.git_repo import GitRepo, stack_entry, web_stack, write_config
from support.testkit import REPO_ROOT

pytestmark = [pytest.mark.usefixtures("demo_images"), pytest.mark.slow]


def test_the_offline_built_image_applies_a_commit(
    repo: GitRepo,
    stack_name: str,
    tmp_path: Path,
    docker_client: docker.DockerClient,
    run_stackctl: Any,
) -> None:
    tag = f"stackctl-agent-test:{uuid.uuid4().hex[:8]}"
    build = subprocess.run(
        [str(REPO_ROOT / "deploy" / "agent" / "build-image.sh"), tag],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    try:
        commit = repo.push({"app/stack.yml": web_stack("1")}, "v1")
        config = write_config(
            tmp_path / "agent.yml",
            [stack_entry(stack_name, str(repo.bare), ["app/stack.yml"])],
            state_dir="/var/lib/stackctl-agent",
        )
        output = docker_client.containers.run(
            tag,
            ["agent", "--config", "/etc/stackctl/agent.yml", "--once", "--json"],
            volumes={
                "/var/run/docker.sock": {"bind": "/var/run/docker.sock", "mode": "rw"},
                str(config): {"bind": "/etc/stackctl/agent.yml", "mode": "ro"},
                str(repo.bare): {"bind": str(repo.bare), "mode": "ro"},
            },
            remove=True,
            stdout=True,
            stderr=True,
        ).decode()
        passes = [json.loads(line) for line in output.splitlines() if '"event": "pass"' in line]
        assert [(p["stack"], p["outcome"], p["commit"]) for p in passes] == [
            (stack_name, "applied", commit)
        ], output
        history = json.loads(run_stackctl("history", stack_name, "--json").stdout)["revisions"]
        assert history[-1]["git"]["commit"] == commit
    finally:
        docker_client.images.remove(tag, force=True)
