"""Whole-stack reads and removal for ``status``, ``ls`` and ``rm``.

Every read is a constant number of list calls (services with status, tasks by
service id, one label-filtered list per object kind), never one per service.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import docker
import docker.errors

from stackctl.core.model.state import LABEL_IMAGE, LABEL_NAMESPACE
from stackctl.engine.client import EngineClient
from stackctl.engine.containers import wait_for_containers_gone
from stackctl.engine.revisions import (
    LABEL_REV_KIND,
    LABEL_REV_NUMBER,
    LABEL_REV_STACK,
    RevisionStore,
    low_level_api,
)
from stackctl.errors import EngineError


@dataclass(frozen=True)
class LiveService:
    """One service as it runs now, as ``stackctl status`` shows it (not to be confused
    with ``rollout.events.ServiceStatus``, the state a rollout left a service in)."""

    name: str
    mode: str  # replicated | global | replicated-job | global-job
    image: str  # as declared (com.docker.stack.image) when known
    running: int
    desired: int
    healthy: int | None  # None: the service has no health check
    update_state: str | None  # UpdateStatus.State (updating, completed, rollback_completed...)
    update_message: str = ""
    task_errors: tuple[str, ...] = ()  # latest error per failing slot, deduplicated


@dataclass(frozen=True)
class StackInfo:
    """One stack as ``stackctl ls`` shows it."""

    name: str
    services: int
    running: int
    desired: int
    created_at: datetime | None  # oldest service's creation
    revision: int | None  # newest recorded revision number
    updating: bool = False
    issues: tuple[str, ...] = field(default=())

    @property
    def status(self) -> str:
        if self.updating:
            return "updating"
        return "ok" if self.running >= self.desired else "degraded"


def _parse_time(text: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


def _mode(spec: Mapping[str, Any]) -> str:
    mode = spec.get("Mode") or {}
    for key, name in (
        ("Global", "global"),
        ("ReplicatedJob", "replicated-job"),
        ("GlobalJob", "global-job"),
    ):
        if key in mode:
            return name
    return "replicated"


def _api_call(what: str, call: Callable[[], Any]) -> Any:
    try:
        return call()
    except docker.errors.APIError as exc:
        raise EngineError(f"cannot {what}: {exc.explanation}") from exc


def _stack_services(api: Any, stack: str | None) -> list[dict[str, Any]]:
    label = f"{LABEL_NAMESPACE}={stack}" if stack else LABEL_NAMESPACE
    result: list[dict[str, Any]] = _api_call(
        "list services", lambda: api.services(filters={"label": label}, status=True)
    )
    return result


def service_statuses(client: EngineClient, stack: str) -> list[LiveService]:
    """Every service of ``stack`` with its replica, health and update state."""
    api = low_level_api(client)
    services = _stack_services(api, stack)
    tasks: list[dict[str, Any]] = []
    if services:
        ids = [s["ID"] for s in services]
        tasks = _api_call("list tasks", lambda: api.tasks(filters={"service": ids}))
    checks = _image_checks(api, services)
    by_service: dict[str, list[dict[str, Any]]] = {}
    for task in tasks:
        by_service.setdefault(task["ServiceID"], []).append(task)
    return sorted(
        (_service_status(s, by_service.get(s["ID"], []), checks) for s in services),
        key=lambda s: s.name,
    )


def _image_checks(api: Any, services: Sequence[Mapping[str, Any]]) -> frozenset[str]:
    """Images (as the specs name them) whose image config declares a HEALTHCHECK.

    One inspect per distinct image, only for services without a health check in
    their spec; an image this node does not have counts as unknown (no check).
    """
    images = {
        str(_container(s).get("Image", ""))
        for s in services
        if not (_container(s).get("Healthcheck") or {}).get("Test")
    }
    with_check = set()
    for image in sorted(images - {""}):
        try:
            config = api.inspect_image(image).get("Config") or {}
        except docker.errors.APIError:
            continue
        test = (config.get("Healthcheck") or {}).get("Test")
        if test and test != ["NONE"]:
            with_check.add(image)
    return frozenset(with_check)


def _container(service: Mapping[str, Any]) -> Mapping[str, Any]:
    spec = service.get("Spec") or {}
    result: Mapping[str, Any] = (spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}
    return result


def _service_status(
    service: Mapping[str, Any],
    tasks: Sequence[Mapping[str, Any]],
    image_checks: frozenset[str] = frozenset(),
) -> LiveService:
    spec = service["Spec"]
    container = spec.get("TaskTemplate", {}).get("ContainerSpec", {})
    counts = service.get("ServiceStatus") or {}
    running_now = [
        t
        for t in tasks
        if t.get("DesiredState") == "running" and t.get("Status", {}).get("State") == "running"
    ]
    health = container.get("Healthcheck") or {}
    test = health.get("Test")
    has_check = test != ["NONE"] and (bool(test) or container.get("Image") in image_checks)
    # Swarm holds a health-checked task in "starting" until its check passes, so a
    # running task of such a service is a healthy one.
    healthy = len(running_now) if has_check else None
    errors: list[str] = []
    for task in sorted(tasks, key=lambda t: t.get("UpdatedAt", ""), reverse=True):
        err = task.get("Status", {}).get("Err")
        if err and err not in errors:
            errors.append(err)
    mode = _mode(spec)
    desired = counts.get("DesiredTasks")
    if desired is None:
        desired = (spec.get("Mode", {}).get("Replicated") or {}).get("Replicas", 0)
    update = service.get("UpdateStatus") or {}
    return LiveService(
        name=spec["Name"],
        mode=mode,
        image=(spec.get("Labels") or {}).get(LABEL_IMAGE)
        or str(container.get("Image", "")).split("@")[0],
        running=int(counts.get("RunningTasks", len(running_now))),
        desired=int(desired),
        healthy=healthy,
        update_state=update.get("State"),
        update_message=update.get("Message", ""),
        task_errors=tuple(errors[:3]),
    )


def list_stacks(client: EngineClient) -> list[StackInfo]:
    """Every stack with services in the cluster (services labelled with a namespace)."""
    api = low_level_api(client)
    services = _stack_services(api, None)
    revisions: dict[str, int] = {}
    configs = _api_call(
        "list revisions", lambda: api.configs(filters={"label": [f"{LABEL_REV_KIND}=revision"]})
    )
    for config in configs:
        labels = config["Spec"].get("Labels") or {}
        stack, number = labels.get(LABEL_REV_STACK), labels.get(LABEL_REV_NUMBER, "")
        if stack and number.isdigit():
            revisions[stack] = max(revisions.get(stack, 0), int(number))
    grouped: dict[str, list[dict[str, Any]]] = {}
    for service in services:
        grouped.setdefault(service["Spec"]["Labels"][LABEL_NAMESPACE], []).append(service)
    stacks = []
    for name, members in sorted(grouped.items()):
        statuses = [_service_status(s, ()) for s in members]
        created = [t for t in (_parse_time(s.get("CreatedAt")) for s in members) if t]
        stacks.append(
            StackInfo(
                name=name,
                services=len(members),
                running=sum(min(s.running, s.desired) for s in statuses),
                desired=sum(s.desired for s in statuses),
                created_at=min(created) if created else None,
                revision=revisions.get(name),
                updating=any(s.update_state in ("updating", "rollback_started") for s in statuses),
            )
        )
    return stacks


@dataclass(frozen=True)
class RemovalReport:
    services: tuple[str, ...]
    networks: tuple[str, ...]
    configs: tuple[str, ...]
    secrets: tuple[str, ...]
    revisions: int
    leftovers: tuple[str, ...]  # objects that could not be removed, with the reason


def remove_stack(
    client: EngineClient,
    stack: str,
    *,
    keep_history: bool = False,
    wait_seconds: float = 60.0,
    progress: Callable[[str], None] = lambda message: None,
) -> RemovalReport:
    """Remove every service, network, config and secret of ``stack`` (and its history).

    Services go first; networks are removed once their tasks are gone (the engine
    refuses to remove a network with attached endpoints), retrying until
    ``wait_seconds``. Configs and secrets in use elsewhere are reported, not forced.
    Swarm removes networks asynchronously: it returns once they are no longer
    listed (saying so through ``progress`` while it waits), so a deploy right
    after can create them again; one still listed at the deadline is a leftover.
    """
    api = low_level_api(client)
    label = {"label": f"{LABEL_NAMESPACE}={stack}"}
    services = _stack_services(api, stack)
    leftovers: list[str] = []
    for service in services:
        try:
            api.remove_service(service["ID"])
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            leftovers.append(f"service {service['Spec']['Name']}: {exc.explanation}")
    configs = _api_call("list configs", lambda: api.configs(filters=label))
    secrets = _api_call("list secrets", lambda: api.secrets(filters=label))
    networks = _api_call("list networks", lambda: api.networks(filters=label))
    deadline = time.monotonic() + wait_seconds
    for kind, objects, remove in (
        ("config", configs, api.remove_config),
        ("secret", secrets, api.remove_secret),
    ):
        for obj in objects:
            remaining = max(0.0, deadline - time.monotonic())
            what = f"{kind} {obj['Spec']['Name']}"
            _remove_with_retry(remove, obj["ID"], what, remaining, leftovers)
    # The manager accepts a network removal as soon as no service references it,
    # but each node keeps its copy until the tasks' containers are gone: wait for
    # them (as far as this node can see) so the name is free when rm returns.
    wait_for_containers_gone(api, {s["ID"] for s in services}, deadline)
    for network in networks:
        remaining = max(0.0, deadline - time.monotonic())
        _remove_with_retry(
            api.remove_network, network["Id"], f"network {network['Name']}", remaining, leftovers
        )
    if networks:
        progress(
            f"waiting for Swarm to finish removing {len(networks)} network(s) "
            f"(it removes networks asynchronously; up to {wait_seconds:g}s)"
        )
    still = _wait_for_networks_gone(api, label, deadline)
    reported = {item.split(":")[0] for item in leftovers}
    leftovers += [
        f"network {name}: still being removed after {wait_seconds:g}s"
        for name in still
        if f"network {name}" not in reported
    ]
    removed_revisions = 0 if keep_history else RevisionStore(api, stack).delete_all()
    return RemovalReport(
        services=tuple(sorted(s["Spec"]["Name"] for s in services)),
        networks=tuple(sorted(n["Name"] for n in networks)),
        configs=tuple(sorted(c["Spec"]["Name"] for c in configs)),
        secrets=tuple(sorted(s["Spec"]["Name"] for s in secrets)),
        revisions=removed_revisions,
        leftovers=tuple(leftovers),
    )


def _wait_for_networks_gone(api: Any, label: Mapping[str, str], deadline: float) -> list[str]:
    """The names of the stack's networks still listed at ``deadline`` (none: all gone)."""
    while True:
        listed = _api_call("list networks", lambda: api.networks(filters=label))
        if not listed:
            return []
        if time.monotonic() >= deadline:
            return sorted(n["Name"] for n in listed)
        time.sleep(0.5)


def _remove_with_retry(
    remove: Callable[[str], Any], object_id: str, what: str, wait: float, leftovers: list[str]
) -> None:
    """Remove, retrying while the engine says the object is still in use."""
    deadline = time.monotonic() + wait
    delay = 0.2
    while True:
        try:
            remove(object_id)
            return
        except docker.errors.NotFound:
            return
        except docker.errors.APIError as exc:
            if time.monotonic() >= deadline:
                leftovers.append(f"{what}: {exc.explanation}")
                return
            time.sleep(delay)
            delay = min(delay * 1.5, 2.0)
