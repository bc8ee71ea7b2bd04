"""The read commands' JSON documents: versioned envelope first, the data under one key."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from stackctl.api import History, StackStatus
from stackctl.core.history.revision import GitOrigin, Outcome
from stackctl.engine.revisions import RevisionSummary
from stackctl.engine.stacks import LiveService, StackInfo
from stackctl.json_documents import (
    agent_status_document,
    history_document,
    stack_list_document,
    status_document,
)

WHEN = datetime(2026, 11, 27, 14, 27, 20, tzinfo=UTC)


def _summary(number: int, outcome: Outcome, rollback_to: int | None = None) -> RevisionSummary:
    return RevisionSummary(
        number=number,
        created_at=WHEN,
        who="root@vm",
        outcome=outcome,
        source_digest="ab" * 32,
        changes="1 rolling",
        rollback_to=rollback_to,
        git=GitOrigin("https://git.example.com/ops.git", "c0ffee" * 6 + "beef", "main", ("s.yml",))
        if number == 2
        else None,
    )


def test_history_keeps_every_revision_under_revisions_and_marks_the_current_one() -> None:
    recorded = History((_summary(1, Outcome.APPLIED), _summary(2, Outcome.ROLLED_BACK)), 1)
    document = json.loads(json.dumps(history_document("shop", recorded)))
    assert list(document)[:2] == ["apiVersion", "kind"]
    assert (document["apiVersion"], document["kind"]) == ("stackctl/v1", "History")
    assert (document["stack"], document["current"]) == ("shop", 1)
    assert [(r["number"], r["outcome"], r["current"]) for r in document["revisions"]] == [
        (1, "applied", True),
        (2, "rolled_back", False),
    ]
    assert document["revisions"][0]["createdAt"] == WHEN.isoformat()
    assert document["revisions"][1]["git"]["commit"].startswith("c0ffee")


def test_history_links_an_interrupted_revision_and_the_one_that_completed_it() -> None:
    rerun = RevisionSummary(
        number=3,
        created_at=WHEN,
        who="root@vm",
        outcome=Outcome.APPLIED,
        source_digest="ab" * 32,
        changes="completes 2: 1 rolling; this run: nothing left to write",
        rollback_to=None,
        completes=2,
    )
    revisions = (_summary(1, Outcome.APPLIED), _summary(2, Outcome.INTERRUPTED), rerun)
    document = history_document("shop", History(revisions, 3))
    assert [(r["completes"], r["completedBy"]) for r in document["revisions"]] == [
        (None, None),
        (None, 3),
        (2, None),
    ]


def test_an_empty_history_is_still_a_document() -> None:
    document = history_document("shop", History((), None))
    assert document["revisions"] == [] and document["current"] is None


def test_status_and_stack_list_carry_the_envelope() -> None:
    service = LiveService("shop_web", "replicated", "web:1", 1, 2, None, "updating")
    result = StackStatus(
        stack="shop",
        revision=3,
        outcome=Outcome.APPLIED,
        created_at=WHEN,
        who="root@vm",
        drifted=("shop_web",),
        orphans=(),
        services=(service,),
    )
    status = status_document(result)
    assert (status["kind"], status["drift"], status["drifted"]) == ("Status", True, ["shop_web"])
    assert status["services"][0]["running"] == 1 and status["services"][0]["healthy"] is None
    listed = stack_list_document([StackInfo("shop", 1, 1, 2, WHEN, 3)])
    assert (listed["apiVersion"], listed["kind"]) == ("stackctl/v1", "StackList")
    assert [s["name"] for s in listed["stacks"]] == ["shop"]
    agent = agent_status_document([{"stack": "shop", "suspended": False}])
    assert list(agent) == ["apiVersion", "kind", "stacks"]
    assert (agent["kind"], agent["stacks"][0]["stack"]) == ("AgentStatus", "shop")
