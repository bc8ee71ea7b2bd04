"""``x-stackctl.ignore_changes``: fields set on create, then left to others."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

import pytest

from stackctl.core.convert.convert import convert_stack
from stackctl.core.load.loading import load_stack
from stackctl.core.model.state import ClusterState
from stackctl.core.plan.diff import plan_changes
from stackctl.core.plan.plan_model import Effect
from stackctl.core.plan.saved_plan import load_saved_plan, save_plan, with_current_specs
from stackctl.errors import StackFileError

FILE = """\
services:
  web:
    image: shop/web:1
    environment: {MODE: prod}
    deploy: {replicas: 2}
    x-stackctl:
      ignore_changes: [deploy.replicas, image]
  db:
    image: shop/db:1
    deploy: {replicas: 1}
"""


def _state(tmp_path: Path, text: str) -> ClusterState:
    (tmp_path / "stack.yml").write_text(text)
    return convert_stack(load_stack(["stack.yml"], env={}, cwd=str(tmp_path)).stack, "shop")


def _scaled(
    state: ClusterState, name: str, replicas: int, image: str | None = None
) -> ClusterState:
    """``state`` after ``docker service scale`` (and ``docker service update --image``)."""

    spec = dict(state.services[name].spec)
    spec["Mode"] = {"Replicated": {"Replicas": replicas}}
    if image is not None:
        task = dict(spec["TaskTemplate"])
        task["ContainerSpec"] = {**task["ContainerSpec"], "Image": image}
        spec["TaskTemplate"] = task
    services = dict(state.services)
    services[name] = replace(state.services[name], spec=spec)
    return replace(state, services=MappingProxyType(services))


def test_created_with_the_files_values(tmp_path: Path) -> None:
    desired = _state(tmp_path, FILE)
    plan = plan_changes(desired, ClusterState(stack="shop"))
    web = next(c for c in plan.changes if c.name == "shop_web")
    assert web.effect is Effect.CREATE
    assert web.desired is not None and web.desired.spec["Mode"] == {"Replicated": {"Replicas": 2}}


def test_scaled_or_retagged_by_others_is_no_change_and_no_drift(tmp_path: Path) -> None:
    desired = _state(tmp_path, FILE)
    live = _scaled(desired, "shop_web", 5, image="shop/web:7")
    plan = plan_changes(desired, live, last_applied=desired)
    assert not plan.has_changes and plan.changes == ()
    # the same on a service that does not leave them: a change, and drift
    other = plan_changes(desired, _scaled(desired, "shop_db", 3), last_applied=desired)
    (change,) = other.changes
    assert change.name == "shop_db" and change.drift


def test_the_files_value_is_ignored_too_once_the_service_exists(tmp_path: Path) -> None:
    live = _state(tmp_path, FILE)
    desired = _state(tmp_path, FILE.replace("replicas: 2", "replicas: 9"))
    assert not plan_changes(desired, live).has_changes


def test_an_update_for_another_reason_writes_the_live_values_back(tmp_path: Path) -> None:
    live = _scaled(_state(tmp_path, FILE), "shop_web", 5, image="shop/web:7")
    desired = _state(tmp_path, FILE.replace("MODE: prod", "MODE: canary"))
    (change,) = plan_changes(desired, live).changes
    assert [f.compose_path for f in change.fields] == ["services.web.environment[MODE]"]
    assert change.desired is not None
    spec = change.desired.spec
    assert spec["Mode"] == {"Replicated": {"Replicas": 5}}
    assert spec["TaskTemplate"]["ContainerSpec"]["Image"] == "shop/web:7"
    # a saved plan applied later writes the same
    saved = load_saved_plan(save_plan(plan_changes(desired, live), desired, live))
    (again,) = with_current_specs(saved, desired, live).changes
    assert again.desired is not None and again.desired.spec["Mode"] == spec["Mode"]


def test_only_known_fields(tmp_path: Path) -> None:
    with pytest.raises(StackFileError) as caught:
        _state(tmp_path, FILE.replace("[deploy.replicas, image]", "[deploy.replicas, environment]"))
    (error,) = caught.value.findings
    assert error.code == "SC225" and "not environment" in error.message
    assert error.path == "services.web.x-stackctl.ignore_changes" and error.location.line == 7
