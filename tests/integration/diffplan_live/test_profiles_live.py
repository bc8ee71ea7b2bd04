"""``apply --profile`` on the real Swarm: only the services the active profiles enable."""

from __future__ import annotations

import json
from pathlib import Path

import docker
import pytest
from support.testkit import NAMESPACE_LABEL, RunStackctl

pytestmark = pytest.mark.usefixtures("demo_images")

STACK_FILE = """
services:
  web:
    image: stackctl-demo/web:1
    deploy: {replicas: 1}
  tools:
    image: stackctl-demo/worker:1
    profiles: [debug]
    deploy: {replicas: 1}
"""


def _services(client: docker.DockerClient, stack: str) -> list[str]:
    found = client.services.list(filters={"label": f"{NAMESPACE_LABEL}={stack}"})
    return sorted(s.name for s in found)


def test_apply_deploys_what_the_profiles_enable(
    run_stackctl: RunStackctl, stack_name: str, tmp_path: Path, docker_client: docker.DockerClient
) -> None:
    path = tmp_path / "stack.yml"
    path.write_text(STACK_FILE)
    code, out, err = run_stackctl("apply", stack_name, "-c", str(path), "--yes", "--detach")
    assert code == 0, out + err
    assert "SC305" in err and "tools" in err  # warned: tools left out
    assert _services(docker_client, stack_name) == [f"{stack_name}_web"]

    code, out, err = run_stackctl(
        "diff", stack_name, "-c", str(path), "--profile", "debug", "--json"
    )
    assert code == 2, err
    plan = json.loads(out)
    assert [(c["name"], c["effect"]) for c in plan["changes"]] == [
        (f"{stack_name}_tools", "create")
    ]
    code, out, err = run_stackctl(
        "apply", stack_name, "-c", str(path), "--profile", "debug", "--yes", "--detach"
    )
    assert code == 0, out + err
    assert _services(docker_client, stack_name) == [f"{stack_name}_tools", f"{stack_name}_web"]
