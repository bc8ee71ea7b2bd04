"""A replicated service spreads over the three nodes of the real cluster."""

from __future__ import annotations

from typing import Any

import docker
from docker.types import ServiceMode
from support.testkit import NAMESPACE_LABEL, wait_until


def running_tasks(service: Any) -> list[dict[str, Any]]:
    return [
        t
        for t in service.tasks(filters={"desired-state": "running"})
        if t["Status"]["State"] == "running"
    ]


def healthy_containers(client: docker.DockerClient, service_id: str) -> int:
    containers = client.containers.list(
        filters={"label": f"com.docker.swarm.service.id={service_id}", "health": "healthy"}
    )
    return len(containers)


def test_three_replicas_run_one_per_node(
    docker_client: docker.DockerClient,
    cluster_node_clients: list[docker.DockerClient],
    stack_name: str,
) -> None:
    node_ids = {n.id for n in docker_client.nodes.list()}
    assert len(node_ids) == 3
    assert all(n.attrs["Status"]["State"] == "ready" for n in docker_client.nodes.list())

    service = docker_client.services.create(
        "stackctl-demo/web:1",
        name=f"{stack_name}_web",
        labels={NAMESPACE_LABEL: stack_name},
        mode=ServiceMode("replicated", replicas=3),
        maxreplicas=1,
    )
    wait_until(lambda: len(running_tasks(service)) == 3, timeout=90, what="3 running tasks")
    assert {t["NodeID"] for t in running_tasks(service)} == node_ids

    # every node runs its task from the image loaded into it, and its check passes there
    wait_until(
        lambda: all(healthy_containers(c, service.id) == 1 for c in cluster_node_clients),
        timeout=90,
        what="one healthy web:1 container on each node",
    )
    placement = service.attrs["Spec"]["TaskTemplate"]["Placement"]
    assert placement["MaxReplicas"] == 1
