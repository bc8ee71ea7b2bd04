"""Three-way drift on the real Swarm: apply with stackctl (a revision is recorded),
change things behind its back with the docker CLI, and diff marks them as drift."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from support.testkit import RunStackctl

pytestmark = pytest.mark.usefixtures("demo_images")

STACK_FILE = """
services:
  web:
    image: stackctl-demo/web:1
    environment:
      MODE: prod
    stop_grace_period: 1s
    deploy:
      replicas: 2
      update_config: {parallelism: 2, delay: 0s, monitor: 1s}
  worker:
    image: stackctl-demo/worker:1
    stop_grace_period: 1s
    deploy:
      replicas: 1
"""


def _docker(*args: str) -> None:
    subprocess.run(["docker", *args], check=True, capture_output=True, timeout=120)


def test_changes_behind_stackctls_back_are_drift(
    run_stackctl: RunStackctl, stack_name: str, tmp_path: Path
) -> None:
    path = tmp_path / "stack.yml"
    path.write_text(STACK_FILE)
    code, out, err = run_stackctl("apply", stack_name, "-c", str(path), "--yes")
    assert code == 0, out + err
    code, out, _ = run_stackctl("diff", stack_name, "-c", str(path))
    assert code == 0, out

    _docker("service", "scale", "-d", f"{stack_name}_web=3")
    _docker("service", "update", "-d", "--env-add", "DEBUG=1", f"{stack_name}_web")
    _docker("service", "rm", f"{stack_name}_worker")

    code, out, err = run_stackctl("diff", stack_name, "-c", str(path), "--json")
    assert code == 2, err
    changes = {c["name"]: c for c in json.loads(out)["changes"]}
    web, worker = changes[f"{stack_name}_web"], changes[f"{stack_name}_worker"]
    assert (worker["effect"], worker["drift"], worker["reason"]) == (
        "create",
        True,
        "removed outside stackctl",
    )
    assert (web["effect"], web["drift"]) == ("rolling", True)
    assert [(f["engine_path"], f["old"], f["new"], f["drift"]) for f in web["fields"]] == [
        ("Mode.Replicated.Replicas", 3, 2, True),
        ("TaskTemplate.ContainerSpec.Env[DEBUG]", "1", None, True),
    ]

    code, text, _ = run_stackctl("diff", stack_name, "-c", str(path))
    assert code == 2
    assert "Drift: 2 resource(s) changed outside stackctl since the last apply." in text
    replicas = next(line for line in text.splitlines() if "services.web.deploy.replicas" in line)
    assert "3 -> 2   (" in replicas and replicas.endswith("# drift: changed outside stackctl")


def test_a_file_change_after_apply_is_not_drift(
    run_stackctl: RunStackctl, stack_name: str, tmp_path: Path
) -> None:
    path = tmp_path / "stack.yml"
    path.write_text(STACK_FILE)
    code, out, err = run_stackctl("apply", stack_name, "-c", str(path), "--yes")
    assert code == 0, out + err
    path.write_text(STACK_FILE.replace("MODE: prod", "MODE: canary"))
    code, out, err = run_stackctl("diff", stack_name, "-c", str(path), "--json")
    assert code == 2, err
    (web,) = json.loads(out)["changes"]
    assert web["drift"] is False
    assert [(f["engine_path"], f["old"], f["new"]) for f in web["fields"]] == [
        ("TaskTemplate.ContainerSpec.Env[MODE]", "prod", "canary")
    ]
