"""Release hooks in the plan (pure): which jobs run again, and the order in words.

Plans are made from docs/examples/hooks/stack.yml, the stack the integration test
applies, with release 1 as the "live" state."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from stackctl.core.convert.convert import convert_stack
from stackctl.core.convert.rollout_inputs import dependencies_of
from stackctl.core.load.loading import load_stack
from stackctl.core.model.state import ClusterState
from stackctl.core.plan.diff import plan_changes
from stackctl.core.plan.hooks import Dependencies, is_rerun, with_hook_runs
from stackctl.core.plan.plan_model import Effect, Plan
from stackctl.core.plan.saved_plan import save_plan
from stackctl.core.render.render_json import plan_to_json
from stackctl.core.render.render_markdown import render_markdown
from stackctl.core.render.render_text import render_text
from stackctl.engine.planning import checked_saved_plan

EXAMPLE = Path(__file__).resolve().parents[3] / "docs" / "examples" / "hooks" / "stack.yml"
STACK = "shop"


def desired(**env: str) -> tuple[ClusterState, Dependencies]:
    loaded = load_stack([str(EXAMPLE)], env=env, cwd=str(EXAMPLE.parent))
    return convert_stack(loaded.stack, STACK), dependencies_of(loaded.stack, STACK)


def running(**env: str) -> ClusterState:
    """The release as the cluster would hold it: every service with an id."""
    state, _ = desired(**env)
    services = {name: replace(s, id=f"id-{name}", version=7) for name, s in state.services.items()}
    return replace(state, services=services)


def plan_for(live: ClusterState, **env: str) -> Plan:
    target, deps = desired(**env)
    return with_hook_runs(plan_changes(target, live), target, live, deps)


def effects(plan: Plan) -> dict[str, str]:
    return {c.name: c.effect.value for c in plan.changes if c.effect is not Effect.NONE}


def test_a_new_release_runs_the_migration_rolls_the_app_and_runs_the_smoke_test_again() -> None:
    plan = plan_for(running(), APP_VERSION="2")
    assert effects(plan) == {
        "shop_migrate": "rolling",
        "shop_smoke": "rolling",
        "shop_web": "rolling",
    }
    smoke = next(c for c in plan.changes if c.name == "shop_smoke")
    assert is_rerun(smoke) and not smoke.fields
    assert smoke.reason == "job runs again: it depends on web, which this release changes"
    assert plan.order[:3] == (
        "1. migrate (job) runs to completion, before web",
        "2. web rolls out, gated on health, after migrate",
        "3. smoke (job) runs again to completion, after web is healthy",
    )
    assert "rolls it back (exit 3)" in plan.order[3]
    assert "not undone" in plan.order[3]


def test_a_change_to_the_app_alone_does_not_run_the_migration_again() -> None:
    plan = plan_for(running(), APP_PORT="8081")
    assert effects(plan) == {"shop_smoke": "rolling", "shop_web": "rolling"}
    assert plan.order[0] == "1. web rolls out, gated on health"


def test_a_new_migration_alone_reruns_the_smoke_test_through_the_chain() -> None:
    plan = plan_for(running(), MIGRATE_SCRIPT="echo another migration")
    assert effects(plan) == {"shop_migrate": "rolling", "shop_smoke": "rolling"}
    smoke = next(c for c in plan.changes if c.name == "shop_smoke")
    assert smoke.reason == "job runs again: it depends on migrate, which this release changes"


def test_nothing_changed_means_no_job_runs_and_no_order() -> None:
    plan = plan_for(running())
    assert not plan.has_changes
    assert plan.order == ()


def test_first_deploy_creates_in_order_and_says_so() -> None:
    plan = plan_for(ClusterState(stack=STACK))
    assert {c.name: c.effect for c in plan.changes if c.kind.value == "service"} == {
        "shop_migrate": Effect.CREATE,
        "shop_smoke": Effect.CREATE,
        "shop_web": Effect.CREATE,
    }
    assert plan.order[1] == "2. web is created, gated on health, after migrate"
    assert plan.order[2] == "3. smoke (job) runs to completion, after web is healthy"


def test_idempotent() -> None:
    live = running()
    target, deps = desired(APP_VERSION="2")
    once = with_hook_runs(plan_changes(target, live), target, live, deps)
    twice = with_hook_runs(once, target, live, deps)
    assert twice == once


def test_no_dependencies_no_reruns_and_plans_read_as_before() -> None:
    live = running()
    target, _ = desired(APP_VERSION="2")
    plan = with_hook_runs(plan_changes(target, live), target, live, {})
    assert "shop_smoke" not in effects(plan)
    assert plan.order == ()
    assert "Release order" not in render_text(plan)


def test_renderers_show_the_order_and_the_job_effect() -> None:
    plan = plan_for(running(), APP_VERSION="2")
    text = render_text(plan)
    assert "Release order (depends_on):\n  1. migrate (job) runs to completion, before web" in text
    assert "~ service shop_smoke  (runs the job; job runs again: it depends on web" in text
    assert "3. smoke (job) runs again" in render_markdown(plan)
    document = json.loads(json.dumps(plan_to_json(plan)))
    assert document["order"][0] == "1. migrate (job) runs to completion, before web"


def test_a_saved_plan_keeps_its_reruns_and_gets_its_order_back() -> None:
    live = running()
    target, deps = desired(APP_VERSION="2")
    plan = with_hook_runs(plan_changes(target, live), target, live, deps)
    loaded = checked_saved_plan(save_plan(plan, target, live), target, live)
    smoke = next(c for c in loaded.changes if c.name == "shop_smoke")
    assert is_rerun(smoke) and smoke.live is not None and smoke.live.id == "id-shop_smoke"
    # apply --plan adds what a saved plan does not carry: the order in words
    assert with_hook_runs(loaded, target, live, deps).order == plan.order
