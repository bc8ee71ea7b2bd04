"""Saved plans (``diff --out``) carry no sensitive env values, yet apply --plan
still applies exactly the values of the stack files."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackctl.core.convert.convert import convert_stack
from stackctl.core.load.loading import load_stack
from stackctl.core.model.state import ClusterState
from stackctl.core.plan.diff import plan_changes
from stackctl.core.plan.saved_plan import (
    check_plan_fresh,
    check_plan_matches,
    load_saved_plan,
    save_plan,
    with_current_specs,
)
from stackctl.errors import StalePlanError

PASSWORD = "pw-5f1c9e0b7d"
TOKEN = "tk-0a8e77c3f2"


def desired(tmp_path: Path, password: str) -> ClusterState:
    path = tmp_path / "stack.yml"
    path.write_text(
        "services:\n"
        "  app:\n"
        "    image: busybox:1\n"
        f"    environment: {{DB_PASSWORD: {password}, API_TOKEN: {TOKEN}, MODE: prod}}\n"
    )
    return convert_stack(load_stack([str(path)], env={}, cwd=str(tmp_path)).stack, "shop")


def test_saved_plan_file_holds_no_sensitive_value(tmp_path: Path) -> None:
    want = desired(tmp_path, PASSWORD)
    live = ClusterState(stack="shop")
    text = save_plan(plan_changes(want, live), want, live)
    assert PASSWORD not in text and TOKEN not in text
    assert "MODE=prod" in text  # ordinary values are kept


def test_apply_of_a_saved_plan_gets_the_values_from_the_files(tmp_path: Path) -> None:
    want = desired(tmp_path, PASSWORD)
    live = ClusterState(stack="shop")
    saved = load_saved_plan(save_plan(plan_changes(want, live), want, live))
    check_plan_matches(saved, want)  # the digest covers the full values
    check_plan_fresh(saved, live)
    plan = with_current_specs(saved, want, live)
    (change,) = [c for c in plan.changes if c.name == "shop_app"]
    assert change.desired is not None
    assert f"DB_PASSWORD={PASSWORD}" in change.desired.spec["TaskTemplate"]["ContainerSpec"]["Env"]


def test_a_changed_sensitive_value_makes_the_saved_plan_stale(tmp_path: Path) -> None:
    want = desired(tmp_path, PASSWORD)
    live = ClusterState(stack="shop")
    saved = load_saved_plan(save_plan(plan_changes(want, live), want, live))
    with pytest.raises(StalePlanError, match="changed since the plan was made"):
        check_plan_matches(saved, desired(tmp_path, "another-password"))
