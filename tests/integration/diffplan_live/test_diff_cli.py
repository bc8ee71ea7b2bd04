"""``stackctl diff`` on the real Swarm: exit codes, adoption, drift, JSON, stale saved plans."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from support.testkit import RunStackctl

from stackctl.core.plan.saved_plan import check_plan_fresh, load_saved_plan
from stackctl.engine.client import connect
from stackctl.engine.observe import external_references, observe_stack
from stackctl.errors import StalePlanError

pytestmark = pytest.mark.usefixtures("demo_images")

# Uses what docker stack deploy and stackctl must agree on, without configs/secrets
# (their content-addressed names are a documented difference).
STACK_FILE = """
services:
  web:
    image: stackctl-demo/web:1
    environment:
      DB_HOST: db
      DB_PASSWORD: hunter2
      MODE: prod
    labels:
      com.example.team: shop
    ports:
      - target: 8080
        mode: host
    healthcheck:
      test: ["CMD", "true"]
      interval: 2s
      timeout: 1s
      retries: 3
    stop_grace_period: 1s
    deploy:
      replicas: 2
      labels:
        com.example.tier: front
      update_config: {parallelism: 1, delay: 1s, order: start-first}
      restart_policy: {condition: on-failure, max_attempts: 3}
      resources:
        limits: {memory: 64M}
      placement:
        constraints: [node.role == manager]
    networks: [front, back]
  worker:
    image: stackctl-demo/worker:1
    deploy:
      mode: global
    networks: [back]
networks:
  front: {}
  back:
    driver: overlay
    attachable: true
"""


@pytest.fixture
def stack_file(tmp_path: Path) -> Path:
    path = tmp_path / "stack.yml"
    path.write_text(STACK_FILE)
    return path


def _docker_stack_deploy(stack: str, path: Path) -> None:
    subprocess.run(
        ["docker", "stack", "deploy", "--resolve-image", "never", "-c", str(path), stack],
        check=True,
        capture_output=True,
        timeout=120,
    )


def test_exit_2_with_a_plan_before_anything_is_deployed(
    run_stackctl: RunStackctl, stack_name: str, stack_file: Path
) -> None:
    code, out, err = run_stackctl("diff", stack_name, "-c", str(stack_file))
    assert code == 2, err
    assert f"  + service {stack_name}_web  (create)" in out
    assert f"  + network {stack_name}_back  (create)" in out
    assert (
        out.splitlines()[-1]
        == "Plan: 4 to create, 0 to update (0 rolling, 0 in place), 0 to delete."
    )
    assert "hunter2" not in out


def test_adoption_after_docker_stack_deploy_is_no_change_then_scale_is_reported(
    run_stackctl: RunStackctl,
    stack_name: str,
    stack_file: Path,
) -> None:
    _docker_stack_deploy(stack_name, stack_file)
    code, out, err = run_stackctl("diff", stack_name, "-c", str(stack_file))
    assert (code, out.strip()) == (0, "No changes. The stack matches the file."), out + err

    subprocess.run(
        ["docker", "service", "scale", "-d", f"{stack_name}_web=5"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    code, out, err = run_stackctl("diff", stack_name, "-c", str(stack_file), "--json")
    assert code == 2, err
    plan = json.loads(out)
    assert (plan["apiVersion"], plan["kind"], plan["stack"]) == ("stackctl/v1", "Plan", stack_name)
    (change,) = plan["changes"]
    assert (change["name"], change["effect"], change["restartsTasks"]) == (
        f"{stack_name}_web",
        "in-place",
        False,
    )
    assert [(f["engine_path"], f["old"], f["new"]) for f in change["fields"]] == [
        ("Mode.Replicated.Replicas", 5, 2)
    ]
    # ... named by the stack file's key and the line that sets it
    (field,) = change["fields"]
    assert field["path"] == "services.web.deploy.replicas" and field["engineOnly"] is False
    assert field["location"]["file"] == str(stack_file) and field["location"]["line"] > 1
    # No revision was recorded (docker stack deploy): a difference, not drift.
    assert change["drift"] is False


def test_env_change_shows_field_and_redacts(
    run_stackctl: RunStackctl, stack_name: str, stack_file: Path, tmp_path: Path
) -> None:
    _docker_stack_deploy(stack_name, stack_file)
    changed = tmp_path / "v2.yml"
    changed.write_text(
        STACK_FILE.replace("DB_PASSWORD: hunter2", "DB_PASSWORD: s3cr3t").replace(
            "MODE: prod", "MODE: canary"
        )
    )
    code, out, _ = run_stackctl("diff", stack_name, "-c", str(changed), "--format", "markdown")
    assert code == 2
    assert "s3cr3t" not in out and "hunter2" not in out
    assert '`services.web.environment[MODE]` | changed | `"prod"` | `"canary"` | `' in out
    assert f"`{changed}:" in out  # the file:line that sets it
    assert "`services.web.environment[DB_PASSWORD]` | changed | _(sensitive)_" in out
    assert "restarts 2 tasks" in out


def test_saved_plan_goes_stale_when_the_cluster_moves(
    run_stackctl: RunStackctl,
    stack_name: str,
    stack_file: Path,
    tmp_path: Path,
) -> None:
    _docker_stack_deploy(stack_name, stack_file)
    plan_path = tmp_path / "plan.json"
    code, _, err = run_stackctl(
        "diff", stack_name, "-c", str(stack_file), "--out", str(plan_path), "--prune"
    )
    assert code == 0, err
    saved = load_saved_plan(plan_path.read_text())
    client = connect()
    try:
        live = observe_stack(client, stack_name, external=external_references(saved.desired))
        check_plan_fresh(saved, live)  # nothing moved yet
        subprocess.run(
            [
                "docker",
                "service",
                "update",
                "-d",
                "--label-add",
                "touched=yes",
                f"{stack_name}_worker",
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        live = observe_stack(client, stack_name, external=external_references(saved.desired))
        with pytest.raises(StalePlanError, match=f"service {stack_name}_worker changed"):
            check_plan_fresh(saved, live)
    finally:
        client.close()


def test_missing_external_network_is_an_error(
    run_stackctl: RunStackctl, stack_name: str, tmp_path: Path
) -> None:
    path = tmp_path / "ext.yml"
    path.write_text(
        "services:\n  web:\n    image: stackctl-demo/web:1\n    networks: [edge]\n"
        f"networks:\n  edge:\n    external: true\n    name: {stack_name}-missing-edge\n"
    )
    code, out, err = run_stackctl("diff", stack_name, "-c", str(path))
    assert code == 1
    assert f"network {stack_name}-missing-edge" in err and "do not exist" in err
    assert out == ""


def test_usage_and_format_errors_exit_1(run_stackctl: RunStackctl, stack_file: Path) -> None:
    code, _, err = run_stackctl("diff", "tnone", "-c", str(stack_file), "--format", "yaml")
    assert code == 1 and "--format must be one of" in err
