"""Saved plans: round trip, validation with clear errors, stale detection."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from types import MappingProxyType

import pytest
from support.plan_builders import engine_filled, network, service, service_spec, state

from stackctl.core.model.state import ClusterState, ResourceKind, ResourceState
from stackctl.core.plan.diff import plan_changes
from stackctl.core.plan.plan_model import Effect
from stackctl.core.plan.saved_plan import (
    PlanFileError,
    check_plan_fresh,
    check_plan_matches,
    load_plan,
    load_saved_plan,
    save_plan,
)
from stackctl.errors import StalePlanError


def _states() -> tuple[ClusterState, ClusterState]:
    live_web = service(engine_filled(service_spec("web")), version=40)
    live_web = replace(live_web, id="svc-web")
    want = service_spec("web")
    want["TaskTemplate"]["ContainerSpec"]["Image"] = "shop/web:2"
    conf = ResourceState(
        ResourceKind.CONFIG, "shop_conf-abc", {"Name": "shop_conf-abc"}, content_sha256="a" * 64
    )
    desired = state(network(), conf, service(want), service(service_spec("api")))
    live = state(network(live=True), live_web)
    return desired, live


def _saved_text() -> tuple[str, ClusterState, ClusterState]:
    desired, live = _states()
    return save_plan(plan_changes(desired, live), desired, live), desired, live


def test_round_trip_keeps_what_apply_executes() -> None:
    text, desired, live = _saved_text()
    original = plan_changes(desired, live)
    loaded = load_plan(text)
    assert loaded.stack == "shop"
    assert [(c.kind, c.name, c.effect) for c in loaded.changes] == [
        (c.kind, c.name, c.effect) for c in original.changes
    ]
    assert [c.fields for c in loaded.changes] == [c.fields for c in original.changes]
    web = next(c for c in loaded.changes if c.name == "shop_web")
    assert web.effect is Effect.ROLLING
    assert web.desired is not None and web.live is not None
    assert web.desired.spec["TaskTemplate"]["ContainerSpec"]["Image"] == "shop/web:2"
    assert (web.live.id, web.live.version) == ("svc-web", 40)
    assert loaded.observed is not None
    assert {(o.kind, o.name, o.version) for o in loaded.observed} == {
        (ResourceKind.NETWORK, "shop_default", 5),
        (ResourceKind.SERVICE, "shop_web", 40),
    }


def test_saved_plan_is_versioned_json_without_payloads_or_redacted_values() -> None:
    text, _, _ = _saved_text()
    doc = json.loads(text)
    assert (doc["apiVersion"], doc["kind"]) == ("stackctl/v1", "SavedPlan")
    assert doc["plan"]["kind"] == "Plan"
    assert "Data" not in text
    fields = [f for c in doc["plan"]["changes"] for f in c["fields"]]
    assert all("hunter2" not in json.dumps(f) for f in fields)


def test_fresh_plan_passes_and_moved_cluster_is_stale() -> None:
    text, _, live = _saved_text()
    plan = load_plan(text)
    check_plan_fresh(plan, live)  # nothing moved
    moved_web = replace(live.services["shop_web"], version=41)
    moved = replace(live, services=MappingProxyType({"shop_web": moved_web}))
    with pytest.raises(StalePlanError, match=r"service shop_web changed \(version 40 -> 41\)"):
        check_plan_fresh(plan, moved)


def test_appeared_removed_and_recreated_resources_are_stale() -> None:
    text, _, live = _saved_text()
    plan = load_saved_plan(text)
    extra = service(engine_filled(service_spec("api")), version=50)
    appeared = replace(live, services=MappingProxyType({**live.services, extra.name: extra}))
    with pytest.raises(StalePlanError, match="service shop_api appeared"):
        check_plan_fresh(plan, appeared)
    with pytest.raises(StalePlanError, match="network shop_default was removed"):
        check_plan_fresh(plan, replace(live, networks=MappingProxyType({})))
    recreated = replace(live.networks["shop_default"], id="n2")
    with pytest.raises(StalePlanError, match="network shop_default was recreated"):
        check_plan_fresh(
            plan, replace(live, networks=MappingProxyType({"shop_default": recreated}))
        )
    with pytest.raises(StalePlanError, match="stack 'shop', not 'other'"):
        check_plan_fresh(plan, replace(live, stack="other"))


def test_changed_files_are_detected() -> None:
    text, desired, _ = _saved_text()
    saved = load_saved_plan(text)
    check_plan_matches(saved, desired)
    spec = copy.deepcopy(dict(desired.services["shop_api"].spec))
    spec["Labels"] = {**spec["Labels"], "x": "1"}
    changed = replace(
        desired,
        services=MappingProxyType({**desired.services, "shop_api": service(spec)}),
    )
    with pytest.raises(StalePlanError, match="changed since the plan was made: service shop_api"):
        check_plan_matches(saved, changed)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not JSON"),
        ("[]", "not a JSON object"),
        ('{"apiVersion": "stackctl/v9", "kind": "SavedPlan"}', "apiVersion is 'stackctl/v9'"),
        ('{"apiVersion": "stackctl/v1", "kind": "Plan"}', "printed by `diff --json`"),
        ('{"apiVersion": "stackctl/v1", "kind": "SavedPlan"}', "'stack' is missing"),
    ],
)
def test_invalid_files_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(PlanFileError, match=message):
        load_plan(text)


def test_malformed_change_is_a_plan_file_error() -> None:
    text, _, _ = _saved_text()
    doc = json.loads(text)
    doc["plan"]["changes"][0]["effect"] = "explode"
    with pytest.raises(PlanFileError, match="malformed content"):
        load_plan(json.dumps(doc))
