"""history, ls, status and rm through the real CLI (stack built with the SDK)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import docker
import pytest
from support.revision_builders import sample_revision

from stackctl.core.history.revision import Outcome
from stackctl.engine.revisions import RevisionStore
from stackctl.engine.stacks import service_statuses

pytestmark = pytest.mark.swarm


def stackctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stackctl", *args],
        env={**os.environ, "NO_COLOR": "1"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _record(api: docker.APIClient, stack: str, *outcomes: Outcome) -> None:
    store = RevisionStore(api, stack)
    for outcome in outcomes:
        store.record(sample_revision(stack=stack, outcome=outcome))


def test_history_lists_revisions_in_order_and_marks_the_current_one(
    api: docker.APIClient, revision_stack: str
) -> None:
    _record(api, revision_stack, Outcome.APPLIED, Outcome.APPLIED, Outcome.ROLLED_BACK)
    result = stackctl("history", revision_stack, "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert (document["apiVersion"], document["kind"]) == ("stackctl/v1", "History")
    entries = document["revisions"]
    assert [(e["number"], e["outcome"], e["current"]) for e in entries] == [
        (1, "applied", False),
        (2, "applied", True),
        (3, "rolled_back", False),
    ]
    assert entries[0]["who"] == "alice@box"

    table = stackctl("history", revision_stack)
    assert table.returncode == 0
    lines = table.stdout.splitlines()
    assert lines[0].split()[:2] == ["REV", "WHEN"]
    assert [line.split()[0] for line in lines[1:]] == ["1", "*", "3"]
    assert lines[2].split()[1] == "2"


def test_history_of_an_unknown_stack_says_so(revision_stack: str) -> None:
    result = stackctl("history", revision_stack)
    assert result.returncode == 0
    assert "no recorded revisions" in result.stderr


def test_status_of_an_unknown_stack_fails(revision_stack: str) -> None:
    result = stackctl("status", revision_stack)
    assert result.returncode == 1
    assert "not found" in result.stderr


def test_ls_shows_the_stack(api: docker.APIClient, sdk_stack: str) -> None:
    _record(api, sdk_stack, Outcome.APPLIED)
    deadline = time.monotonic() + 60
    while sum(s.running for s in service_statuses(api, sdk_stack)) < 3:
        assert time.monotonic() < deadline, "stack did not start"
        time.sleep(0.5)
    result = stackctl("ls", "--json")
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)
    assert (listed["apiVersion"], listed["kind"]) == ("stackctl/v1", "StackList")
    (entry,) = [s for s in listed["stacks"] if s["name"] == sdk_stack]
    assert (entry["services"], entry["running"], entry["desired"]) == (2, 3, 3)
    assert (entry["revision"], entry["status"]) == (1, "ok")


def test_rm_needs_confirmation_off_a_tty(api: docker.APIClient, sdk_stack: str) -> None:
    result = stackctl("rm", sdk_stack)
    assert result.returncode == 1
    assert "--yes" in result.stderr
    assert len(api.services(filters={"label": f"com.docker.stack.namespace={sdk_stack}"})) == 2


def test_rm_removes_the_stack_and_its_history(api: docker.APIClient, sdk_stack: str) -> None:
    _record(api, sdk_stack, Outcome.APPLIED)
    result = stackctl("rm", sdk_stack, "--yes")
    assert result.returncode == 0, result.stderr
    assert f"removed service {sdk_stack}_web" in result.stdout
    assert f"removed network {sdk_stack}_default" in result.stdout
    assert "removed 1 revision(s) of history" in result.stdout
    label = {"label": f"com.docker.stack.namespace={sdk_stack}"}
    assert api.services(filters=label) == [] and api.networks(filters=label) == []
    assert RevisionStore(api, sdk_stack).list() == []
    again = stackctl("rm", sdk_stack, "--yes")
    assert again.returncode == 0 and "nothing found" in again.stdout
