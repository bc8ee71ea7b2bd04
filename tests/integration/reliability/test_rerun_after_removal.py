"""A failed first deploy can be re-run at once: removals wait until Swarm has finished.

Swarm removes an overlay network asynchronously: for a few seconds after the
removal was accepted it is still listed (its name taken), and a service created
on it fails with "network <id> not found". stackctl's rollback, ``rm`` and prune
wait until it is gone; an apply that meets one still being removed waits and
creates it afresh.
"""

from __future__ import annotations

from pathlib import Path

import docker
import pytest
from support.testkit import RunStackctl, wait_until

from stackctl.core.model.state import LABEL_NAMESPACE

pytestmark = pytest.mark.usefixtures("demo_images")

WAITING = "waiting for Swarm to finish removing"


def _file(tmp_path: Path, image: str, name: str) -> str:
    path = tmp_path / name
    path.write_text(
        f"""\
services:
  web:
    image: {image}
    stop_grace_period: 1s
    networks: [front]
networks:
  front: {{}}
"""
    )
    return str(path)


def _stack_networks(client: docker.DockerClient, stack: str) -> list[str]:
    return [n["Name"] for n in client.api.networks(filters={"label": f"{LABEL_NAMESPACE}={stack}"})]


def test_failed_first_deploy_then_an_immediate_rerun_succeeds(
    docker_client: docker.DockerClient, stack_name: str, run_stackctl: RunStackctl, tmp_path: Path
) -> None:
    run = run_stackctl
    broken = _file(tmp_path, "stackctl-demo/web:broken", "broken.yml")
    failed = run("apply", stack_name, "-c", broken, "--yes", "--timeout", "240s")
    assert failed.exit_code == 3, failed.stdout + failed.stderr
    assert "a failing health check stops a task this way" in failed.stdout
    assert f"network {stack_name}_front: removed (rollback)" in failed.stdout
    # The rollback returned only once the network was gone. (Whether it had to say
    # "waiting for Swarm to finish removing" depends on how fast Swarm was, so that
    # line is not asserted here; `rm` prints it always, tested below.)
    assert _stack_networks(docker_client, stack_name) == []

    good = _file(tmp_path, "stackctl-demo/web:1", "good.yml")
    rerun = run("apply", stack_name, "-c", good, "--yes", "--timeout", "120s")
    assert rerun.exit_code == 0, rerun.stdout + rerun.stderr
    diff = run("diff", stack_name, "-c", good)
    assert diff.exit_code == 0, diff.stdout + diff.stderr


def test_apply_meeting_a_network_still_being_removed_recreates_it(
    docker_client: docker.DockerClient, stack_name: str, run_stackctl: RunStackctl, tmp_path: Path
) -> None:
    """The network is removed behind stackctl's back (as `docker stack rm` does, without
    waiting) just before an apply: the apply waits for it and creates it afresh."""
    run = run_stackctl
    good = _file(tmp_path, "stackctl-demo/web:1", "good.yml")
    first = run("apply", stack_name, "-c", good, "--yes", "--timeout", "120s")
    assert first.exit_code == 0, first.stdout + first.stderr
    api = docker_client.api
    (service,) = api.services(filters={"label": f"{LABEL_NAMESPACE}={stack_name}"})
    (network,) = api.networks(filters={"label": f"{LABEL_NAMESPACE}={stack_name}"})
    api.remove_service(service["ID"])

    def network_removal_accepted() -> bool:
        try:
            api.remove_network(network["Id"])
        except docker.errors.NotFound:
            return True
        except docker.errors.APIError:
            return False  # still in use while the task shuts down
        return True

    wait_until(network_removal_accepted, timeout=60, what="the network removal to be accepted")
    again = run("apply", stack_name, "-c", good, "--yes", "--timeout", "120s")
    assert again.exit_code == 0, again.stdout + again.stderr
    assert _stack_networks(docker_client, stack_name) == [f"{stack_name}_front"]
    diff = run("diff", stack_name, "-c", good)
    assert diff.exit_code == 0, diff.stdout + diff.stderr


def test_rm_returns_once_the_networks_are_gone(
    docker_client: docker.DockerClient, stack_name: str, run_stackctl: RunStackctl, tmp_path: Path
) -> None:
    run = run_stackctl
    good = _file(tmp_path, "stackctl-demo/web:1", "good.yml")
    assert run("apply", stack_name, "-c", good, "--yes").exit_code == 0
    removed = run("rm", stack_name, "--yes")
    assert removed.exit_code == 0, removed.stdout + removed.stderr
    assert WAITING in removed.stderr
    assert _stack_networks(docker_client, stack_name) == []
    again = run("apply", stack_name, "-c", good, "--yes", "--timeout", "120s")
    assert again.exit_code == 0, again.stdout + again.stderr
