"""status/ls/rm reads and removal against a stack created directly with the SDK."""

from __future__ import annotations

import time

import docker
import pytest
from support.revision_builders import sample_revision

from stackctl.engine.revisions import RevisionStore
from stackctl.engine.stacks import list_stacks, remove_stack, service_statuses

pytestmark = pytest.mark.swarm

NS = "com.docker.stack.namespace"


def _wait_running(api: docker.APIClient, stack: str, expected: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if sum(s.running for s in service_statuses(api, stack)) >= expected:
            return
        time.sleep(0.5)
    pytest.fail(f"stack {stack} did not reach {expected} running tasks")


def test_status_reports_replicas_health_and_image(api: docker.APIClient, sdk_stack: str) -> None:
    _wait_running(api, sdk_stack, 3)
    statuses = {s.name: s for s in service_statuses(api, sdk_stack)}
    assert set(statuses) == {f"{sdk_stack}_web", f"{sdk_stack}_worker"}
    web = statuses[f"{sdk_stack}_web"]
    assert (web.running, web.desired, web.mode) == (2, 2, "replicated")
    assert web.healthy == 2
    assert web.image == "stackctl-revtest/busybox:1"


def test_ls_lists_the_stack_with_its_latest_revision(api: docker.APIClient, sdk_stack: str) -> None:
    RevisionStore(api, sdk_stack).record(sample_revision(stack=sdk_stack))
    RevisionStore(api, sdk_stack).record(sample_revision(stack=sdk_stack))
    _wait_running(api, sdk_stack, 3)
    stacks = {s.name: s for s in list_stacks(api)}
    info = stacks[sdk_stack]
    assert (info.services, info.desired, info.revision) == (2, 3, 2)
    assert info.created_at is not None


def test_rm_removes_everything_including_history(api: docker.APIClient, sdk_stack: str) -> None:
    RevisionStore(api, sdk_stack).record(sample_revision(stack=sdk_stack))
    report = remove_stack(api, sdk_stack)
    assert report.leftovers == ()
    assert len(report.services) == 2 and report.revisions == 1
    label = {"label": f"{NS}={sdk_stack}"}
    assert api.services(filters=label) == []
    assert api.networks(filters=label) == []
    assert api.configs(filters=label) == []
    assert api.secrets(filters=label) == []
    assert RevisionStore(api, sdk_stack).list() == []


def test_rm_keep_history_leaves_revisions(api: docker.APIClient, sdk_stack: str) -> None:
    RevisionStore(api, sdk_stack).record(sample_revision(stack=sdk_stack))
    report = remove_stack(api, sdk_stack, keep_history=True)
    assert report.revisions == 0
    assert [s.number for s in RevisionStore(api, sdk_stack).list()] == [1]
