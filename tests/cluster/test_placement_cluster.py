"""The placement preflight on the real 3-node Swarm: node labels, a drained node,
error against warning (docs/placement.md). Plans only, plus one refused and one
warned apply with --detach: no task has to start, which keeps it quick."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
from support.testkit import NAMESPACE_LABEL, CliResult, run_stackctl_process, wait_until

STACK_FILE = """\
services:
  eu:
    image: stackctl-demo/web:1
    deploy:
      placement:
        constraints: [node.labels.stackctl-zone == eu]
  asia:
    image: stackctl-demo/web:1
    deploy:
      placement:
        constraints: [node.labels.stackctl-zone == asia]
  workers:
    image: stackctl-demo/web:1
    deploy:
      replicas: 3
      placement:
        constraints: [node.role == worker]
        max_replicas_per_node: 1
  spread:
    image: stackctl-demo/web:1
    deploy:
      replicas: 3
      placement:
        max_replicas_per_node: 1
"""

WARNED_ONLY = """\
services:
  eu:
    image: stackctl-demo/web:1
    deploy:
      placement:
        constraints: [node.labels.stackctl-zone == eu]
"""


def _update_spec(client: docker.DockerClient, node_id: str, **changes: Any) -> None:
    node = client.nodes.get(node_id)
    spec = dict(node.attrs["Spec"])
    spec.update(changes)
    node.update(spec)


@pytest.fixture
def node_ids(
    docker_client: docker.DockerClient, cluster_node_clients: list[docker.DockerClient]
) -> Iterator[list[str]]:
    """The nodes' IDs (node 1 first); labels and availability restored afterwards."""
    ids = [str(c.info()["Swarm"]["NodeID"]) for c in cluster_node_clients]
    yield ids
    for node_id in ids:
        _update_spec(docker_client, node_id, Labels={}, Availability="active")
    wait_until(
        lambda: all(
            n.attrs["Spec"]["Availability"] == "active" for n in docker_client.nodes.list()
        ),
        timeout=30,
        what="every node active again",
    )


def _stackctl(swarm: list[str], *args: str) -> CliResult:
    return run_stackctl_process(*args, env={"DOCKER_HOST": swarm[0]}, timeout=120)


def _findings(swarm: list[str], stack: str, path: Path) -> dict[str, tuple[str, str]]:
    """service key -> (code, severity) of ``diff --json``."""
    code, out, err = _stackctl(
        swarm, "diff", stack, "-c", str(path), "--resolve-image", "never", "--json"
    )
    assert code == 2, out + err
    found = json.loads(out)["findings"]
    return {f["path"].split(".")[1]: (f["code"], f["severity"]) for f in found}


def test_labels_and_a_drained_node_error_against_warning(
    docker_client: docker.DockerClient,
    swarm_cluster: list[str],
    node_ids: list[str],
    stack_name: str,
    tmp_path: Path,
) -> None:
    _update_spec(docker_client, node_ids[1], Labels={"stackctl-zone": "eu"})
    _update_spec(docker_client, node_ids[2], Labels={"stackctl-zone": "us"})
    path = tmp_path / "stack.yml"
    path.write_text(STACK_FILE)

    # all three nodes ready: a label no node has, and 3 replicas on the 2 workers
    assert _findings(swarm_cluster, stack_name, path) == {
        "asia": ("SC401", "error"),
        "workers": ("SC402", "error"),
    }

    # drain the only eu node: eu can still run there one day (a warning); spread is
    # short of a node only while it is drained (a warning); the errors stay errors
    _update_spec(docker_client, node_ids[1], Availability="drain")
    assert _findings(swarm_cluster, stack_name, path) == {
        "eu": ("SC401", "warning"),
        "asia": ("SC401", "error"),
        "workers": ("SC402", "error"),
        "spread": ("SC402", "warning"),
    }

    code, out, err = _stackctl(
        swarm_cluster, "apply", stack_name, "-c", str(path), "--resolve-image", "never", "--yes"
    )
    assert code == 1, out + err
    assert f"{path}:11:" in err and "error SC401" in err  # the asia constraint's line
    label = {"label": f"{NAMESPACE_LABEL}={stack_name}"}
    assert docker_client.services.list(filters=label) == []

    # warnings alone do not stop an apply (--detach: its task stays pending meanwhile)
    warned = tmp_path / "warned.yml"
    warned.write_text(WARNED_ONLY)
    code, out, err = _stackctl(
        swarm_cluster,
        "apply",
        stack_name,
        "-c",
        str(warned),
        "--resolve-image",
        "never",
        "--yes",
        "--detach",
    )
    assert code == 0, out + err
    assert "warning SC401" in out and "(drained)" in out
    assert [s.name for s in docker_client.services.list(filters=label)] == [f"{stack_name}_eu"]
