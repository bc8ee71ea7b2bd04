"""The revision model: round trip, safety checks, who/what summaries, rollback state."""

from __future__ import annotations

import gzip
import json
from dataclasses import replace
from types import MappingProxyType

import pytest
from support.revision_builders import sample_plan, sample_revision, sample_state

from stackctl.core.history.revision import (
    REVISION_API_VERSION,
    Actor,
    Outcome,
    PlanSummary,
    Revision,
    RevisionFormatError,
    UnsafeRevisionError,
    actor_from_env,
    current_number,
    decode_revision,
    default_rollback_target,
    encode_revision,
    keep_retained_objects,
    revision_to_json,
    state_for_rollback,
)
from stackctl.core.model.model import DependsOn, FileObject
from stackctl.core.model.state import ResourceKind, ResourceState
from stackctl.core.plan.plan_model import Effect, Plan, ResourceChange
from stackctl.core.render.render_text import render_text


def test_round_trip_preserves_everything(revision: Revision) -> None:
    revision = replace(
        revision,
        number=7,
        rollback_to=3,
        note="manual",
        image_digests=MappingProxyType({"shop_web": "web:1@sha256:" + "d" * 64}),
        actor=Actor("ci", "runner", MappingProxyType({"GITHUB_RUN_ID": "42"})),
        dependencies=MappingProxyType(
            {"shop_web": (DependsOn("db", "service_healthy"), DependsOn("cache"))}
        ),
    )
    decoded = decode_revision(encode_revision(revision))
    assert decoded == revision
    assert decoded.state.services["shop_web"].spec == revision.state.services["shop_web"].spec
    assert decoded.object_names == {"shop_app-aaaaaaaa", "shop_db_password-bbbbbbbb"}


def test_encoded_payload_is_versioned_gzip_json(revision: Revision) -> None:
    payload = encode_revision(revision)
    document = json.loads(gzip.decompress(payload))
    assert document["apiVersion"] == REVISION_API_VERSION
    assert document["kind"] == "Revision"
    assert document["objects"] == sorted(revision.object_names)
    # Deterministic: the same revision always encodes to the same bytes.
    assert encode_revision(revision) == payload


def test_plain_json_is_accepted_too(revision: Revision) -> None:
    text = json.dumps(revision_to_json(revision)).encode()
    assert decode_revision(text) == revision


@pytest.mark.parametrize(
    "payload",
    [b"not json", b"\x1f\x8bbroken gzip", b"[1, 2]", json.dumps({"apiVersion": "x"}).encode()],
)
def test_unreadable_payloads_raise_format_error(payload: bytes) -> None:
    with pytest.raises(RevisionFormatError):
        decode_revision(payload)


def test_refuses_config_data_in_spec(revision: Revision) -> None:
    name, config = next(iter(revision.state.configs.items()))
    leaking = replace(config, spec={**config.spec, "Data": "c2VjcmV0"})
    state = replace(revision.state, configs=MappingProxyType({name: leaking}))
    with pytest.raises(UnsafeRevisionError):
        encode_revision(replace(revision, state=state))


@pytest.mark.parametrize(
    "bad_value",
    [b"hunter2", FileObject(name="db", content=b"hunter2")],
)
def test_refuses_raw_content_anywhere_in_a_spec(revision: Revision, bad_value: object) -> None:
    service = revision.state.services["shop_web"]
    leaking = replace(service, spec={**service.spec, "Extra": {"deep": [bad_value]}})
    state = replace(revision.state, services=MappingProxyType({service.name: leaking}))
    with pytest.raises(UnsafeRevisionError) as info:
        encode_revision(replace(revision, state=state))
    assert "hunter2" not in str(info.value)


def test_live_only_fields_are_not_stored(revision: Revision) -> None:
    service = replace(revision.state.services["shop_web"], id="abc", version=12)
    state = replace(revision.state, services=MappingProxyType({service.name: service}))
    decoded = decode_revision(encode_revision(replace(revision, state=state)))
    assert decoded.state.services["shop_web"].id is None
    assert decoded.state.services["shop_web"].version is None


def test_actor_takes_only_ci_identifiers_from_env() -> None:
    env = {
        "GITHUB_RUN_ID": "42",
        "GITHUB_SHA": "0123456789abcdef",
        "GITHUB_REF": "refs/heads/main",
        "GITHUB_TOKEN": "ghs_secret",
        "CI": "true",
        "HOME": "/root",
    }
    actor = actor_from_env(env, user="runner", host="gh-1")
    assert set(actor.ci) == {"GITHUB_RUN_ID", "GITHUB_SHA", "GITHUB_REF", "CI"}
    assert actor.describe() == "runner@gh-1 (github run 42 @ 0123456)"


def test_actor_descriptions() -> None:
    gitlab = actor_from_env(
        {"CI_PIPELINE_ID": "9", "CI_COMMIT_SHA": "fedcba98765"}, user="u", host="h"
    )
    assert gitlab.describe() == "u@h (gitlab pipeline 9 @ fedcba9)"
    assert actor_from_env({"CI": "1"}, user="u", host="h").describe() == "u@h (ci)"
    assert actor_from_env({}, user="u", host="h").describe() == "u@h"


def test_plan_summary_counts_effects_and_skips_unchanged() -> None:
    state = sample_state()
    web = state.services["shop_web"]
    plan = Plan(
        stack="shop",
        changes=(
            *sample_plan(state).changes,
            ResourceChange(ResourceKind.SERVICE, "shop_api", Effect.ROLLING, desired=web),
            ResourceChange(ResourceKind.SERVICE, "shop_db", Effect.NONE, desired=web),
        ),
    )
    summary = PlanSummary.from_plan(plan)
    assert dict(summary.counts) == {"create": 4, "rolling": 1}
    assert summary.describe() == "4 create, 1 rolling"
    assert PlanSummary().describe() == "no changes"


def test_describe_mentions_rollback_target() -> None:
    revision = replace(sample_revision(), rollback_to=3)
    assert revision.describe().startswith("rollback to 3; ")


def test_state_for_rollback_pins_only_registry_digests() -> None:
    digest = "sha256:" + "e" * 64
    pinned = "web:1@" + digest
    revision = replace(
        sample_revision(),
        image_digests=MappingProxyType({"shop_web": pinned}),
    )
    state = state_for_rollback(revision)
    container = state.services["shop_web"].spec["TaskTemplate"]["ContainerSpec"]
    assert container["Image"] == pinned
    assert state.services["shop_web"].spec["Labels"]["com.docker.stack.image"] == "web:1"
    # The revision itself is untouched.
    original = revision.state.services["shop_web"].spec["TaskTemplate"]["ContainerSpec"]
    assert original["Image"] == "web:1"

    tag_only = replace(revision, image_digests=MappingProxyType({"shop_web": "web:1"}))
    assert state_for_rollback(tag_only) == tag_only.state
    # Already running that digest: nothing to pin (no spurious update).
    assert state_for_rollback(revision, live_digests={"shop_web": digest}) == revision.state
    other = {"shop_web": "sha256:" + "f" * 64}
    assert state_for_rollback(revision, live_digests=other) == state


def test_outcomes_round_trip_through_json() -> None:
    for outcome in Outcome:
        revision = sample_revision(outcome=outcome)
        assert decode_revision(encode_revision(revision)).outcome is outcome


def test_external_objects_keep_their_flag() -> None:
    revision = sample_revision()
    external = ResourceState(
        kind=ResourceKind.SECRET, name="ext_secret", spec={"Name": "ext_secret"}, external=True
    )
    state = replace(
        revision.state,
        secrets=MappingProxyType({**revision.state.secrets, "ext_secret": external}),
    )
    decoded = decode_revision(encode_revision(replace(revision, state=state)))
    assert decoded.state.secrets["ext_secret"].external is True


def test_current_skips_rolled_back_attempts() -> None:
    history = [(1, Outcome.APPLIED), (2, Outcome.APPLIED), (3, Outcome.ROLLED_BACK)]
    assert current_number(history) == 2
    assert default_rollback_target(history) == 1


def test_partial_apply_is_current_and_rollback_goes_to_last_applied() -> None:
    history = [(1, Outcome.APPLIED), (2, Outcome.APPLIED), (3, Outcome.PAUSED)]
    assert current_number(history) == 3
    assert default_rollback_target(history) == 2


def test_rollback_after_rollback_goes_further_back_in_applied_history() -> None:
    # 4 rolled the stack back to 1; the next plain rollback goes to 2 (like "undo").
    history = [(1, Outcome.APPLIED), (2, Outcome.APPLIED), (4, Outcome.APPLIED)]
    assert default_rollback_target(history) == 2


def test_no_target_without_an_earlier_applied_revision() -> None:
    assert current_number([]) is None
    assert default_rollback_target([(1, Outcome.APPLIED)]) is None
    assert default_rollback_target([(1, Outcome.ROLLED_BACK)]) is None
    assert current_number([(1, None)]) is None


def test_plan_summary_leaves_out_orphans() -> None:
    state = sample_state()
    web = state.services["shop_web"]
    plan = Plan(
        stack="shop",
        changes=(
            ResourceChange(ResourceKind.CONFIG, "shop_app-old", Effect.ORPHAN, live=web),
            ResourceChange(ResourceKind.SERVICE, "shop_web", Effect.ROLLING, desired=web),
        ),
    )
    assert dict(PlanSummary.from_plan(plan).counts) == {"rolling": 1}


def test_keep_retained_objects_spares_only_retained_configs_and_secrets() -> None:
    web = sample_state().services["shop_web"]
    changes = (
        ResourceChange(ResourceKind.CONFIG, "shop_app-v1", Effect.DELETE, live=web),
        ResourceChange(ResourceKind.CONFIG, "shop_app-v0", Effect.DELETE, live=web),
        ResourceChange(ResourceKind.SECRET, "shop_pw-v1", Effect.ORPHAN, live=web),
        ResourceChange(ResourceKind.SERVICE, "shop_app-v1", Effect.DELETE, live=web),
        ResourceChange(ResourceKind.SERVICE, "shop_web", Effect.ROLLING, desired=web),
    )
    plan = Plan(stack="shop", changes=changes, prune=True)
    kept = keep_retained_objects(plan, {"shop_app-v1", "shop_pw-v1"})
    # never deleted, and shown as kept (an orphan with the reason): diff says what apply does
    assert [(c.kind.value, c.name, c.effect.value, c.reason) for c in kept.changes] == [
        ("config", "shop_app-v1", "orphan", "kept for rollback: a retained revision needs it"),
        ("config", "shop_app-v0", "delete", None),
        ("secret", "shop_pw-v1", "orphan", "kept for rollback: a retained revision needs it"),
        ("service", "shop_app-v1", "delete", None),
        ("service", "shop_web", "rolling", None),
    ]
    assert kept.prune is True
    assert dict(PlanSummary.from_plan(kept).counts) == {"delete": 2, "rolling": 1}
    named = keep_retained_objects(plan, {"shop_app-v1": (2,), "shop_pw-v1": (1, 3)})
    assert [c.reason for c in named.changes if c.effect is Effect.ORPHAN] == [
        "kept for rollback: revision 2 needs it",
        "kept for rollback: revisions 1, 3 need it",
    ]


def test_text_plan_lists_kept_objects_with_their_reason() -> None:
    web = sample_state().services["shop_web"]
    changes = (
        ResourceChange(ResourceKind.CONFIG, "shop_app-v1", Effect.DELETE, live=web),
        ResourceChange(ResourceKind.SERVICE, "shop_old", Effect.DELETE, live=web),
    )
    pruned = keep_retained_objects(
        Plan(stack="shop", changes=changes, prune=True), {"shop_app-v1": (1,)}
    )
    text = render_text(pruned)
    kept = "  ? config shop_app-v1  (kept for rollback: revision 1 needs it)"
    assert f"No longer in the file (kept):\n{kept}" in text
    assert "- config shop_app-v1" not in text and "1 to delete" in text
    unpruned = Plan(
        stack="shop",
        changes=(
            ResourceChange(ResourceKind.CONFIG, "shop_app-v1", Effect.ORPHAN, live=web),
            ResourceChange(ResourceKind.SERVICE, "shop_old", Effect.ORPHAN, live=web),
        ),
    )
    assert "No longer in the file (kept; `--prune` deletes them):" in render_text(unpruned)
    text = render_text(keep_retained_objects(unpruned, {"shop_app-v1": (1,)}))
    assert "No longer in the file (kept; `--prune` deletes the ones without a reason):" in text
    assert "  ? config shop_app-v1  (kept for rollback: revision 1 needs it)" in text
    assert "  ? service shop_old\n" in text
