"""The runner against the in-memory fake Swarm: outcomes, exit codes, what the
cluster holds afterwards, and how many calls it took."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace

import pytest
from support.fake_engine import FakeEngine
from support.rollout_builders import (
    STACK,
    config_change,
    create_change,
    make_plan,
    service_spec,
    update_change,
)

from stackctl.core.model.model import DependsOn
from stackctl.core.model.state import ResourceKind, ResourceState
from stackctl.core.plan.plan_model import Effect, ResourceChange
from stackctl.errors import EngineError, ExitCode
from stackctl.rollout.events import (
    ApplyFinished,
    ApplyWarning,
    Event,
    Outcome,
    RollbackStarted,
    ServiceConverged,
    ServiceFailed,
    ServiceSkipped,
)
from stackctl.rollout.options import ApplyOptions, FailurePolicy, ServiceStatus
from stackctl.rollout.runner import run_apply
from stackctl.rollout.waves import DependencyCycleError

Options = Callable[..., ApplyOptions]


def status_of(outcome_services: tuple[object, ...], name: str) -> ServiceStatus:
    for result in outcome_services:
        if getattr(result, "name", None) == name:
            status: ServiceStatus = result.status  # type: ignore[attr-defined]
            return status
    raise AssertionError(f"no result for {name}")


def test_no_op_plan_makes_no_calls_at_all(engine: FakeEngine, options_for: Options) -> None:
    events: list[Event] = []
    outcome = run_apply(engine, make_plan(), options_for(), events.append)
    assert outcome.outcome is Outcome.APPLIED
    assert outcome.exit_code is ExitCode.OK
    assert engine.calls == []
    assert isinstance(events[-1], ApplyFinished)


def test_rolling_update_converges_and_leaves_the_new_spec(
    engine: FakeEngine, options_for: Options, events: list[Event]
) -> None:
    web = engine.add_running_service(service_spec("web", "web:good"))
    plan = make_plan(update_change(web, service_spec("web", "web:good", replicas=3)))
    outcome = run_apply(engine, plan, options_for(), events.append)
    assert outcome.exit_code is ExitCode.OK
    assert engine.service_named("shop_web").spec["Mode"]["Replicated"]["Replicas"] == 3
    assert status_of(outcome.services, "shop_web") is ServiceStatus.CONVERGED
    assert any(isinstance(e, ServiceConverged) for e in events)
    for event in events:  # every event serializes
        json.dumps(event.to_json())


def test_created_service_converges(
    engine: FakeEngine, options_for: Options, events: list[Event]
) -> None:
    plan = make_plan(config_change("conf"), create_change(service_spec("web", "web:good")))
    outcome = run_apply(engine, plan, options_for(contents={"shop_conf": b"x"}), events.append)
    assert outcome.exit_code is ExitCode.OK
    assert engine.objects[(config_change("conf").kind, "shop_conf")]["content"] == b"x"
    # objects are written before services
    writes = [c[0] for c in engine.writes]
    assert writes == ["create_object", "create_service"]


def test_config_without_loaded_content_fails_before_services(
    engine: FakeEngine, options_for: Options, events: list[Event]
) -> None:
    plan = make_plan(config_change("conf"), create_change(service_spec("web", "web:good")))
    outcome = run_apply(engine, plan, options_for(), events.append)
    assert outcome.outcome is Outcome.NOT_APPLIED
    assert outcome.exit_code is ExitCode.ERROR  # nothing was written, nothing to undo
    assert "no content" in outcome.message
    assert not engine.services


def test_broken_release_rolls_everything_back(
    engine: FakeEngine, options_for: Options, events: list[Event]
) -> None:
    web = engine.add_running_service(service_spec("web", "web:good"))
    before = dict(web.spec)
    plan = make_plan(
        config_change("conf"),
        create_change(service_spec("new", "new:good")),
        update_change(web, service_spec("web", "web:broken")),
    )
    outcome = run_apply(engine, plan, options_for(contents={"shop_conf": b"x"}), events.append)
    assert outcome.outcome is Outcome.ROLLED_BACK
    assert outcome.exit_code is ExitCode.ROLLED_BACK
    assert engine.service_named("shop_web").spec == before
    assert [s.name for s in engine.services.values()] == ["shop_web"]  # created one removed
    assert not engine.objects  # created config removed
    assert status_of(outcome.services, "shop_web") is ServiceStatus.ROLLED_BACK
    assert status_of(outcome.services, "shop_new") is ServiceStatus.REMOVED
    failed = [e for e in events if isinstance(e, ServiceFailed)]
    assert failed and "non-zero exit" in failed[0].task_error
    assert any(isinstance(e, RollbackStarted) for e in events)


def test_swarm_side_rollback_is_detected_and_not_written_again(
    engine: FakeEngine, options_for: Options, events: list[Event]
) -> None:
    web = engine.add_running_service(service_spec("web", "web:good", failure_action="rollback"))
    before = dict(web.spec)
    plan = make_plan(
        update_change(web, service_spec("web", "web:broken", failure_action="rollback"))
    )
    outcome = run_apply(engine, plan, options_for(), events.append)
    assert outcome.exit_code is ExitCode.ROLLED_BACK
    assert "rolled the update back" in outcome.message
    assert engine.service_named("shop_web").spec == before
    # one forward update only: Swarm restored the spec itself
    assert [c for c in engine.writes if c[0] == "update_service"] == [
        ("update_service", "shop_web")
    ]


def test_pause_policy_starts_no_further_waves(
    engine: FakeEngine, options_for: Options, events: list[Event]
) -> None:
    db = engine.add_running_service(service_spec("db", "db:good", failure_action="pause"))
    plan = make_plan(
        update_change(db, service_spec("db", "db:broken", failure_action="pause")),
        create_change(service_spec("web", "web:good")),
    )
    deps = {"shop_web": (DependsOn("db", "service_healthy"),)}
    outcome = run_apply(
        engine, plan, options_for(on_failure=FailurePolicy.PAUSE, dependencies=deps), events.append
    )
    assert outcome.outcome is Outcome.PAUSED
    assert outcome.exit_code is ExitCode.FAILED
    assert engine.service_named("shop_db").update_state == "paused"  # as Swarm left it
    assert "shop_web" not in [s.name for s in engine.services.values()]
    assert status_of(outcome.services, "shop_web") is ServiceStatus.NOT_STARTED


def test_continue_policy_finishes_others_and_skips_dependents(
    engine: FakeEngine, options_for: Options, events: list[Event]
) -> None:
    plan = make_plan(
        create_change(service_spec("api", "api:broken")),
        create_change(service_spec("worker", "worker:good")),
        create_change(service_spec("web", "web:good")),
    )
    deps = {"shop_web": (DependsOn("api"),)}
    outcome = run_apply(
        engine,
        plan,
        options_for(on_failure=FailurePolicy.CONTINUE, dependencies=deps),
        events.append,
    )
    assert outcome.exit_code is ExitCode.FAILED
    assert status_of(outcome.services, "shop_worker") is ServiceStatus.CONVERGED
    assert status_of(outcome.services, "shop_api") is ServiceStatus.FAILED
    assert status_of(outcome.services, "shop_web") is ServiceStatus.NOT_STARTED
    assert any(isinstance(e, ServiceSkipped) and e.service == "shop_web" for e in events)


def test_unschedulable_tasks_fail_after_pending_timeout_with_reason(
    engine: FakeEngine, options_for: Options, events: list[Event]
) -> None:
    web = engine.add_running_service(service_spec("web", "web:good"))
    plan = make_plan(update_change(web, service_spec("web", "web:pending")))
    outcome = run_apply(engine, plan, options_for(pending_timeout=3.0), events.append)
    assert outcome.exit_code is ExitCode.ROLLED_BACK
    assert "no suitable node" in outcome.message
    assert "placement constraints match no available node" in outcome.message
    assert engine.now - 1000.0 < 60  # failed on the pending timeout, not the apply timeout


def test_whole_apply_timeout_exits_5(
    engine: FakeEngine, options_for: Options, events: list[Event]
) -> None:
    plan = make_plan(create_change(service_spec("web", "web:pending")))
    outcome = run_apply(
        engine, plan, options_for(timeout=4.0, pending_timeout=100.0), events.append
    )
    assert outcome.outcome is Outcome.TIMED_OUT
    assert outcome.exit_code is ExitCode.TIMED_OUT
    assert status_of(outcome.services, "shop_web") is ServiceStatus.IN_PROGRESS


def test_waves_follow_depends_on(
    engine: FakeEngine, options_for: Options, events: list[Event]
) -> None:
    plan = make_plan(
        create_change(service_spec("web", "web:good")),
        create_change(service_spec("db", "db:good")),
    )
    deps = {"shop_web": (DependsOn("db", "service_healthy"),)}
    run_apply(engine, plan, options_for(dependencies=deps), events.append)
    converged = [e.service for e in events if isinstance(e, ServiceConverged)]
    assert converged == ["shop_db", "shop_web"]
    creates = [c[1] for c in engine.writes]
    assert creates == ["shop_db", "shop_web"]


def test_max_concurrent_limits_services_in_flight(
    engine: FakeEngine, options_for: Options, events: list[Event]
) -> None:
    plan = make_plan(*(create_change(service_spec(f"s{i}", "x:good")) for i in range(3)))
    in_flight: list[int] = []

    def record(event: Event) -> None:
        in_flight.append(
            len(engine.services) - sum(isinstance(e, ServiceConverged) for e in events)
        )
        events.append(event)

    outcome = run_apply(engine, plan, options_for(max_concurrent=1), record)
    assert outcome.exit_code is ExitCode.OK
    assert max(in_flight) == 1
    unlimited = FakeEngine()
    run_apply(
        unlimited,
        make_plan(*(create_change(service_spec(f"s{i}", "x:good")) for i in range(3))),
        ApplyOptions(clock=unlimited.clock, sleep=unlimited.sleep),
        lambda e: None,
    )
    first_list = next(i for i, c in enumerate(unlimited.calls) if c[0] == "list_services")
    assert [c[0] for c in unlimited.calls[:first_list]].count("create_service") == 3


def test_one_poll_is_two_list_calls_whatever_the_number_of_services(
    engine: FakeEngine, options_for: Options
) -> None:
    plan = make_plan(*(create_change(service_spec(f"s{i}", "x:good")) for i in range(10)))
    run_apply(engine, plan, options_for(poll_interval=0.5), lambda e: None)
    lists = [c for c in engine.calls if c[0].startswith("list_")]
    polls = engine.calls.count(("list_services", STACK))
    # one list_tasks before writing (baseline), then exactly one per poll
    assert len(lists) == 2 * polls + 1
    assert polls <= 4  # 1s start delay at 0.5s polls: not one poll per service


def test_job_converges_when_completions_succeed(
    engine: FakeEngine, options_for: Options, events: list[Event]
) -> None:
    plan = make_plan(
        create_change(service_spec("migrate", "m:job", replicas=2, mode="replicated-job"))
    )
    outcome = run_apply(engine, plan, options_for(), events.append)
    assert outcome.exit_code is ExitCode.OK
    assert status_of(outcome.services, "shop_migrate") is ServiceStatus.CONVERGED


def test_version_conflict_is_a_failure_not_an_overwrite(
    engine: FakeEngine, options_for: Options, events: list[Event]
) -> None:
    web = engine.add_running_service(service_spec("web", "web:good"))
    change = update_change(web, service_spec("web", "web:good", replicas=5))
    web.version += 1  # someone updated the service after the plan was made
    outcome = run_apply(engine, make_plan(change), options_for(), events.append)
    assert outcome.exit_code is ExitCode.ERROR  # nothing was changed, nothing rolled back
    assert "changed since it was planned" in outcome.message
    assert engine.writes == [("update_service", "shop_web")]  # the refused write only
    assert engine.service_named("shop_web").spec["Mode"]["Replicated"]["Replicas"] == 2


def test_rollback_that_fails_exits_4_with_an_account(
    engine: FakeEngine, options_for: Options, events: list[Event]
) -> None:
    web = engine.add_running_service(service_spec("web", "web:good"))
    change = update_change(web, service_spec("web", "web:broken"))
    web.spec["TaskTemplate"]["ContainerSpec"]["Image"] = "web:broken"  # the old spec breaks too
    object.__setattr__(change.live, "spec", dict(web.spec))
    outcome = run_apply(engine, make_plan(change), options_for(), events.append)
    assert outcome.outcome is Outcome.FAILED
    assert outcome.exit_code is ExitCode.FAILED
    assert status_of(outcome.services, "shop_web") is ServiceStatus.ROLLBACK_FAILED
    assert "rollback failed" in outcome.message


def test_stop_request_ends_cleanly(
    engine: FakeEngine, options_for: Options, events: list[Event]
) -> None:
    plan = make_plan(create_change(service_spec("web", "web:pending")))
    polls = iter(range(100))
    outcome = run_apply(
        engine, plan, options_for(should_stop=lambda: next(polls) > 2), events.append
    )
    assert outcome.outcome is Outcome.INTERRUPTED
    assert outcome.exit_code is ExitCode.FAILED
    assert status_of(outcome.services, "shop_web") is ServiceStatus.IN_PROGRESS


def test_detach_submits_without_watching(engine: FakeEngine, options_for: Options) -> None:
    plan = make_plan(create_change(service_spec("web", "web:pending")))
    outcome = run_apply(engine, plan, options_for(detach=True), lambda e: None)
    assert outcome.outcome is Outcome.SUBMITTED
    assert outcome.exit_code is ExitCode.OK
    assert ("list_services", STACK) not in engine.calls


def test_prune_removes_undeclared_services_after_the_rest_converged(
    engine: FakeEngine, options_for: Options, events: list[Event]
) -> None:
    old = engine.add_running_service(service_spec("old", "old:good"))

    delete = ResourceChange(
        ResourceKind.SERVICE,
        old.name,
        Effect.DELETE,
        live=ResourceState(
            ResourceKind.SERVICE, old.name, old.spec, id=old.id, version=old.version
        ),
    )
    plan = make_plan(create_change(service_spec("web", "web:good")), delete)
    outcome = run_apply(engine, plan, options_for(), events.append)
    assert outcome.exit_code is ExitCode.OK
    assert [s.name for s in engine.services.values()] == ["shop_web"]
    assert [c[0] for c in engine.writes] == ["create_service", "remove_service"]


def test_dependency_cycle_is_refused_before_any_write(
    engine: FakeEngine, options_for: Options
) -> None:
    plan = make_plan(
        create_change(service_spec("a", "a:good")), create_change(service_spec("b", "b:good"))
    )
    deps = {"shop_a": (DependsOn("b"),), "shop_b": (DependsOn("a"),)}
    with pytest.raises(DependencyCycleError, match="shop_a -> shop_b -> shop_a"):
        run_apply(engine, plan, options_for(dependencies=deps), lambda e: None)
    assert engine.writes == []


def test_engine_outage_while_watching_is_survived(
    engine: FakeEngine, options_for: Options, events: list[Event]
) -> None:
    outages = iter([False, True, True, True])  # 1st poll fine, then 3 failed polls
    real_list = engine.list_services

    def flaky(stack: str):  # type: ignore[no-untyped-def]
        if next(outages, False):
            raise EngineError("cannot reach the Docker engine")
        return real_list(stack)

    engine.list_services = flaky  # type: ignore[method-assign]
    plan = make_plan(create_change(service_spec("web", "web:good")))
    outcome = run_apply(engine, plan, options_for(), events.append)
    assert outcome.exit_code is ExitCode.OK
    warnings = [e.message for e in events if isinstance(e, ApplyWarning)]
    assert len(warnings) == 2 and "lost the engine" in warnings[0]


def test_engine_outage_past_the_deadline_times_out(
    engine: FakeEngine, options_for: Options, events: list[Event]
) -> None:
    def down(stack: str):  # type: ignore[no-untyped-def]
        raise EngineError("cannot reach the Docker engine")

    plan = make_plan(create_change(service_spec("web", "web:good")))
    engine.list_services = down  # type: ignore[method-assign]
    outcome = run_apply(engine, plan, options_for(timeout=10.0), events.append)
    assert outcome.exit_code is ExitCode.TIMED_OUT


def test_engine_error_before_any_write_ends_the_event_stream_as_not_applied(
    engine: FakeEngine, options_for: Options, events: list[Event]
) -> None:
    def unreachable(stack: str, *, current_only: bool = True):  # type: ignore[no-untyped-def]
        raise EngineError("cannot reach the Docker engine")

    engine.list_tasks = unreachable  # type: ignore[method-assign]
    plan = make_plan(create_change(service_spec("web", "web:good")))
    outcome = run_apply(engine, plan, options_for(), events.append)
    assert outcome.outcome is Outcome.NOT_APPLIED and outcome.exit_code is ExitCode.ERROR
    assert "cannot reach the Docker engine" in outcome.message
    assert "nothing was changed" in outcome.message
    assert engine.writes == []
    # JSON consumers get a final event for every apply_started
    assert isinstance(events[-1], ApplyFinished) and events[-1].outcome is Outcome.NOT_APPLIED


def test_a_rollout_swarm_is_still_running_is_waited_for_with_no_write(
    engine: FakeEngine, options_for: Options, events: list[Event]
) -> None:

    web = engine.add_running_service(service_spec("web", "web:good"))
    engine._replace_spec(web, service_spec("web", "web:good2"), "updating")  # an earlier apply
    plan = replace(make_plan(), in_progress=("shop_web",))
    outcome = run_apply(engine, plan, options_for(), events.append)
    assert outcome.exit_code is ExitCode.OK and outcome.changed == 0
    assert engine.writes == []
    assert web.update_state == "completed"  # it returned only once Swarm had finished
    assert [e.service for e in events if isinstance(e, ServiceConverged)] == ["shop_web"]
    assert status_of(outcome.services, "shop_web") is ServiceStatus.CONVERGED
    assert isinstance(events[-1], ApplyFinished)


def test_a_swarm_rollout_that_fails_while_waited_for_is_reported_not_rolled_back(
    engine: FakeEngine, options_for: Options, events: list[Event]
) -> None:
    web = engine.add_running_service(service_spec("web", "web:good", failure_action="pause"))
    broken = service_spec("web", "web:broken", failure_action="pause")
    engine._replace_spec(web, broken, "updating")
    plan = replace(make_plan(), in_progress=("shop_web",))
    outcome = run_apply(engine, plan, options_for(), events.append)
    assert outcome.outcome is Outcome.FAILED and outcome.exit_code is ExitCode.FAILED
    assert "in progress before this apply" in outcome.message
    assert "apply` again resumes it" in outcome.message
    assert engine.writes == []  # not this apply's change: nothing written, nothing undone
    assert status_of(outcome.services, "shop_web") is ServiceStatus.FAILED


def test_what_an_interrupted_apply_wrote_is_seen_converged_before_anything_is_written(
    engine: FakeEngine, options_for: Options, events: list[Event]
) -> None:
    """A re-run over an interrupted apply (``ApplyOptions.settle``): the services it
    does not write pass their health gate first, even when Swarm says nothing is
    updating; only then does it write its own changes."""
    db = engine.add_running_service(service_spec("db", "db:1"))
    engine._replace_spec(db, service_spec("db", "db:2"), "completed")  # tasks not up yet
    outcome = run_apply(
        engine,
        make_plan(create_change(service_spec("api", "api:2"))),
        options_for(settle=("shop_db",)),
        events.append,
    )
    assert outcome.exit_code is ExitCode.OK and outcome.changed == 1
    converged = [e.service for e in events if isinstance(e, ServiceConverged)]
    assert converged == ["shop_db", "shop_api"]  # db's gate before api was created
    assert status_of(outcome.services, "shop_db") is ServiceStatus.CONVERGED
    # nothing left to write: still watched, not "nothing to do"
    again: list[Event] = []
    quiet = run_apply(engine, make_plan(), options_for(settle=("shop_db",)), again.append)
    assert quiet.exit_code is ExitCode.OK and quiet.changed == 0
    assert [e.service for e in again if isinstance(e, ServiceConverged)] == ["shop_db"]


def test_an_interrupted_apply_whose_services_do_not_converge_is_not_built_upon(
    engine: FakeEngine, options_for: Options, events: list[Event]
) -> None:
    db = engine.add_running_service(service_spec("db", "db:1", failure_action="pause"))
    engine._replace_spec(db, service_spec("db", "db:broken", failure_action="pause"), "updating")
    outcome = run_apply(
        engine,
        make_plan(create_change(service_spec("api", "api:2"))),
        options_for(settle=("shop_db",)),
        events.append,
    )
    assert outcome.outcome is Outcome.FAILED and outcome.changed == 0
    assert "written by an apply that never finished" in outcome.message
    assert engine.writes == []  # api was not created over a failing db
    assert status_of(outcome.services, "shop_db") is ServiceStatus.FAILED
