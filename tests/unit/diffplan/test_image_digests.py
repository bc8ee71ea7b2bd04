"""Plans compare the declared tag and the registry digest apart (pure)."""

from __future__ import annotations

from support.plan_builders import engine_filled, service, service_spec, state

from stackctl.core.convert.pinning import pinned_digest, short_digest, unpinned, with_digest
from stackctl.core.plan.diff import plan_changes
from stackctl.core.plan.plan_model import Effect
from stackctl.core.render.render_text import render_text

D1 = "sha256:" + "1" * 64
D2 = "sha256:" + "2" * 64


def _pinned(digest: str | None) -> dict:
    return dict(with_digest(service_spec(), digest))


def test_pinning_helpers_round_trip() -> None:
    spec = _pinned(D1)
    assert spec["TaskTemplate"]["ContainerSpec"]["Image"] == "shop/web:1@" + D1
    assert pinned_digest(spec) == D1
    assert unpinned(spec) == service_spec()
    assert pinned_digest(service_spec()) is None
    assert short_digest(D1) == "sha256:111111111111…"


def test_same_tag_same_digest_is_no_change() -> None:
    live = engine_filled(_pinned(D1))
    assert plan_changes(state(service(_pinned(D1))), state(service(live))).changes == ()


def test_tag_unchanged_digest_moved_restarts_tasks() -> None:
    live = engine_filled(_pinned(D1))
    (change,) = plan_changes(state(service(_pinned(D2))), state(service(live))).changes
    assert change.effect is Effect.ROLLING
    assert change.reason == "tag unchanged, digest moved"
    (field,) = change.fields
    assert (field.path, field.old, field.new) == ("TaskTemplate.ContainerSpec.ImageDigest", D1, D2)
    text = render_text(plan_changes(state(service(_pinned(D2))), state(service(live))))
    assert "image shop/web:1: tag unchanged, digest moved: sha256:111111111111… → " in text


def test_an_unresolved_desired_image_never_unpins_a_running_digest() -> None:
    # --resolve-image never, or the registry could not be asked: the tag alone says
    # nothing about the digest, so the digest the service runs is no change
    live = engine_filled(_pinned(D1))
    assert plan_changes(state(service(service_spec())), state(service(live))).changes == ()


def test_pinning_a_service_that_ran_the_bare_tag_is_a_change() -> None:
    live = engine_filled(service_spec())
    (change,) = plan_changes(state(service(_pinned(D1))), state(service(live))).changes
    assert change.reason == "tag unchanged, now pinned to a digest"
    assert change.effect is Effect.ROLLING
