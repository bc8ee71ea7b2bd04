"""The placement preflight on the real single-node Swarm: errors stop ``apply``
with exit 1 before anything is written, located in the file; warnings are shown
and the apply goes on (docs/placement.md)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from support.testkit import (
    NAMESPACE_LABEL,
    RunStackctl,
    new_stack_name,
    remove_stack_objects,
    wait_until,
)

from stackctl import api
from stackctl.errors import StackFileError

pytestmark = pytest.mark.usefixtures("demo_images")

NO_NODE = """\
services:
  web:
    image: stackctl-demo/web:1
    deploy:
      replicas: 1
      placement:
        constraints:
          - node.role == manager
          - node.labels.stackctl-test-zone == nowhere
"""

PER_NODE = """\
services:
  web:
    image: stackctl-demo/web:1
    deploy:
      replicas: 3
      placement:
        max_replicas_per_node: 1
"""


def host_port_file(port: int, replicas: int) -> str:
    return f"""\
services:
  web:
    image: stackctl-demo/web:1
    ports:
      - target: 8080
        published: {port}
        mode: host
    deploy:
      replicas: {replicas}
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("0.0.0.0", 0))
        return int(probe.getsockname()[1])


def _written(client: docker.DockerClient, stack: str) -> list[str]:
    label = {"label": f"{NAMESPACE_LABEL}={stack}"}
    return [s.name for s in client.services.list(filters=label)] + [
        n.name for n in client.networks.list(filters=label)
    ]


def _refused(
    run_stackctl: RunStackctl,
    client: docker.DockerClient,
    stack: str,
    path: Path,
    code: str,
    line: int,
) -> None:
    """diff shows the error (also in JSON); apply refuses it and writes nothing."""
    exit_code, out, err = run_stackctl(
        "diff", stack, "-c", str(path), "--resolve-image", "never", "--json"
    )
    assert exit_code == 2, out + err
    [finding] = json.loads(out)["findings"]
    assert (finding["code"], finding["severity"]) == (code, "error")
    assert (finding["file"], finding["line"]) == (str(path), line)

    exit_code, out, err = run_stackctl(
        "apply", stack, "-c", str(path), "--resolve-image", "never", "--yes", "--detach"
    )
    assert exit_code == 1, out + err
    assert f"{path}:{line}:" in err and f"error {code}" in err, err
    assert "nothing was changed" in err
    assert "apply refuses this plan" in out
    assert _written(client, stack) == []


def test_a_constraint_no_node_matches_stops_apply(
    run_stackctl: RunStackctl, stack_name: str, tmp_path: Path, docker_client: docker.DockerClient
) -> None:
    path = tmp_path / "stack.yml"
    path.write_text(NO_NODE)
    _refused(run_stackctl, docker_client, stack_name, path, "SC401", 9)
    # a saved plan is checked again when applied
    saved = tmp_path / "plan.json"
    exit_code, out, err = run_stackctl(
        "diff", stack_name, "-c", str(path), "--resolve-image", "never", "--out", str(saved)
    )
    assert exit_code == 2, out + err
    exit_code, out, err = run_stackctl(
        "apply",
        stack_name,
        "-c",
        str(path),
        "--resolve-image",
        "never",
        "--yes",
        "--plan",
        str(saved),
    )
    assert exit_code == 1 and "error SC401" in err, out + err
    assert _written(docker_client, stack_name) == []
    # --placement warn applies anyway, as docker stack deploy does: the task stays pending
    exit_code, out, err = run_stackctl(
        "apply", stack_name, "-c", str(path), "--resolve-image", "never", "--yes",
        "--detach", "--placement", "warn",
    )  # fmt: skip
    assert exit_code == 0, out + err
    assert "--placement warn: applying despite 1 placement error(s)" in err
    assert f"{stack_name}_web" in _written(docker_client, stack_name)


def test_max_replicas_per_node_beyond_the_single_node_stops_apply(
    run_stackctl: RunStackctl, stack_name: str, tmp_path: Path, docker_client: docker.DockerClient
) -> None:
    path = tmp_path / "stack.yml"
    path.write_text(PER_NODE)
    _refused(run_stackctl, docker_client, stack_name, path, "SC402", 7)


@pytest.fixture
def other_stack(docker_client: docker.DockerClient) -> Iterator[str]:
    name = new_stack_name()
    yield name
    remove_stack_objects(docker_client, name)


def test_a_host_port_another_service_holds_stops_apply(
    run_stackctl: RunStackctl,
    stack_name: str,
    other_stack: str,
    tmp_path: Path,
    docker_client: docker.DockerClient,
) -> None:
    port = _free_port()
    holder = tmp_path / "holder.yml"
    # two replicas of a host-mode port on one node: a warning, and the apply goes on
    holder.write_text(host_port_file(port, replicas=2))
    exit_code, out, err = run_stackctl(
        "apply", other_stack, "-c", str(holder), "--resolve-image", "never", "--yes", "--detach"
    )
    assert exit_code == 0, out + err
    assert "warning SC404" in out and "1 of 2 replicas would stay pending" in out
    service = docker_client.services.get(f"{other_stack}_web")

    def port_bound() -> bool:
        return any(
            (task.get("Status", {}).get("PortStatus") or {}).get("Ports")
            for task in service.tasks(filters={"desired-state": "running"})
        )

    wait_until(port_bound, timeout=60, what=f"a task of {other_stack}_web binding port {port}")

    path = tmp_path / "stack.yml"
    path.write_text(host_port_file(port, replicas=1))
    _refused(run_stackctl, docker_client, stack_name, path, "SC404", 6)


INGRESS_ONLY = """\
services:
  web:
    image: stackctl-demo/web:1
    deploy:
      replicas: 1
"""


def test_rollback_and_the_api_refuse_a_revision_whose_host_port_is_taken_now(
    run_stackctl: RunStackctl,
    stack_name: str,
    other_stack: str,
    tmp_path: Path,
    docker_client: docker.DockerClient,
) -> None:
    port = _free_port()
    path = tmp_path / "stack.yml"
    for text in (host_port_file(port, replicas=1), INGRESS_ONLY):  # revisions 1 and 2
        path.write_text(text)
        exit_code, out, err = run_stackctl(
            "apply", stack_name, "-c", str(path), "--resolve-image", "never", "--yes"
        )
        assert exit_code == 0, out + err
    holder = tmp_path / "holder.yml"
    holder.write_text(host_port_file(port, replicas=1))
    exit_code, out, err = run_stackctl(
        "apply", other_stack, "-c", str(holder), "--resolve-image", "never", "--yes"
    )
    assert exit_code == 0, out + err  # converged: its task holds the port now

    exit_code, out, err = run_stackctl("rollback", stack_name, "--yes")
    assert exit_code == 1, out + err
    assert "error SC404" in err and f"{other_stack}_web" in err, err
    service = docker_client.services.get(f"{stack_name}_web")
    assert not service.attrs["Spec"].get("EndpointSpec", {}).get("Ports")  # not rolled back

    client = api.connect()
    try:
        planned = api.plan_rollback(client, stack_name)
        assert [f.code for f in planned.plan.errors] == ["SC404"]
        with pytest.raises(StackFileError):
            api.apply(client, planned)
        assert len(api.history(client, stack_name).revisions) == 2  # nothing recorded
    finally:
        client.close()
