"""Write-ahead revisions, the pure parts: outcomes, which revision is current, what
cleanup keeps, and the drift basis after an interrupted apply."""

from __future__ import annotations

import json
from dataclasses import replace
from types import MappingProxyType

from support.revision_builders import sample_revision, sample_state

from stackctl.core.history.basis import drift_basis
from stackctl.core.history.revision import (
    Outcome,
    PlanSummary,
    completing,
    current_number,
    decode_revision,
    default_rollback_target,
    encode_revision,
    revision_from_json,
    revision_to_json,
    revisions_needing,
    same_release,
)
from stackctl.core.model.state import ClusterState
from stackctl.engine.revisions import (
    LABEL_REV_COMPLETES,
    LABEL_REV_IMAGE_DIGESTS,
    LABEL_REV_OUTCOME,
    _labels_for,
    _summary_from_labels,
    _with_ending,
)
from stackctl.errors import ExitCode
from stackctl.rollout import events


def with_image(state: ClusterState, image: str) -> ClusterState:
    services = {}
    for name, service in state.services.items():
        spec = json.loads(json.dumps(service.spec))
        spec["TaskTemplate"]["ContainerSpec"]["Image"] = image
        spec["Labels"]["com.docker.stack.image"] = image
        services[name] = replace(service, spec=spec)
    return replace(state, services=MappingProxyType(services))


def test_one_outcome_type_for_rollout_and_revision() -> None:
    assert events.Outcome is Outcome
    assert Outcome.NOT_APPLIED.exit_code is ExitCode.ERROR
    assert Outcome.INTERRUPTED.exit_code is ExitCode.FAILED
    assert Outcome.IN_PROGRESS.unfinished and Outcome.INTERRUPTED.unfinished
    assert not Outcome.APPLIED.unfinished


def test_an_interrupted_revision_is_current_and_rollback_goes_before_it() -> None:
    history = [(1, Outcome.APPLIED), (2, Outcome.APPLIED), (3, Outcome.INTERRUPTED)]
    assert current_number(history) == 3
    assert default_rollback_target(history) == 2
    assert current_number([(1, Outcome.APPLIED), (2, Outcome.IN_PROGRESS)]) == 2


def test_unfinished_revisions_do_not_hold_objects_back_from_cleanup() -> None:
    applied = sample_revision(config_hash="a" * 64)
    cut = sample_revision(outcome=Outcome.INTERRUPTED, config_hash="d" * 64)
    running = sample_revision(outcome=Outcome.IN_PROGRESS, config_hash="e" * 64)
    needed = revisions_needing([applied, cut, running])
    assert needed == applied.object_names


def test_drift_basis_takes_what_live_matches_of_the_interrupted_revision() -> None:
    """v1 applied, v2 interrupted after its service update: live runs v2's service.
    The basis must say v2 for it (stackctl wrote it), v1 where live still has v1."""
    v1 = sample_state()
    v2 = with_image(v1, "web:2")
    live_v2 = v2  # the interrupted apply updated the service
    basis = drift_basis(v1, [v2], live_v2)
    assert basis is not None
    assert basis.services["shop_web"].spec["TaskTemplate"]["ContainerSpec"]["Image"] == "web:2"
    # live still on v1 (killed before the write): the basis stays v1
    basis = drift_basis(v1, [v2], v1)
    assert basis is not None
    assert basis.services["shop_web"].spec["TaskTemplate"]["ContainerSpec"]["Image"] == "web:1"
    # changed outside stackctl (matches neither): the basis keeps v1, so it is drift
    basis = drift_basis(v1, [v2], with_image(v1, "web:9"))
    assert basis is not None
    assert basis.services["shop_web"].spec["TaskTemplate"]["ContainerSpec"]["Image"] == "web:1"


def test_drift_basis_without_unfinished_revisions_is_the_applied_one() -> None:
    v1 = sample_state()
    assert drift_basis(v1, [], with_image(v1, "web:2")) is v1
    assert drift_basis(None, [], v1) is None


def test_labels_hold_how_a_revision_ended() -> None:
    revision = sample_revision(outcome=Outcome.IN_PROGRESS)
    digests = {"shop_web": "web:1@sha256:" + "f" * 64}
    labels = {LABEL_REV_OUTCOME: "applied", LABEL_REV_IMAGE_DIGESTS: json.dumps(digests)}
    ended = _with_ending(revision, labels)
    assert ended.outcome is Outcome.APPLIED
    assert dict(ended.image_digests) == digests
    unreadable = _with_ending(revision, {LABEL_REV_OUTCOME: "?", LABEL_REV_IMAGE_DIGESTS: "["})
    assert unreadable.outcome is Outcome.IN_PROGRESS and not unreadable.image_digests


def test_a_rerun_of_the_same_release_completes_the_interrupted_revision() -> None:
    interrupted = replace(sample_revision(outcome=Outcome.INTERRUPTED), number=2)
    assert interrupted.describe() not in ("", "no changes")
    # the re-run found everything written: its own plan is empty
    rerun = replace(
        sample_revision(), plan_summary=PlanSummary(), outcome=Outcome.IN_PROGRESS, number=3
    )
    assert same_release(interrupted, rerun.state)
    assert not same_release(interrupted, with_image(rerun.state, "web:other"))
    done = completing(rerun, interrupted)
    assert done.completes == 2 and done.plan_summary == interrupted.plan_summary
    assert done.describe() == (
        f"completes 2: {interrupted.plan_summary.describe()}; this run: nothing left to write"
    )
    partly = completing(replace(rerun, plan_summary=PlanSummary({"rolling": 1})), interrupted)
    assert partly.describe().endswith("; this run: 1 rolling")
    # stored: payload and labels say it; read back the same
    assert decode_revision(encode_revision(done)).completes == 2
    labels = _labels_for(done, 1)
    assert labels[LABEL_REV_COMPLETES] == "2"
    summary = _summary_from_labels(labels)
    assert summary is not None and summary.completes == 2
    assert summary.changes.startswith("completes 2: ")


def test_revisions_recorded_before_completes_existed_still_read() -> None:
    document = revision_to_json(sample_revision())
    del document["completes"]  # as an older stackctl wrote it
    old = revision_from_json(document)
    assert old.completes is None and old.describe() == sample_revision().describe()
    labels = _labels_for(sample_revision(), 1)
    assert LABEL_REV_COMPLETES not in labels
    summary = _summary_from_labels(labels)
    assert summary is not None and summary.completes is None
