"""The engine seen by the rollout: a small Protocol and the data it returns.

The runner only talks to an ``EngineAdapter``. The real one
(``stackctl.engine.writer.SwarmWriter``) uses the Docker SDK; the unit tests
use an in-memory fake that simulates task state transitions. Specs passed in
are the *comparable* specs of ``stackctl.core.model.state`` (references by name);
resolving names to IDs is the adapter's job.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from stackctl.core.model.state import ResourceKind, ResourceState
from stackctl.errors import EngineError

# Task states in which a task has not started yet (scheduling, pulling, ...).
PENDING_STATES = frozenset({"new", "allocated", "pending", "assigned", "accepted", "preparing"})
# Task states that count as a failed attempt.
FAILED_STATES = frozenset({"failed", "rejected"})


class VersionConflictError(EngineError):
    """The object changed in the cluster since the plan was made."""


@dataclass(frozen=True)
class TaskInfo:
    """One task as the rollout needs it."""

    id: str
    service_id: str
    state: str  # Status.State: pending, starting, running, complete, failed, ...
    desired_state: str
    slot: int | None = None
    node_id: str | None = None
    message: str = ""  # Status.Message
    error: str = ""  # Status.Err, e.g. "no suitable node (...)"
    exit_code: int | None = None
    job_iteration: int | None = None
    # Status.ContainerStatus.PID: the container's process when the status was
    # reported; 0 once the container has exited; None when the executor says nothing.
    pid: int | None = None


@dataclass(frozen=True)
class ServiceInfo:
    """The live facts about one service that decide convergence."""

    id: str
    name: str
    version: int
    mode: str  # replicated | global | replicated-job | global-job
    replicas: int | None = None  # replicated: desired replicas
    desired_tasks: int | None = None  # ServiceStatus.DesiredTasks (global: eligible nodes)
    total_completions: int | None = None  # replicated-job
    job_iteration: int | None = None  # jobs: current JobStatus.JobIteration.Index
    update_state: str | None = None  # UpdateStatus.State
    update_message: str = ""
    restart_condition: str = "any"  # none | on-failure | any


class EngineAdapter(Protocol):
    """What the rollout needs from an engine. Every call is one API request
    (or a small constant number of them), never one per task."""

    def create_object(self, resource: ResourceState, content: bytes | None) -> str:
        """Create a network, config or secret; return its ID."""

    def update_object_labels(self, resource: ResourceState, object_id: str, version: int) -> None:
        """Update the labels of a config or secret (the only mutable part)."""

    def remove_object(self, kind: ResourceKind, name_or_id: str) -> None:
        """Remove a network, config or secret. Missing objects are not an error."""

    def create_service(self, spec: Mapping[str, Any]) -> str:
        """Create a service from a comparable spec; return its ID."""

    def update_service(self, service_id: str, version: int, spec: Mapping[str, Any]) -> None:
        """Replace a service's spec, passing ``version`` for optimistic concurrency.

        Raises ``VersionConflictError`` when the service moved since ``version``.
        """

    def remove_service(self, service_id: str) -> None:
        """Remove a service. A missing service is not an error."""

    def list_services(self, stack: str) -> Sequence[ServiceInfo]:
        """Every service of the stack, in one call."""

    def list_tasks(self, stack: str, *, current_only: bool = True) -> Sequence[TaskInfo]:
        """Every task of the stack, in one call; with ``current_only``, only the tasks
        that run their service's *current* spec."""
