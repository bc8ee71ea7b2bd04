"""RevisionStore against the real Swarm: numbering, races, retention, chunks."""

from __future__ import annotations

import base64
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from types import MappingProxyType

import docker
import pytest
from support.revision_builders import sample_plan, sample_revision, sample_state

from stackctl.core.history.revision import Outcome, Revision
from stackctl.core.model.state import ResourceKind, ResourceState
from stackctl.engine.recording import record_apply
from stackctl.engine.revisions import (
    CHUNK_BYTES,
    LABEL_REV_CHUNK,
    LABEL_REV_STACK,
    RevisionFormatError,
    RevisionNotFound,
    RevisionStore,
)

pytestmark = pytest.mark.swarm


def _revision(stack: str, outcome: Outcome = Outcome.APPLIED, tag: str = "a") -> Revision:
    return sample_revision(stack=stack, outcome=outcome, config_hash=tag * 64)


def test_record_numbers_from_one_and_round_trips(
    api: docker.APIClient, revision_stack: str
) -> None:
    store = RevisionStore(api, revision_stack)
    assert store.list() == []
    assert store.latest_applied() is None
    first = _revision(revision_stack)
    assert store.record(first) == 1
    assert store.record(_revision(revision_stack, tag="b")) == 2
    assert store.get(1) == replace(first, number=1)
    summaries = store.list()
    assert [s.number for s in summaries] == [1, 2]
    assert summaries[0].outcome is Outcome.APPLIED
    assert summaries[0].who == "alice@box"
    assert summaries[0].created_at == first.created_at
    assert summaries[0].changes == "4 create"


def test_get_missing_revision_names_the_retained_ones(
    api: docker.APIClient, revision_stack: str
) -> None:
    store = RevisionStore(api, revision_stack)
    store.record(_revision(revision_stack))
    with pytest.raises(RevisionNotFound) as info:
        store.get(5)
    assert info.value.hint is not None and "1" in info.value.hint


def test_concurrent_recorders_get_distinct_numbers(
    api: docker.APIClient, revision_stack: str
) -> None:
    def record(_: int) -> int:
        # One client per thread, like separate CI runners.
        return RevisionStore(docker.APIClient(), revision_stack, history_max=50).record(
            _revision(revision_stack)
        )

    with ThreadPoolExecutor(max_workers=6) as pool:
        numbers = list(pool.map(record, range(6)))
    assert sorted(numbers) == [1, 2, 3, 4, 5, 6]


def test_latest_applied_skips_failed_attempts(api: docker.APIClient, revision_stack: str) -> None:
    store = RevisionStore(api, revision_stack)
    store.record(_revision(revision_stack, tag="a"))
    store.record(_revision(revision_stack, tag="b"))
    store.record(_revision(revision_stack, Outcome.ROLLED_BACK, tag="c"))
    latest = store.latest_applied()
    assert latest is not None and latest.number == 2
    assert [s.outcome for s in store.list()] == [
        Outcome.APPLIED,
        Outcome.APPLIED,
        Outcome.ROLLED_BACK,
    ]


def test_retention_prunes_oldest_and_keeps_the_last_applied(
    api: docker.APIClient, revision_stack: str
) -> None:
    store = RevisionStore(api, revision_stack, history_max=3)
    store.record(_revision(revision_stack, tag="a"))  # 1 applied
    store.record(_revision(revision_stack, tag="b"))  # 2 applied
    for tag in "cdef":  # 3..6 failed
        store.record(_revision(revision_stack, Outcome.ROLLED_BACK, tag=tag))
    # The window holds 4, 5, 6; revision 2 stays as the last one that converged.
    assert [s.number for s in store.list()] == [2, 4, 5, 6]
    assert store.referenced_objects() == {f"{revision_stack}_app-{tag * 8}" for tag in "bdef"} | {
        f"{revision_stack}_db_password-bbbbbbbb"
    }
    # Numbering continues after pruning.
    assert store.record(_revision(revision_stack, tag="a")) == 7


def _big_revision(revision_stack: str) -> Revision:
    base = _revision(revision_stack)
    # Incompressible environment values push the payload past one config.
    services = dict(base.state.services)
    for i in range(4):
        name = f"{revision_stack}_svc{i}"
        env = [f"V{j}={secrets.token_hex(64)}" for j in range(2500)]
        services[name] = ResourceState(
            kind=ResourceKind.SERVICE,
            name=name,
            spec={"Name": name, "TaskTemplate": {"ContainerSpec": {"Image": "x", "Env": env}}},
        )
    return replace(base, state=replace(base.state, services=MappingProxyType(services)))


def test_large_revision_is_split_into_chunks(api: docker.APIClient, revision_stack: str) -> None:
    big = _big_revision(revision_stack)
    store = RevisionStore(api, revision_stack)
    number = store.record(big)
    configs = api.configs(filters={"label": [f"{LABEL_REV_STACK}={revision_stack}"]})
    assert len(configs) >= 2
    assert sum(len(base64.b64decode(c["Spec"]["Data"])) for c in configs) > CHUNK_BYTES
    assert store.get(number) == replace(big, number=number)
    assert store.delete_all() == 1
    assert api.configs(filters={"label": [f"{LABEL_REV_STACK}={revision_stack}"]}) == []


def test_a_revision_missing_a_chunk_is_reported_incomplete(
    api: docker.APIClient, revision_stack: str
) -> None:
    """What a reader meets while a revision's extra chunks are still being written
    (or after they were lost): a clear error naming the missing part, never a
    misread revision."""
    store = RevisionStore(api, revision_stack)
    number = store.record(_big_revision(revision_stack))
    configs = api.configs(filters={"label": [f"{LABEL_REV_STACK}={revision_stack}"]})
    (second,) = [c for c in configs if c["Spec"]["Labels"][LABEL_REV_CHUNK] == "1"]
    api.remove_config(second["ID"])
    with pytest.raises(RevisionFormatError) as caught:
        store.get(number)
    assert f"revision {number} of {revision_stack} is incomplete" in caught.value.message
    assert "missing part(s) [1]" in caught.value.message
    with pytest.raises(RevisionFormatError):
        store.all()  # the whole history refuses too, rather than skip it silently


def test_histories_of_different_stacks_do_not_mix(
    api: docker.APIClient, revision_stack: str
) -> None:
    other = f"{revision_stack}-1"
    try:
        RevisionStore(api, revision_stack).record(_revision(revision_stack))
        RevisionStore(api, other).record(_revision(other))
        RevisionStore(api, other).record(_revision(other, tag="b"))
        assert [s.number for s in RevisionStore(api, revision_stack).list()] == [1]
        assert [s.number for s in RevisionStore(api, other).list()] == [1, 2]
    finally:
        RevisionStore(api, other).delete_all()


def test_record_apply_stamps_who_and_ci_context(api: docker.APIClient, revision_stack: str) -> None:

    state = sample_state(revision_stack)
    env = {"GITHUB_RUN_ID": "77", "GITHUB_SHA": "abcdef0123", "GITHUB_TOKEN": "ghs_nope"}
    number = record_apply(
        api, desired=state, plan=sample_plan(state), outcome="applied", rollback_to=None, env=env
    )
    revision = RevisionStore(api, revision_stack).get(number)
    assert revision.outcome is Outcome.APPLIED
    assert dict(revision.actor.ci) == {"GITHUB_RUN_ID": "77", "GITHUB_SHA": "abcdef0123"}
    assert revision.actor.describe().endswith("(github run 77 @ abcdef0)")
    assert revision.created_at.tzinfo is not None
    summary = RevisionStore(api, revision_stack).list()[0]
    assert "github run 77" in summary.who
