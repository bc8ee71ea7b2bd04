"""apply's pure helpers and event views (no engine)."""

from __future__ import annotations

import json

from stackctl.cli.apply_flow import (
    dependencies_of,
    file_contents,
    plan_signature,
    without_superseded_deletes,
)
from stackctl.cli.apply_view import JsonLinesView, PlainView, summary_lines
from stackctl.core.convert.convert import convert_stack
from stackctl.core.model.model import DependsOn, FileObject, Service, Stack, frozen_map
from stackctl.core.model.state import LABEL_LOGICAL_NAME, ResourceKind, ResourceState
from stackctl.core.plan.plan_model import Effect, FieldChange, FieldOp, Plan, ResourceChange
from stackctl.rollout.events import ApplyFinished, Outcome, ServiceFailed
from stackctl.rollout.options import ApplyOutcome, ServiceResult, ServiceStatus


def sample_stack() -> Stack:
    return Stack(
        services=frozen_map(
            {
                "web": Service(name="web", image="web:1", depends_on=(DependsOn("db"),)),
                "db": Service(name="db", image="db:1"),
            }
        ),
        configs=frozen_map({"motd": FileObject(name="motd", file="/x/motd", content=b"hello")}),
        secrets=frozen_map({"token": FileObject(name="token", file="/x/t", content=b"s3cret")}),
    )


def test_file_contents_maps_engine_names_to_payloads() -> None:
    stack = sample_stack()
    desired = convert_stack(stack, "shop")
    contents = file_contents(stack, desired)
    assert sorted(contents.values()) == [b"hello", b"s3cret"]
    assert set(contents) == set(desired.configs) | set(desired.secrets)


def test_dependencies_use_full_service_names() -> None:
    assert dependencies_of(sample_stack(), "shop") == {"shop_web": (DependsOn("db"),)}


def _config(name: str, logical: str) -> ResourceState:
    return ResourceState(
        ResourceKind.CONFIG, name, {"Name": name, "Labels": {LABEL_LOGICAL_NAME: logical}}
    )


def test_prune_never_deletes_older_versions_of_declared_configs() -> None:
    desired = convert_stack(sample_stack(), "shop")
    (new_name,) = desired.configs
    old = ResourceChange(
        ResourceKind.CONFIG,
        "shop_motd-0000000000",
        Effect.DELETE,
        live=_config("shop_motd-0000000000", "motd"),
    )
    gone = ResourceChange(
        ResourceKind.CONFIG,
        "shop_banner-1111111111",
        Effect.DELETE,
        live=_config("shop_banner-1111111111", "banner"),
    )
    plan = without_superseded_deletes(Plan("shop", (old, gone), prune=True), desired)
    assert [c.name for c in plan.changes] == ["shop_banner-1111111111"]
    assert new_name.startswith("shop_motd-")


def test_plan_signature_sees_changed_fields_but_not_versions() -> None:
    field = FieldChange("TaskTemplate.ContainerSpec.Image", FieldOp.CHANGED, "a", "b")
    live_v1 = ResourceState(ResourceKind.SERVICE, "s_web", {}, id="x", version=1)
    live_v2 = ResourceState(ResourceKind.SERVICE, "s_web", {}, id="x", version=2)
    one = Plan(
        "s",
        (ResourceChange(ResourceKind.SERVICE, "s_web", Effect.ROLLING, (field,), live=live_v1),),
    )
    two = Plan(
        "s",
        (ResourceChange(ResourceKind.SERVICE, "s_web", Effect.ROLLING, (field,), live=live_v2),),
    )
    other = Plan(
        "s", (ResourceChange(ResourceKind.SERVICE, "s_web", Effect.IN_PLACE, (), live=live_v2),)
    )
    assert plan_signature(one) == plan_signature(two)
    assert plan_signature(one) != plan_signature(other)


def test_views_write_one_line_per_event() -> None:
    lines: list[str] = []
    event = ServiceFailed(1.25, "s_web", "Swarm paused the update", "task: non-zero exit (1)")
    PlainView(lines.append)(event)
    result = ServiceResult("s_web", "rolling", ServiceStatus.ROLLED_BACK, "back to v1")
    finished = ApplyFinished(2.0, Outcome.ROLLED_BACK, 3, "s_web failed", (result,))
    JsonLinesView(lines.append)(finished)
    assert (
        lines[0] == "[   1.2s] service s_web: FAILED: Swarm paused the update"
        " (task error: task: non-zero exit (1))"
    )
    data = json.loads(lines[1])
    assert data == {
        "event": "apply_finished",
        "elapsed": 2.0,
        "outcome": "rolled_back",
        "exit_code": 3,
        "message": "s_web failed",
        "services": [
            {"name": "s_web", "effect": "rolling", "status": "rolled_back", "reason": "back to v1"}
        ],
    }


def test_summary_accounts_for_every_service() -> None:
    outcome = ApplyOutcome(
        Outcome.FAILED,
        (
            ServiceResult("s_api", "rolling", ServiceStatus.FAILED, "3 task(s) failed"),
            ServiceResult("s_web", "create", ServiceStatus.NOT_STARTED),
        ),
        12.0,
        "1 service(s) failed: s_api",
        2,
    )
    lines = summary_lines(outcome)
    assert lines[0].startswith("failed: 2 change(s) submitted in 12.0s (exit 4)")
    assert "  s_api (rolling): failed: 3 task(s) failed" in lines
    assert "  s_web (create): not_started" in lines
