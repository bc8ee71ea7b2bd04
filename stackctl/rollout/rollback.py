"""Undo an apply: every changed service back to the spec observed before it.

The spec to return to is the one the plan observed (``ResourceChange.live``),
not Swarm's single ``PreviousSpec``, so a rollback is exact even after several
updates; the exception is a service whose update Swarm had paused, which goes
back to where that paused update started (see ``_restore``).

Jobs are not restored: writing a job's spec runs it again (see
``_undo_updated_services``); ``docs/hooks.md`` says what that means for data.

When Swarm already rolled a service back itself (its update_config said so),
that restored exactly the observed spec, and writing it again would only
restart tasks, so the runner just waits for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from stackctl.core.convert.pinning import with_digest
from stackctl.core.model.state import ResourceKind, ResourceState
from stackctl.core.plan.hooks import is_job_spec
from stackctl.core.plan.plan_model import ResourceChange
from stackctl.errors import StackctlError
from stackctl.rollout.adapter import EngineAdapter, ServiceInfo, VersionConflictError
from stackctl.rollout.checkpoints import checkpoint
from stackctl.rollout.convergence import Phase
from stackctl.rollout.events import (
    ApplyWarning,
    ResourceCreated,
    ResourceRemoved,
    ResourceUpdated,
    RollbackFinished,
    RollbackStarted,
)
from stackctl.rollout.options import ServiceStatus
from stackctl.rollout.watcher import DeadlineExceeded, Watch, Watcher

# Swarm restored the previous spec on its own (update_config failure_action: rollback).
SWARM_RESTORING = frozenset({"rollback_started", "rollback_completed"})
CONFLICT_RETRIES = 3


@dataclass
class Undo:
    """What this apply changed, in the order it changed it."""

    created_objects: list[tuple[ResourceKind, str]] = field(default_factory=list)
    new_service_ids: dict[str, str] = field(default_factory=dict)  # created (or re-created)
    replaced_services: dict[str, ResourceChange] = field(default_factory=dict)
    updated_services: list[ResourceChange] = field(default_factory=list)

    @property
    def service_names(self) -> tuple[str, ...]:
        """What a rollback returns to its previous state (updated jobs stay as they ran)."""
        updated = {
            c.name for c in self.updated_services if c.live is None or not is_job_spec(c.live.spec)
        }
        names = set(self.new_service_ids) | updated
        return tuple(sorted(names | set(self.replaced_services)))


Statuses = dict[str, tuple[ServiceStatus, str]]


def roll_back(
    adapter: EngineAdapter,
    stack: str,
    undo: Undo,
    watcher: Watcher,
    reason: str,
    deadline: float,
) -> Statuses:
    """Undo every change in ``undo``, wait for the services to converge back,
    and return each service's final status."""
    emit, at = watcher.emit, watcher.elapsed
    emit(RollbackStarted(at(), undo.service_names, reason))
    checkpoint("rollback-started")
    watcher.remember_current_tasks()  # failures up to now belong to the failed release
    statuses: Statuses = {}
    watches: dict[str, Watch] = {}
    try:
        _undo_created_services(adapter, undo, watcher, statuses, watches)
        _undo_updated_services(adapter, stack, undo, watcher, statuses, watches)
    except StackctlError as error:  # the engine refused: report, keep what we know
        emit(ApplyWarning(at(), f"rollback write failed: {error.message}"))
    checkpoint("rollback-submitted")

    while watches:
        try:
            finished = watcher.wait(watches, deadline)
        except DeadlineExceeded:
            for name in watches:
                statuses[name] = (ServiceStatus.ROLLBACK_FAILED, "did not converge back in time")
            break
        for name, verdict in finished.items():
            del watches[name]
            if verdict.phase is Phase.CONVERGED:
                statuses[name] = (ServiceStatus.ROLLED_BACK, "returned to its previous spec")
            else:
                statuses[name] = (ServiceStatus.ROLLBACK_FAILED, verdict.reason)

    _remove_created_objects(adapter, undo, watcher)
    failed = sorted(n for n, (s, _) in statuses.items() if s is ServiceStatus.ROLLBACK_FAILED)
    message = ("could not restore: " + ", ".join(failed)) if failed else ""
    emit(RollbackFinished(at(), not failed, message))
    return statuses


def _undo_created_services(
    adapter: EngineAdapter,
    undo: Undo,
    watcher: Watcher,
    statuses: Statuses,
    watches: dict[str, Watch],
) -> None:
    for name, service_id in sorted(undo.new_service_ids.items()):
        try:
            adapter.remove_service(service_id)
        except StackctlError as error:
            statuses[name] = (ServiceStatus.ROLLBACK_FAILED, f"could not remove: {error.message}")
            continue
        watcher.emit(ResourceRemoved(watcher.elapsed(), "service", name, "rollback"))
        statuses[name] = (ServiceStatus.REMOVED, "created by this apply; removed")
    for name, change in sorted(undo.replaced_services.items()):
        if change.live is None:
            continue
        service_id = adapter.create_service(_as_it_ran(change.live))
        watcher.emit(ResourceCreated(watcher.elapsed(), "service", name))
        watches[name] = Watch(name, service_id, rolling_back=True)


def _undo_updated_services(
    adapter: EngineAdapter,
    stack: str,
    undo: Undo,
    watcher: Watcher,
    statuses: Statuses,
    watches: dict[str, Watch],
) -> None:
    live = {s.name: s for s in adapter.list_services(stack)}
    for change in undo.updated_services:
        if change.live is not None and is_job_spec(change.live.spec):
            # Any write of a job's spec runs it again (Swarm starts a new iteration), so
            # "restoring" a migration would run the previous release's migration over
            # data the failed one may have changed. A job is left as it ran.
            watcher.emit(
                ApplyWarning(
                    watcher.elapsed(),
                    f"job {change.name}: left as this release ran it; a rollback does not "
                    "run jobs again, and what a job did to data is not undone",
                )
            )
            continue
        info = live.get(change.name)
        if info is None or change.live is None:
            statuses[change.name] = (ServiceStatus.ROLLBACK_FAILED, "the service no longer exists")
            continue
        if info.update_state not in SWARM_RESTORING:
            try:
                _restore(adapter, stack, info, change)
            except StackctlError as error:
                statuses[change.name] = (ServiceStatus.ROLLBACK_FAILED, error.message)
                continue
            watcher.emit(ResourceUpdated(watcher.elapsed(), "service", change.name, "rollback"))
        watches[change.name] = Watch(change.name, info.id, rolling_back=True)


def _restore(adapter: EngineAdapter, stack: str, info: ServiceInfo, change: ResourceChange) -> None:
    """Write the observed previous spec, at the service's current version.

    Swarm itself bumps the version while it works on a failing update, so a
    conflict here is retried with a fresh version. A service whose update Swarm
    had paused before this apply goes back to the spec its paused update came
    from (``PausedFromSpec``), where the tasks it did not reach still are; its
    observed spec is the failing one this apply tried again.
    """
    assert change.live is not None
    spec = change.live.status.get("PausedFromSpec") or _as_it_ran(change.live)
    version = info.version
    for attempt in range(CONFLICT_RETRIES):
        try:
            adapter.update_service(info.id, version, spec)
            return
        except VersionConflictError:
            if attempt == CONFLICT_RETRIES - 1:
                raise
            fresh = {s.id: s for s in adapter.list_services(stack)}.get(info.id)
            if fresh is None:
                raise
            version = fresh.version


def _remove_created_objects(adapter: EngineAdapter, undo: Undo, watcher: Watcher) -> None:
    for kind, name in reversed(undo.created_objects):
        try:
            adapter.remove_object(kind, name)
        except StackctlError as error:
            watcher.emit(
                ApplyWarning(
                    watcher.elapsed(), f"could not remove {kind.value} {name}: {error.message}"
                )
            )
            continue
        watcher.emit(ResourceRemoved(watcher.elapsed(), kind.value, name, "rollback"))


def _as_it_ran(live: ResourceState) -> Mapping[str, Any]:
    """The observed spec with the image digest it ran re-pinned (observe compares
    images by tag and keeps the digest apart, in ``status["ImageDigest"]``)."""
    digest = live.status.get("ImageDigest")
    return with_digest(live.spec, str(digest)) if digest else live.spec
