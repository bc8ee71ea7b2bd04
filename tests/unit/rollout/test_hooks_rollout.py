"""Release hooks against the in-memory fake Swarm: a migration job runs before the
app, a smoke test job after it; either failing rolls the release back (exit 3)
and leaves the jobs as they ran (docs/hooks.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from support.fake_engine import FakeEngine, FakeService
from support.rollout_builders import make_plan, service_spec, update_change

from stackctl.core.model.model import DependsOn
from stackctl.core.model.state import ResourceKind, ResourceState
from stackctl.core.plan.plan_model import Effect, ResourceChange
from stackctl.errors import ExitCode
from stackctl.rollout.events import (
    ApplyWarning,
    Event,
    Outcome,
    RollbackStarted,
    ServiceFailed,
)
from stackctl.rollout.options import ApplyOptions, ServiceStatus
from stackctl.rollout.runner import run_apply

Options = Callable[..., ApplyOptions]

DEPENDENCIES = {
    "shop_web": (DependsOn("migrate", "service_completed_successfully"),),
    "shop_smoke": (DependsOn("web", "service_healthy"),),
}


def job_spec(name: str, image: str) -> dict[str, Any]:
    spec = service_spec(name, image, replicas=1, mode="replicated-job")
    spec["TaskTemplate"]["RestartPolicy"] = {"Condition": "none"}
    return spec


def rerun(live: FakeService) -> ResourceChange:
    """A job written again with its own spec (what ``with_hook_runs`` plans)."""
    state = ResourceState(
        ResourceKind.SERVICE, live.name, dict(live.spec), id=live.id, version=live.version
    )
    return ResourceChange(
        ResourceKind.SERVICE,
        live.name,
        Effect.ROLLING,
        desired=ResourceState(ResourceKind.SERVICE, live.name, dict(live.spec)),
        live=state,
        reason="job runs again: it depends on web, which this release changes",
    )


def release(engine: FakeEngine, migrate_image: str, web_image: str) -> tuple[Any, ...]:
    """Release 1 running; the plan of release 2 (migration, app, smoke re-run)."""
    migrate = engine.add_running_service(job_spec("migrate", "m1:job"))
    web = engine.add_running_service(service_spec("web", "web1:good"))
    smoke = engine.add_running_service(job_spec("smoke", "s:job"))
    plan = make_plan(
        update_change(migrate, job_spec("migrate", migrate_image)),
        rerun(smoke),
        update_change(web, service_spec("web", web_image)),
    )
    return plan, migrate, web, smoke


def updates(engine: FakeEngine) -> list[str]:
    return [name for call, name in engine.writes if call == "update_service"]


def test_migration_then_app_then_smoke_test(
    engine: FakeEngine, options_for: Options, events: list[Event]
) -> None:
    plan, _migrate, _web, smoke = release(engine, "m2:job", "web2:good")
    iteration = smoke.job_iteration
    outcome = run_apply(engine, plan, options_for(dependencies=DEPENDENCIES), events.append)
    assert outcome.exit_code is ExitCode.OK, outcome.message
    assert updates(engine) == ["shop_migrate", "shop_web", "shop_smoke"]
    assert engine.service_named("shop_web").spec["TaskTemplate"]["ContainerSpec"]["Image"] == (
        "web2:good"
    )
    assert engine.service_named("shop_smoke").job_iteration == iteration + 1  # ran again


def test_failing_migration_stops_the_release_before_the_app(
    engine: FakeEngine, options_for: Options, events: list[Event]
) -> None:
    plan, _migrate, web, _smoke = release(engine, "m2:broken", "web2:good")
    web_before, web_version = dict(web.spec), web.version
    outcome = run_apply(engine, plan, options_for(dependencies=DEPENDENCIES), events.append)
    assert outcome.outcome is Outcome.ROLLED_BACK
    assert outcome.exit_code is ExitCode.ROLLED_BACK
    # the app and the smoke test were never written; the failed job is not run again
    assert updates(engine) == ["shop_migrate"]
    assert engine.service_named("shop_web").spec == web_before
    assert engine.service_named("shop_web").version == web_version
    failed = [e for e in events if isinstance(e, ServiceFailed)]
    assert [e.service for e in failed] == ["shop_migrate"]
    assert "the job failed" in failed[0].reason and "non-zero exit" in failed[0].task_error
    assert "not started, left as they were: shop_smoke, shop_web" in outcome.message
    assert status_of(outcome, "shop_web") is ServiceStatus.NOT_STARTED
    assert status_of(outcome, "shop_migrate") is ServiceStatus.FAILED
    assert "a rollback does not run jobs again" in reason_of(outcome, "shop_migrate")
    started = next(e for e in events if isinstance(e, RollbackStarted))
    assert started.services == ()  # nothing to restore: the job is left as it ran
    assert any(isinstance(e, ApplyWarning) and "shop_migrate" in e.message for e in events)


def test_failing_smoke_test_rolls_the_app_back(
    engine: FakeEngine, options_for: Options, events: list[Event]
) -> None:
    migrate = engine.add_running_service(job_spec("migrate", "m1:job"))
    web = engine.add_running_service(service_spec("web", "web1:good"))
    smoke = engine.add_running_service(job_spec("smoke", "s1:job"))
    web_before = dict(web.spec)
    plan = make_plan(
        update_change(smoke, job_spec("smoke", "s2:broken")),
        update_change(web, service_spec("web", "web2:good")),
    )
    outcome = run_apply(engine, plan, options_for(dependencies=DEPENDENCIES), events.append)
    assert outcome.exit_code is ExitCode.ROLLED_BACK, outcome.message
    assert engine.service_named("shop_web").spec == web_before
    assert status_of(outcome, "shop_web") is ServiceStatus.ROLLED_BACK
    # web forward, smoke, web back: the smoke job and the migration are not written again
    assert updates(engine) == ["shop_web", "shop_smoke", "shop_web"]
    assert engine.service_named("shop_migrate").spec == migrate.spec
    assert "shop_smoke" in outcome.message


def test_job_that_never_completes_fails_the_release_at_the_deadline(
    engine: FakeEngine, options_for: Options, events: list[Event]
) -> None:
    # a ":good" job's task runs and never completes (a hanging migration)
    plan, _migrate, web, _smoke = release(engine, "m2:good", "web2:good")
    web_before = dict(web.spec)
    options = options_for(dependencies=DEPENDENCIES, timeout=20.0)
    outcome = run_apply(engine, plan, options, events.append)
    assert outcome.exit_code is ExitCode.ROLLED_BACK, outcome.message
    assert "did not complete within --timeout 20s" in outcome.message
    assert engine.service_named("shop_web").spec == web_before


def test_an_ordinary_service_past_the_deadline_still_times_out(
    engine: FakeEngine, options_for: Options, events: list[Event]
) -> None:
    web = engine.add_running_service(service_spec("web", "web1:good"))
    plan = make_plan(update_change(web, service_spec("web", "web2:pending")))
    outcome = run_apply(engine, plan, options_for(timeout=3.0, pending_timeout=60.0), events.append)
    assert outcome.exit_code is ExitCode.TIMED_OUT


def status_of(outcome: Any, name: str) -> ServiceStatus:
    status: ServiceStatus = next(r.status for r in outcome.services if r.name == name)
    return status


def reason_of(outcome: Any, name: str) -> str:
    return str(next(r.reason for r in outcome.services if r.name == name))
