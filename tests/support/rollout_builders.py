"""Comparable specs, changes and plans built by hand for the rollout tests."""

from __future__ import annotations

from typing import Any

from stackctl.core.model.state import ResourceKind, ResourceState
from stackctl.core.plan.plan_model import Effect, Plan, ResourceChange
from support.fake_engine import FakeService

STACK = "shop"


def service_spec(
    name: str,
    image: str,
    *,
    replicas: int = 2,
    failure_action: str | None = None,
    mode: str = "replicated",
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "Name": f"{STACK}_{name}",
        "Labels": {"com.docker.stack.namespace": STACK},
        "TaskTemplate": {"ContainerSpec": {"Image": image}},
    }
    if mode == "replicated":
        spec["Mode"] = {"Replicated": {"Replicas": replicas}}
    elif mode == "replicated-job":
        spec["Mode"] = {"ReplicatedJob": {"TotalCompletions": replicas, "MaxConcurrent": 1}}
        spec["TaskTemplate"]["RestartPolicy"] = {"Condition": "on-failure"}
    if failure_action:
        spec["UpdateConfig"] = {"FailureAction": failure_action}
    return spec


def create_change(spec: dict[str, Any]) -> ResourceChange:
    desired = ResourceState(ResourceKind.SERVICE, spec["Name"], spec)
    return ResourceChange(ResourceKind.SERVICE, spec["Name"], Effect.CREATE, desired=desired)


def update_change(
    live: FakeService, new_spec: dict[str, Any], effect: Effect = Effect.ROLLING
) -> ResourceChange:
    live_state = ResourceState(
        ResourceKind.SERVICE, live.name, dict(live.spec), id=live.id, version=live.version
    )
    desired = ResourceState(ResourceKind.SERVICE, live.name, new_spec)
    return ResourceChange(ResourceKind.SERVICE, live.name, effect, desired=desired, live=live_state)


def config_change(name: str) -> ResourceChange:
    full = f"{STACK}_{name}"
    desired = ResourceState(
        ResourceKind.CONFIG, full, {"Name": full, "Labels": {}}, content_sha256="abc"
    )
    return ResourceChange(ResourceKind.CONFIG, full, Effect.CREATE, desired=desired)


def make_plan(*changes: ResourceChange) -> Plan:
    return Plan(STACK, tuple(changes))
