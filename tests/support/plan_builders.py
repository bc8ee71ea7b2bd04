"""Hand-made ClusterStates for the diff and renderer tests (no engine)."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from types import MappingProxyType
from typing import Any

from stackctl.core.model.state import ClusterState, ResourceKind, ResourceState

STACK = "shop"


def service_spec(name: str = "web", **over: Any) -> dict[str, Any]:
    """A service spec shaped like what convert produces for a small file."""
    spec: dict[str, Any] = {
        "Name": f"{STACK}_{name}",
        "Labels": {
            "com.docker.stack.image": "shop/web:1",
            "com.docker.stack.namespace": STACK,
        },
        "TaskTemplate": {
            "ContainerSpec": {
                "Image": "shop/web:1",
                "Labels": {"com.docker.stack.namespace": STACK},
                "Env": ["DB_HOST=db", "DB_PASSWORD=hunter2", "MODE=prod"],
                "StopGracePeriod": 10_000_000_000,
            },
            "RestartPolicy": {"Condition": "any", "Delay": 5_000_000_000, "MaxAttempts": 0},
            "Networks": [{"Target": f"{STACK}_default", "Aliases": [name]}],
        },
        "Mode": {"Replicated": {"Replicas": 3}},
        "UpdateConfig": {"Parallelism": 1, "FailureAction": "pause", "Order": "stop-first"},
        "EndpointSpec": {
            "Mode": "vip",
            "Ports": [{"Protocol": "tcp", "TargetPort": 80, "PublishedPort": 8080}],
        },
    }
    spec.update(over)
    return spec


def engine_filled(spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` as the engine stores it: with the defaults it fills in itself."""
    out = copy.deepcopy(spec)
    task = out["TaskTemplate"]
    task["ForceUpdate"] = 0
    task["Runtime"] = "container"
    task["ContainerSpec"]["Isolation"] = "default"
    task["ContainerSpec"]["Privileges"] = {"CredentialSpec": None, "NoNewPrivileges": False}
    task["ContainerSpec"]["DNSConfig"] = {}
    task.setdefault("Resources", {})
    task.setdefault("Placement", {})
    out.setdefault("UpdateConfig", {}).update({"MaxFailureRatio": 0})
    for port in out.get("EndpointSpec", {}).get("Ports", []):
        port.setdefault("PublishMode", "ingress")
    return out


def service(spec: dict[str, Any], *, version: int | None = None) -> ResourceState:
    return ResourceState(ResourceKind.SERVICE, spec["Name"], spec, version=version)


def network(name: str = "default", *, live: bool = False, **over: Any) -> ResourceState:
    spec: dict[str, Any] = {
        "Name": f"{STACK}_{name}",
        "Driver": "overlay",
        "Labels": {"com.docker.stack.namespace": STACK},
    }
    spec.update(over)
    return ResourceState(
        ResourceKind.NETWORK,
        spec["Name"],
        spec,
        id="n1" if live else None,
        version=5 if live else None,
    )


def state(*resources: ResourceState, stack: str = STACK) -> ClusterState:
    by_kind: dict[ResourceKind, dict[str, ResourceState]] = {k: {} for k in ResourceKind}
    for r in resources:
        by_kind[r.kind][r.name] = r
    return ClusterState(
        stack=stack,
        networks=MappingProxyType(by_kind[ResourceKind.NETWORK]),
        configs=MappingProxyType(by_kind[ResourceKind.CONFIG]),
        secrets=MappingProxyType(by_kind[ResourceKind.SECRET]),
        services=MappingProxyType(by_kind[ResourceKind.SERVICE]),
    )


def paths(fields: Iterable[Any]) -> list[str]:
    return [f.path for f in fields]
