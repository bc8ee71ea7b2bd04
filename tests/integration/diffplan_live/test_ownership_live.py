"""``x-stackctl.ignore_changes`` on the real Swarm: ``docker service scale``, then an
apply that touches nothing and a status with no drift."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import docker
import pytest
from support.testkit import RunStackctl

pytestmark = pytest.mark.usefixtures("demo_images")

STACK_FILE = """
services:
  web:
    image: stackctl-demo/web:1
    deploy: {replicas: 1}
    x-stackctl:
      ignore_changes: [deploy.replicas]
"""


def test_scaled_by_hand_then_apply_touches_nothing(
    run_stackctl: RunStackctl, stack_name: str, tmp_path: Path, docker_client: docker.DockerClient
) -> None:
    path = tmp_path / "stack.yml"
    path.write_text(STACK_FILE)
    code, out, err = run_stackctl("apply", stack_name, "-c", str(path), "--yes", "--detach")
    assert code == 0, out + err
    service = docker_client.services.get(f"{stack_name}_web")
    assert service.attrs["Spec"]["Mode"] == {"Replicated": {"Replicas": 1}}  # set on create

    subprocess.run(
        ["docker", "service", "scale", "-d", f"{stack_name}_web=2"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    service.reload()
    version = service.attrs["Version"]["Index"]
    assert service.attrs["Spec"]["Mode"] == {"Replicated": {"Replicas": 2}}

    code, out, err = run_stackctl("diff", stack_name, "-c", str(path))
    assert (code, out.strip()) == (0, "No changes. The stack matches the file."), out + err
    code, out, err = run_stackctl("apply", stack_name, "-c", str(path), "--yes")
    assert code == 0, out + err
    service.reload()
    # not reverted: nothing was written
    assert service.attrs["Version"]["Index"] == version
    assert service.attrs["Spec"]["Mode"] == {"Replicated": {"Replicas": 2}}
    code, out, err = run_stackctl("status", stack_name, "--json")
    assert code == 0, err
    assert json.loads(out)["drift"] is False
