"""Judging one service from one poll."""

from __future__ import annotations

from stackctl.rollout.adapter import ServiceInfo, TaskInfo
from stackctl.rollout.convergence import Phase, WatchLimits, evaluate, pending_reason

LIMITS = WatchLimits(max_task_failures=3, pending_timeout=10.0)


def svc(**kw: object) -> ServiceInfo:
    values: dict[str, object] = {
        "id": "s1",
        "name": "x_web",
        "version": 1,
        "mode": "replicated",
        "replicas": 2,
    }
    values.update(kw)
    return ServiceInfo(**values)  # type: ignore[arg-type]


def task(tid: str, state: str, **kw: object) -> TaskInfo:
    values: dict[str, object] = {
        "id": tid,
        "service_id": "s1",
        "state": state,
        "desired_state": "running",
    }
    values.update(kw)
    return TaskInfo(**values)  # type: ignore[arg-type]


def judge(service: ServiceInfo, tasks: list[TaskInfo], **kw: object) -> Phase:
    args: dict[str, object] = {
        "now": 100.0,
        "seen_before": set(),
        "pending_since": {},
        "limits": LIMITS,
    }
    args.update(kw)
    return evaluate(service, tasks, **args).phase  # type: ignore[arg-type]


def test_all_replicas_running_and_update_completed_is_converged() -> None:
    tasks = [task("a", "running"), task("b", "running")]
    assert judge(svc(update_state="completed"), tasks) is Phase.CONVERGED
    assert judge(svc(update_state=None), tasks) is Phase.CONVERGED


def test_swarm_still_updating_is_not_converged() -> None:
    tasks = [task("a", "running"), task("b", "running")]
    assert judge(svc(update_state="updating"), tasks) is Phase.PROGRESSING
    assert judge(svc(), tasks[:1]) is Phase.PROGRESSING


def test_swarm_pause_and_rollback_are_failures_unless_rolling_back() -> None:
    tasks = [task("a", "running"), task("b", "running")]
    assert judge(svc(update_state="paused"), tasks) is Phase.FAILED
    assert judge(svc(update_state="rollback_completed"), tasks) is Phase.FAILED
    assert (
        judge(svc(update_state="rollback_completed"), tasks, rolling_back=True) is Phase.CONVERGED
    )


def test_old_failures_do_not_count() -> None:
    tasks = [task("a", "running"), task("f1", "failed"), task("f2", "failed"), task("f3", "failed")]
    assert judge(svc(replicas=1), tasks, seen_before={"f1", "f2", "f3"}) is Phase.CONVERGED
    assert judge(svc(replicas=1), tasks) is Phase.FAILED


def test_pending_past_the_timeout_fails() -> None:
    tasks = [task("p", "pending", error="no suitable node (1 node not available)")]
    assert judge(svc(replicas=1), tasks, pending_since={"p": 95.0}) is Phase.PROGRESSING
    assert judge(svc(replicas=1), tasks, pending_since={"p": 80.0}) is Phase.FAILED


def test_one_shot_tasks_and_jobs_do_not_hang() -> None:
    done = [task("a", "complete", desired_state="shutdown")]
    assert judge(svc(replicas=1, restart_condition="none"), done) is Phase.CONVERGED
    job = svc(mode="replicated-job", total_completions=2, job_iteration=3, replicas=None)
    current = [task("a", "complete", job_iteration=3), task("b", "complete", job_iteration=3)]
    old = [task("c", "complete", job_iteration=2), task("d", "complete", job_iteration=2)]
    assert judge(job, current) is Phase.CONVERGED
    assert judge(job, old + current[:1]) is Phase.PROGRESSING


def test_pending_reasons_in_plain_words() -> None:
    assert "placement constraints match no" in pending_reason(
        task(
            "p",
            "pending",
            error="no suitable node (scheduling constraints not satisfied on 1 node)",
        )
    )
    assert "insufficient resources" in pending_reason(
        task("p", "pending", error="no suitable node (insufficient resources on 1 node)")
    )
    assert "image not available on the node" in pending_reason(
        task("p", "rejected", error="No such image: x:1")
    )


def test_long_running_tasks_that_end_on_their_own_are_failures() -> None:
    # A container stopped by a failing health check whose process exits 0 on
    # SIGTERM: the engine reports the task "complete", then starts another.
    ended = [
        task("c1", "complete", desired_state="shutdown"),
        task("c2", "complete", desired_state="shutdown"),
        task("c3", "complete", desired_state="shutdown"),
        task("s", "starting"),
    ]
    assert judge(svc(replicas=1), ended) is Phase.FAILED
    assert judge(svc(replicas=1), ended, seen_before={"c1", "c2", "c3"}) is Phase.PROGRESSING
    assert judge(svc(replicas=1, restart_condition="on-failure"), ended) is not Phase.FAILED


def test_a_running_task_whose_container_has_exited_is_not_healthy() -> None:
    # An unhealthy container whose process exits 0 on SIGTERM makes the engine's
    # start return without an error: Swarm reports the task "running" with PID 0,
    # then "complete". A poll in between must not call the release converged.
    exited = [task("a", "running", pid=0), task("b", "running", pid=0)]
    verdict = evaluate(svc(), exited, now=100.0, seen_before=set(), pending_since={}, limits=LIMITS)
    assert verdict.phase is Phase.PROGRESSING and verdict.updated == 0
    live = [task("a", "running", pid=4242), task("b", "running", pid=4243)]
    assert judge(svc(), live) is Phase.CONVERGED
    unknown = [task("a", "running"), task("b", "running")]  # an executor without PIDs
    assert judge(svc(), unknown) is Phase.CONVERGED
    finished = [task("a", "complete", exit_code=0), task("b", "complete", exit_code=0)]
    finished += [task("c", "complete", exit_code=0)]
    assert judge(svc(), finished) is Phase.FAILED
