"""An in-memory Swarm that simulates task state transitions for the runner's tests.

Behaviour is chosen by the image name in a service spec:

- ``*:good``    tasks start and become running ``start_delay`` seconds after creation;
- ``*:broken``  tasks fail after ``start_delay`` and are restarted (a new task);
- ``*:pending`` tasks stay pending with a "no suitable node" error;
- ``*:job``     (job modes) tasks complete after ``start_delay``.

When a service's ``UpdateConfig.FailureAction`` is ``rollback``, the first failed
task of an update makes the fake Swarm roll the service back itself, as Swarm does.
Time is fake: ``sleep`` advances ``now``.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from stackctl.core.model.state import ResourceKind, ResourceState
from stackctl.rollout.adapter import ServiceInfo, TaskInfo, VersionConflictError

_ids = itertools.count(1)


def _new_id(prefix: str) -> str:
    return f"{prefix}{next(_ids)}"


@dataclass
class FakeTask:
    id: str
    spec_version: int
    state: str
    ready_at: float
    desired_state: str = "running"
    error: str = ""
    job_iteration: int | None = None


@dataclass
class FakeService:
    id: str
    spec: dict[str, Any]
    version: int
    spec_version: int
    previous_spec: dict[str, Any] | None = None
    update_state: str | None = None
    update_message: str = ""
    job_iteration: int = 0
    tasks: list[FakeTask] = field(default_factory=list)

    @property
    def name(self) -> str:
        return str(self.spec["Name"])


class FakeEngine:
    def __init__(self, start_delay: float = 1.0) -> None:
        self.now = 1000.0
        self.start_delay = start_delay
        self.services: dict[str, FakeService] = {}
        self.objects: dict[tuple[ResourceKind, str], dict[str, Any]] = {}
        self.calls: list[tuple[str, str]] = []
        self.conflict_on_update: set[str] = set()
        self.version_counter = itertools.count(100)

    # -- clock -----------------------------------------------------------
    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    @property
    def writes(self) -> list[tuple[str, str]]:
        return [c for c in self.calls if not c[0].startswith("list_")]

    # -- objects ------------------------------------------------------------
    def create_object(self, resource: ResourceState, content: bytes | None) -> str:
        self.calls.append(("create_object", resource.name))
        object_id = _new_id("o")
        self.objects[(resource.kind, resource.name)] = {
            "id": object_id,
            "spec": dict(resource.spec),
            "content": content,
        }
        return object_id

    def update_object_labels(self, resource: ResourceState, object_id: str, version: int) -> None:
        self.calls.append(("update_object_labels", resource.name))
        self.objects[(resource.kind, resource.name)]["spec"] = dict(resource.spec)

    def remove_object(self, kind: ResourceKind, name_or_id: str) -> None:
        self.calls.append(("remove_object", name_or_id))
        for key, obj in list(self.objects.items()):
            if key == (kind, name_or_id) or obj["id"] == name_or_id:
                del self.objects[key]

    # -- services -------------------------------------------------------------
    def create_service(self, spec: Mapping[str, Any]) -> str:
        self.calls.append(("create_service", str(spec["Name"])))
        service = FakeService(
            _new_id("s"), copy.deepcopy(dict(spec)), next(self.version_counter), 1
        )
        self.services[service.id] = service
        self._start_tasks(service)
        return service.id

    def update_service(self, service_id: str, version: int, spec: Mapping[str, Any]) -> None:
        service = self.services[service_id]
        self.calls.append(("update_service", service.name))
        if service.name in self.conflict_on_update or version != service.version:
            raise VersionConflictError(f"service {service.name} changed since it was planned")
        self._replace_spec(service, copy.deepcopy(dict(spec)), "updating")

    def remove_service(self, service_id: str) -> None:
        self.calls.append(("remove_service", service_id))
        self.services.pop(service_id, None)

    def list_services(self, stack: str) -> Sequence[ServiceInfo]:
        self.calls.append(("list_services", stack))
        self._tick()
        return [self._info(s) for s in self.services.values()]

    def list_tasks(self, stack: str, *, current_only: bool = True) -> Sequence[TaskInfo]:
        # The fake keeps only current-spec tasks, so both views are the same list.
        self.calls.append(("list_tasks", stack))
        self._tick()
        return [
            TaskInfo(
                id=t.id,
                service_id=s.id,
                state=t.state,
                desired_state=t.desired_state,
                error=t.error,
                job_iteration=t.job_iteration,
            )
            for s in self.services.values()
            for t in s.tasks
            if t.spec_version == s.spec_version
        ]

    # -- helpers for tests ------------------------------------------------------
    def service_named(self, name: str) -> FakeService:
        return next(s for s in self.services.values() if s.name == name)

    def add_running_service(self, spec: Mapping[str, Any]) -> FakeService:
        service_id = self.create_service(spec)
        self.calls.clear()
        self.now += self.start_delay
        self._tick()
        return self.services[service_id]

    # -- simulation ---------------------------------------------------------------
    def _replace_spec(self, service: FakeService, spec: dict[str, Any], state: str) -> None:
        service.previous_spec = service.spec
        service.spec = spec
        service.version = next(self.version_counter)
        service.spec_version += 1
        service.update_state = state
        service.update_message = ""
        for task in service.tasks:
            task.desired_state = "shutdown"
        self._start_tasks(service)

    def _start_tasks(self, service: FakeService) -> None:
        if _mode(service.spec).endswith("job"):
            service.job_iteration += 1
        for _ in range(_replicas(service.spec)):
            self._spawn(service)

    def _spawn(self, service: FakeService) -> None:
        behaviour = _behaviour(service.spec)
        error = "no suitable node (scheduling constraints not satisfied on 1 node)"
        service.tasks.append(
            FakeTask(
                _new_id("t"),
                service.spec_version,
                "pending",
                self.now + self.start_delay,
                error=error if behaviour == "pending" else "",
                job_iteration=service.job_iteration
                if _mode(service.spec).endswith("job")
                else None,
            )
        )

    def _tick(self) -> None:
        for service in list(self.services.values()):
            behaviour = _behaviour(service.spec)
            for task in list(service.tasks):
                if task.spec_version != service.spec_version or task.state != "pending":
                    continue
                if self.now < task.ready_at or behaviour == "pending":
                    continue
                if behaviour == "broken":
                    task.state, task.error = "failed", "task: non-zero exit (1)"
                    if self._swarm_rolls_back(service):
                        break
                    self._spawn(service)
                elif behaviour == "job":
                    task.state = "complete"
                else:
                    task.state = "running"
            current = [t for t in service.tasks if t.spec_version == service.spec_version]
            if current and all(t.state in ("running", "complete") for t in current):
                if service.update_state == "updating":
                    service.update_state = "completed"
                elif service.update_state == "rollback_started":
                    service.update_state = "rollback_completed"

    def _swarm_rolls_back(self, service: FakeService) -> bool:
        failure_action = service.spec.get("UpdateConfig", {}).get("FailureAction")
        if failure_action == "pause" and service.update_state == "updating":
            service.update_state, service.update_message = "paused", "update paused due to failure"
            return True
        if failure_action != "rollback" or service.update_state != "updating":
            return False
        assert service.previous_spec is not None
        self._replace_spec(service, service.previous_spec, "rollback_started")
        service.update_message = "update rolled back due to failure"
        return True

    def _info(self, service: FakeService) -> ServiceInfo:
        spec = service.spec
        mode = _mode(spec)
        return ServiceInfo(
            id=service.id,
            name=service.name,
            version=service.version,
            mode=mode,
            replicas=_replicas(spec) if mode == "replicated" else None,
            desired_tasks=_replicas(spec),
            total_completions=_replicas(spec) if mode == "replicated-job" else None,
            job_iteration=service.job_iteration if mode.endswith("job") else None,
            update_state=service.update_state,
            update_message=service.update_message,
            restart_condition=spec["TaskTemplate"].get("RestartPolicy", {}).get("Condition", "any"),
        )


def _behaviour(spec: Mapping[str, Any]) -> str:
    image = str(spec["TaskTemplate"]["ContainerSpec"]["Image"])
    return image.rsplit(":", 1)[-1]


def _mode(spec: Mapping[str, Any]) -> str:
    mode = spec.get("Mode", {"Replicated": {}})
    if "Global" in mode:
        return "global"
    if "ReplicatedJob" in mode:
        return "replicated-job"
    if "GlobalJob" in mode:
        return "global-job"
    return "replicated"


def _replicas(spec: Mapping[str, Any]) -> int:
    mode = spec.get("Mode", {})
    if "Replicated" in mode:
        return int(mode["Replicated"].get("Replicas", 1))
    if "ReplicatedJob" in mode:
        return int(mode["ReplicatedJob"].get("TotalCompletions", 1))
    return 1
