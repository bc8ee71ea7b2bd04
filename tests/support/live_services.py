"""Create and update services through the raw Engine API for the diff verification tests."""

from __future__ import annotations

import copy
from types import MappingProxyType
from typing import Any

from stackctl.core.model.state import ClusterState, ResourceKind, ResourceState
from stackctl.engine.client import EngineClient

IMAGE = "stackctl-demo/web:1"


def base_spec(stack: str, name: str = "web") -> dict[str, Any]:
    return {
        "Name": f"{stack}_{name}",
        "Labels": {"com.docker.stack.namespace": stack, "com.docker.stack.image": IMAGE},
        "TaskTemplate": {
            "ContainerSpec": {"Image": IMAGE, "StopGracePeriod": 1_000_000_000},
        },
        "Mode": {"Replicated": {"Replicas": 2}},
        "UpdateConfig": {
            "Parallelism": 2,
            "Order": "start-first",
            "Monitor": 1_000_000_000,
        },
    }


def desired(stack: str, *specs: dict[str, Any]) -> ClusterState:
    services = {
        s["Name"]: ResourceState(ResourceKind.SERVICE, s["Name"], copy.deepcopy(s)) for s in specs
    }
    return ClusterState(stack=stack, services=MappingProxyType(services))


def create_network(client: EngineClient, stack: str) -> str:
    """An overlay network of ``stack`` (tasks then need no docker0 bridge)."""
    name = f"{stack}_default"
    client.api.create_network(name, driver="overlay", labels={"com.docker.stack.namespace": stack})
    return name


def _with_network_ids(client: EngineClient, spec: dict[str, Any]) -> dict[str, Any]:
    # Comparable specs name networks; the Engine API takes their IDs.
    out = copy.deepcopy(spec)
    for net in out.get("TaskTemplate", {}).get("Networks", []):
        net["Target"] = client.api.inspect_network(net["Target"])["Id"]
    return out


def create(client: EngineClient, spec: dict[str, Any]) -> str:
    api = client.api
    response = api._post_json(api._url("/services/create"), data=_with_network_ids(client, spec))
    return str(api._result(response, True)["ID"])


def update(client: EngineClient, service_id: str, spec: dict[str, Any]) -> None:
    api = client.api
    version = api.inspect_service(service_id)["Version"]["Index"]
    response = api._post_json(
        api._url("/services/{0}/update", service_id),
        params={"version": version},
        data=_with_network_ids(client, spec),
    )
    api._result(response, True)


def running_tasks(client: EngineClient, service_id: str) -> set[str]:
    tasks = client.api.tasks(filters={"service": service_id, "desired-state": "running"})
    return {t["ID"] for t in tasks if t["Status"]["State"] == "running"}
