"""Sensitive env values are sealed in stored revisions and restored from the live cluster."""

from __future__ import annotations

import gzip
from dataclasses import replace
from types import MappingProxyType
from typing import Any

from support.revision_builders import sample_revision, sample_state

from stackctl.core.history.revision import decode_revision, encode_revision
from stackctl.core.history.sealed_env import (
    is_sealed,
    restore_sealed,
    seal_service_spec,
    seal_value,
    sealed_names,
    unrestored,
)
from stackctl.core.model.state import ClusterState, ResourceState
from stackctl.core.plan.diff import plan_changes

PASSWORD = "correct-horse-battery-staple"
ENV = ["A=1", f"DB_PASSWORD={PASSWORD}", "MODE=prod"]


def _with_env(state: ClusterState, env: list[str], **status: Any) -> ClusterState:
    (web,) = state.services.values()
    task = dict(web.spec["TaskTemplate"])
    task["ContainerSpec"] = {**task["ContainerSpec"], "Env": env}
    web = replace(web, spec={**web.spec, "TaskTemplate": task}, status=MappingProxyType(status))
    return replace(state, services=MappingProxyType({web.name: web}))


def _env(service: ResourceState) -> list[str]:
    return list(service.spec["TaskTemplate"]["ContainerSpec"]["Env"])


def test_a_stored_revision_holds_no_sensitive_value_but_its_digest() -> None:
    revision = replace(sample_revision(), state=_with_env(sample_state(), ENV))
    payload = encode_revision(revision)
    stored = decode_revision(payload)
    (web,) = stored.state.services.values()
    # the payload is gzip'd JSON: look in what it decompresses to, not in its bytes
    assert PASSWORD not in gzip.decompress(payload).decode()
    assert PASSWORD not in repr(stored)
    env = _env(web)
    assert env[0] == "A=1" and env[2] == "MODE=prod"  # others stay readable
    assert env[1] == f"DB_PASSWORD={seal_value('shop_web', 'DB_PASSWORD', PASSWORD)}"


def test_sealing_is_salted_per_service_and_variable_and_idempotent() -> None:
    one = seal_value("shop_web", "DB_PASSWORD", PASSWORD)
    assert one != seal_value("shop_api", "DB_PASSWORD", PASSWORD)
    assert one != seal_value("shop_web", "API_TOKEN", PASSWORD)
    spec = {"TaskTemplate": {"ContainerSpec": {"Env": ENV}}}
    sealed = seal_service_spec("shop_web", spec)
    assert seal_service_spec("shop_web", sealed) == sealed
    assert sealed_names(sealed) == ["DB_PASSWORD"]
    assert seal_service_spec("shop_web", {"TaskTemplate": {"ContainerSpec": {}}}) == {
        "TaskTemplate": {"ContainerSpec": {}}
    }
    redacted = {"TaskTemplate": {"ContainerSpec": {"Env": ["DB_PASSWORD=(sensitive)"]}}}
    assert seal_service_spec("shop_web", redacted) == redacted  # a placeholder, not a value


def test_sealed_values_are_restored_from_the_live_spec_or_its_previous_one() -> None:
    stored = decode_revision(
        encode_revision(replace(sample_revision(), state=_with_env(sample_state(), ENV)))
    )
    live_now = _with_env(sample_state(), ENV)
    (restored,) = restore_sealed(stored.state, live_now).services.values()
    assert _env(restored) == ENV

    changed_since = _with_env(
        sample_state(), ["A=1", "DB_PASSWORD=new-one", "MODE=prod"], PreviousEnv=tuple(ENV)
    )
    (from_previous,) = restore_sealed(stored.state, changed_since).services.values()
    assert _env(from_previous) == ENV


def test_a_value_running_nowhere_stays_sealed_and_is_reported() -> None:
    stored = decode_revision(
        encode_revision(replace(sample_revision(), state=_with_env(sample_state(), ENV)))
    )
    elsewhere = _with_env(sample_state(), ["A=1", "DB_PASSWORD=new-one", "MODE=prod"])
    state = restore_sealed(stored.state, elsewhere)
    (web,) = state.services.values()
    assert is_sealed(_env(web)[1].partition("=")[2])
    assert unrestored(state.services.values()) == [("shop_web", "DB_PASSWORD")]


def test_three_way_drift_compares_real_values_behind_the_seal() -> None:
    desired = _with_env(sample_state(), ENV)
    recorded = decode_revision(encode_revision(replace(sample_revision(), state=desired))).state
    same = plan_changes(desired, _with_env(sample_state(), ENV), last_applied=recorded)
    assert not [c for c in same.changes if c.kind.value == "service"]

    behind_our_back = _with_env(sample_state(), ["A=1", "DB_PASSWORD=rotated-42", "MODE=prod"])
    drifted = plan_changes(desired, behind_our_back, last_applied=recorded)
    (change,) = [c for c in drifted.changes if c.kind.value == "service"]
    (field,) = change.fields
    assert field.path.endswith("Env[DB_PASSWORD]") and field.drift and field.sensitive
    assert PASSWORD not in repr(field) and "rotated-42" not in repr(field)
