"""What the bench reads from (and cleans up in) the Swarm, through the low-level Docker SDK.

The harness uses these to check what a contender left behind, count touched
services, and remove stacks between runs. None of it is timed.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import docker
from docker.errors import APIError, NotFound

from bench.gen import NAMESPACE_LABEL

DEFAULT_SOCKET = "unix:///var/run/docker.sock"
# stackctl labels its revision configs with the stack name (stackctl/engine/revisions.py)
STACKCTL_STACK_LABEL = "io.stackctl.stack"


def api_client(base_url: str | None = None) -> Any:
    """A low-level client; ``base_url`` None means the environment (DOCKER_HOST)."""
    if base_url is None:
        return docker.from_env(timeout=300).api
    return docker.APIClient(base_url=base_url, timeout=300)


def stack_filter(stack: str) -> dict[str, str]:
    return {"label": f"{NAMESPACE_LABEL}={stack}"}


def service_versions(api: Any, stack: str) -> dict[str, int]:
    """Version.Index of every service in the stack, by name."""
    return {
        s["Spec"]["Name"]: int(s["Version"]["Index"])
        for s in api.services(filters=stack_filter(stack))
    }


def count_changed(before: Mapping[str, int], after: Mapping[str, int]) -> int:
    """Services whose version index moved, plus services that appeared or vanished."""
    names = set(before) | set(after)
    return sum(1 for name in names if before.get(name) != after.get(name))


@dataclass(frozen=True)
class ServiceProgress:
    """One service as the floor and the harness judge it."""

    name: str
    state: str  # "converged", "rolled_back", "failed" or "pending"
    running: int
    replicas: int


def judge_service(
    service: Mapping[str, Any], tasks: list[Mapping[str, Any]], expected_image: str | None
) -> ServiceProgress:
    """Has this service settled on ``expected_image`` (or been rolled back by Swarm)?

    Swarm reports a task ``running`` only once its health check passed, so "every
    desired task running on the image" means running *and* healthy.
    ``expected_image`` None means whatever image the live spec names.
    """
    spec = service["Spec"]
    name = spec["Name"]
    replicas = int(spec.get("Mode", {}).get("Replicated", {}).get("Replicas", 0))
    spec_image = spec["TaskTemplate"]["ContainerSpec"]["Image"]
    update_state = (service.get("UpdateStatus") or {}).get("State")
    wanted = spec_image if expected_image is None else expected_image
    if update_state == "rollback_completed":
        # Swarm put the previous spec back; settled once tasks run that image.
        wanted = spec_image
    wanted = _tag(wanted)
    live = [t for t in tasks if t.get("DesiredState") == "running"]
    running = sum(
        1
        for t in live
        if t["Status"]["State"] == "running" and _tag(t["Spec"]["ContainerSpec"]["Image"]) == wanted
    )
    stale = sum(1 for t in live if _tag(t["Spec"]["ContainerSpec"]["Image"]) != wanted)
    settled = running >= replicas and stale == 0
    if update_state in ("paused", "rollback_paused"):
        state = "failed"
    elif update_state == "rollback_completed":
        state = "rolled_back" if settled else "pending"
    elif update_state == "rollback_started" or not settled:
        # "updating" with every task already on the new image counts as converged:
        # the floor waits for tasks, not for Swarm's monitor window to close.
        state = "pending"
    else:
        state = "converged"
    return ServiceProgress(name, state, running, replicas)


def stack_progress(
    api: Any, stack: str, expected_images: Mapping[str, str] | None = None
) -> dict[str, ServiceProgress]:
    """Judge every service of the stack with two list calls (services, running tasks)."""
    services = api.services(filters=stack_filter(stack))
    tasks = api.tasks(filters={**stack_filter(stack), "desired-state": "running"})
    by_service: dict[str, list[Mapping[str, Any]]] = {}
    for task in tasks:
        by_service.setdefault(task["ServiceID"], []).append(task)
    result: dict[str, ServiceProgress] = {}
    for service in services:
        name = service["Spec"]["Name"]
        expected = None if expected_images is None else expected_images.get(name)
        result[name] = judge_service(service, by_service.get(service["ID"], []), expected)
    return result


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.25) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def stack_settled(
    api: Any, stack: str, expected_images: Mapping[str, str], *, allow_rolled_back: bool = False
) -> bool:
    """Every expected service exists and has converged (or, if allowed, rolled back)."""
    progress = stack_progress(api, stack, expected_images)
    ok_states = {"converged", "rolled_back"} if allow_rolled_back else {"converged"}
    return set(progress) == set(expected_images) and all(
        p.state in ok_states for p in progress.values()
    )


def stack_quiet(api: Any, stack: str) -> bool:
    """No service of the stack is mid-update (Swarm's monitor window included).

    Swarm bumps a service's version when it closes an update, so the harness waits
    for this before taking a "before" snapshot of version indices.
    """
    return not any(
        (s.get("UpdateStatus") or {}).get("State") in ("updating", "rollback_started")
        for s in api.services(filters=stack_filter(stack))
    )


def _tag(image: str) -> str:
    """``image:tag`` without the registry digest a resolving deploy pins onto it."""
    return image.partition("@")[0]


def live_images(api: Any, stack: str) -> dict[str, str]:
    """The image (tag, without a pinned digest) each service's live spec names."""
    return {
        s["Spec"]["Name"]: _tag(s["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"])
        for s in api.services(filters=stack_filter(stack))
    }


def remove_stack(api: Any, stack: str, timeout: float = 180.0) -> bool:
    """Remove every service and network labelled with the stack and wait until they are gone.

    Waits for the stack's containers to exit too, so the next run starts on a quiet node.
    """
    for service in api.services(filters=stack_filter(stack)):
        with contextlib.suppress(NotFound):
            api.remove_service(service["ID"])

    def containers_gone() -> bool:
        return not api.containers(all=True, filters=stack_filter(stack))

    gone = wait_until(containers_gone, timeout, interval=0.5)

    def networks_gone() -> bool:
        for network in api.networks(filters=stack_filter(stack)):
            try:
                api.remove_network(network["Id"])
            except NotFound:
                pass
            except APIError:
                return False  # still has endpoints; retry
        return not api.networks(filters=stack_filter(stack))

    networks_removed = wait_until(networks_gone, timeout, interval=0.5)
    _remove_stack_configs(api, stack)
    return networks_removed and gone


def _remove_stack_configs(api: Any, stack: str) -> None:
    """Configs and secrets of the stack, plus what stackctl keeps per stack (revisions, lock)."""
    configs = [
        *api.configs(filters=stack_filter(stack)),
        *api.configs(filters={"label": f"{STACKCTL_STACK_LABEL}={stack}"}),
        *[
            c
            for c in api.configs(filters={"name": f"stackctl-lock-{stack}"})
            if c["Spec"]["Name"] == f"stackctl-lock-{stack}"
        ],
    ]
    for config in configs:
        with contextlib.suppress(NotFound, APIError):
            api.remove_config(config["ID"])
    for secret in api.secrets(filters=stack_filter(stack)):
        with contextlib.suppress(NotFound, APIError):
            api.remove_secret(secret["ID"])
