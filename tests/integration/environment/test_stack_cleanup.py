"""The shared ``stack_name`` cleanup removes everything a stack left on the Swarm."""

from __future__ import annotations

import docker
import pytest
from docker.types import EndpointSpec, SecretReference
from support.testkit import (
    NAMESPACE_LABEL,
    STACKCTL_STACK_LABEL,
    new_stack_name,
    remove_stack_objects,
    wait_until,
)


@pytest.mark.usefixtures("demo_images")
def test_remove_stack_objects_leaves_nothing_of_the_stack(
    docker_client: docker.DockerClient,
) -> None:
    stack = new_stack_name()
    other = new_stack_name()
    labels = {NAMESPACE_LABEL: stack}
    try:
        network = docker_client.networks.create(f"{stack}_net", driver="overlay", labels=labels)
        secret = docker_client.secrets.create(name=f"{stack}_s", data=b"x", labels=labels)
        docker_client.configs.create(name=f"{stack}_c", data=b"c", labels=labels)
        docker_client.configs.create(
            name=f"{stack}_rev1", data=b"r", labels={STACKCTL_STACK_LABEL: stack}
        )
        kept = docker_client.configs.create(
            name=f"{other}_c", data=b"k", labels={NAMESPACE_LABEL: other}
        )
        service = docker_client.services.create(
            "stackctl-demo/worker:1",
            name=f"{stack}_w",
            labels=labels,
            networks=[network.id],
            secrets=[SecretReference(secret.id, secret.name)],
            endpoint_spec=EndpointSpec(mode="dnsrr"),
        )
        # a running task pins the network: the cleanup must wait for it to go
        wait_until(
            lambda: any(t["Status"]["State"] == "running" for t in service.tasks()),
            timeout=60,
            what="the worker task to run",
        )

        assert remove_stack_objects(docker_client, stack) == []

        flt = {"label": f"{NAMESPACE_LABEL}={stack}"}
        assert docker_client.services.list(filters=flt) == []
        assert docker_client.networks.list(filters=flt) == []
        assert docker_client.secrets.list(filters=flt) == []
        assert docker_client.configs.list(filters=flt) == []
        assert (
            docker_client.configs.list(filters={"label": f"{STACKCTL_STACK_LABEL}={stack}"}) == []
        )
        # another stack's objects are untouched
        assert docker_client.configs.get(kept.id).name == f"{other}_c"
    finally:
        remove_stack_objects(docker_client, stack)
        remove_stack_objects(docker_client, other)
