"""Decide, from one poll, whether a service has converged, is progressing or failed.

Pure: the runner passes the service's live facts, the tasks running its current
spec, and what it remembers between polls (tasks seen before the apply, when
each pending task was first seen). Swarm reports a health-checked task as
``running`` only after its first healthy probe and fails it when it turns
unhealthy, so "running on the new spec" is the health gate.

With one exception: when a container turns unhealthy before its first healthy
probe and its process exits 0 on the SIGTERM that stops it, the engine's start
returns without an error, so Swarm reports the task ``running`` (with the
container's PID, 0 by then) and only on its next report ``complete``. A poll
between the two must not take it for a healthy task: a ``running`` task counts
only while its reported PID is not 0.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from stackctl.core.model.state import SWARM_BUSY_STATES, SWARM_PAUSED_STATES
from stackctl.rollout.adapter import FAILED_STATES, PENDING_STATES, ServiceInfo, TaskInfo

SWARM_ROLLED_BACK = frozenset({"rollback_started", "rollback_completed"})

JOB_MODES = frozenset({"replicated-job", "global-job"})


class Phase(StrEnum):
    PROGRESSING = "progressing"
    CONVERGED = "converged"
    FAILED = "failed"


@dataclass(frozen=True)
class Verdict:
    phase: Phase
    updated: int  # tasks on the current spec that are running (or done, for one-shots)
    desired: int
    failed: int  # failed attempts of the current spec during this apply
    reason: str = ""  # why it failed (or what it waits for)
    task_error: str = ""


@dataclass(frozen=True)
class WatchLimits:
    max_task_failures: int = 3
    pending_timeout: float = 120.0


def evaluate(
    service: ServiceInfo,
    tasks: Sequence[TaskInfo],
    *,
    now: float,
    seen_before: Collection[str],
    pending_since: Mapping[str, float],
    limits: WatchLimits,
    rolling_back: bool = False,
) -> Verdict:
    """Judge one service from its current-spec tasks.

    ``seen_before``: task IDs that existed before this apply touched the
    service; their failures are history, not this apply's. ``pending_since``:
    when the runner first saw each still-pending task. ``rolling_back``: the
    service is being returned to its previous spec, so a Swarm rollback state
    is the expected end, not a failure.
    """
    if service.mode in JOB_MODES:
        tasks = [t for t in tasks if t.job_iteration == service.job_iteration]
    desired = _desired_count(service)
    fresh_failures = [t for t in tasks if t.state in FAILED_STATES and t.id not in seen_before]
    running = [
        t for t in tasks if t.state == "running" and t.desired_state == "running" and t.pid != 0
    ]
    done = [t for t in tasks if t.state == "complete"]
    one_shot = service.mode in JOB_MODES or service.restart_condition in ("none", "on-failure")
    if not one_shot:
        # A task that should keep running but ended on its own also failed: the
        # engine reports a container stopped by a failing health check as
        # "complete" when its process exits 0 on SIGTERM.
        fresh_failures += [t for t in tasks if t.state == "complete" and t.id not in seen_before]
    updated = len(running) + (len(done) if one_shot else 0)
    if service.mode in JOB_MODES:
        updated = len(done)
    last_error = _task_error(fresh_failures[-1]) if fresh_failures else ""

    def verdict(phase: Phase, reason: str = "", task_error: str = "") -> Verdict:
        return Verdict(
            phase, min(updated, desired), desired, len(fresh_failures), reason, task_error
        )

    state = service.update_state
    if state in SWARM_PAUSED_STATES:  # Swarm gave up on the update
        return verdict(Phase.FAILED, _swarm_reason("paused the update", service), last_error)
    if state in SWARM_ROLLED_BACK and not rolling_back:
        return verdict(Phase.FAILED, _swarm_reason("rolled the update back", service), last_error)

    if len(fresh_failures) >= limits.max_task_failures or (
        fresh_failures and service.restart_condition == "none"
    ):
        what = (
            f"the job failed: {len(fresh_failures)} task(s) ended with an error"
            if service.mode in JOB_MODES
            else f"{len(fresh_failures)} task(s) of the new spec failed"
        )
        return verdict(Phase.FAILED, what, last_error)

    stuck = [
        t
        for t in tasks
        if t.state in PENDING_STATES
        and t.desired_state == "running"
        and now - pending_since.get(t.id, now) >= limits.pending_timeout
    ]
    if stuck:
        return verdict(
            Phase.FAILED,
            f"task pending for more than {limits.pending_timeout:g}s: {pending_reason(stuck[0])}",
            stuck[0].error or stuck[0].message,
        )

    if updated >= desired and state not in SWARM_BUSY_STATES:
        return verdict(Phase.CONVERGED)
    waiting = "waiting for Swarm to finish the update" if updated >= desired else ""
    return verdict(Phase.PROGRESSING, waiting, last_error)


def pending_reason(task: TaskInfo) -> str:
    """Why a task does not start, in a user's words (the engine's text is the task error)."""
    text = task.error or task.message or task.state
    lowered = text.lower()
    if "insufficient resources" in lowered:
        return "insufficient resources on every node (CPU/memory reservations)"
    if "no suitable node" in lowered:
        return "no suitable node: the placement constraints match no available node"
    if "no such image" in lowered or "pull access denied" in lowered or "manifest" in lowered:
        return "image not available on the node"
    return text


def _desired_count(service: ServiceInfo) -> int:
    if service.mode == "replicated":
        return service.replicas if service.replicas is not None else 1
    if service.mode == "replicated-job":
        return service.total_completions or 1
    # global and global-job: one task per eligible node, as counted by the engine.
    return service.desired_tasks if service.desired_tasks is not None else 1


def _task_error(task: TaskInfo) -> str:
    if task.state == "complete" and not task.error:
        return (
            "the task ended (exit code 0) although it should keep running; "
            "a failing health check stops a task this way"
        )
    text = task.error or task.message
    if task.exit_code not in (None, 0) and "exit" not in text:
        text = f"{text} (exit code {task.exit_code})".strip()
    return text


def _swarm_reason(what: str, service: ServiceInfo) -> str:
    detail = f": {service.update_message}" if service.update_message else ""
    return f"Swarm {what} ({service.update_state}){detail}"
