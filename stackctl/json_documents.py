"""The versioned JSON documents of the read commands: ``history``, ``status``, ``ls``.

Every JSON document stackctl prints or serves starts with ``apiVersion`` and
``kind`` (plans, validation reports and revisions already did), so that a
pipeline or the agent's HTTP API can tell what it holds and refuse a version it
does not know. The CLI's ``--json`` and the agent's JSON API build them here, so
both say the same thing in the same shape (docs/json-formats.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stackctl.api import History, Interrupted, StackStatus
    from stackctl.engine.revisions import RevisionSummary
    from stackctl.engine.stacks import StackInfo

API_VERSION = "stackctl/v1"


def envelope(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """``{"apiVersion": ..., "kind": kind, **body}``, the version keys first."""
    return {"apiVersion": API_VERSION, "kind": kind, **body}


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def revision_entry(summary: RevisionSummary, current: int | None) -> dict[str, Any]:
    """One revision as ``history --json`` lists it."""
    return {
        "number": summary.number,
        "createdAt": _iso(summary.created_at),
        "who": summary.who,
        "sourceDigest": summary.source_digest,
        "changes": summary.changes,
        "outcome": summary.outcome.value if summary.outcome else None,
        "endedAt": _iso(summary.ended_at),
        "rollbackTo": summary.rollback_to,
        "completes": summary.completes,
        "git": summary.git.to_json() if summary.git else None,
        "current": summary.number == current,
    }


def history_document(stack: str, recorded: History) -> dict[str, Any]:
    """``kind: History``: the stack's revisions, oldest first, and the current one.

    An interrupted revision whose release a later one finished names it in
    ``completedBy`` (that later revision's ``completes``)."""
    completed_by = {s.completes: s.number for s in recorded.revisions if s.completes is not None}
    return envelope(
        "History",
        {
            "stack": stack,
            "current": recorded.current,
            "revisions": [
                {
                    **revision_entry(s, recorded.current),
                    "completedBy": completed_by.get(s.number),
                }
                for s in recorded.revisions
            ],
        },
    )


def _interrupted(cut: Interrupted | None) -> dict[str, Any] | None:
    if cut is None:
        return None
    return {
        "revision": cut.revision,
        "startedAt": _iso(cut.started_at),
        "who": cut.who,
        "running": cut.running,
        "live": cut.live,
        "notRolledOut": list(cut.not_rolled_out),
        "previous": cut.previous,
    }


def status_document(result: StackStatus) -> dict[str, Any]:
    """``kind: Status``: what runs now against the current revision, and its drift."""
    return envelope(
        "Status",
        {
            "stack": result.stack,
            "revision": result.revision,
            "outcome": result.outcome.value if result.outcome else None,
            "completes": result.completes,
            "drift": result.drift,
            "drifted": None if result.drifted is None else list(result.drifted),
            "interrupted": _interrupted(result.interrupted),
            "orphans": list(result.orphans),
            "services": [
                {
                    "name": s.name,
                    "mode": s.mode,
                    "running": s.running,
                    "desired": s.desired,
                    "healthy": s.healthy,
                    "updateState": s.update_state,
                    "updateMessage": s.update_message,
                    "image": s.image,
                    "errors": list(s.task_errors),
                }
                for s in result.services
            ],
        },
    )


def stack_list_document(stacks: Iterable[StackInfo]) -> dict[str, Any]:
    """``kind: StackList``: every stack in the cluster, as ``ls`` shows them."""
    return envelope(
        "StackList",
        {
            "stacks": [
                {
                    "name": s.name,
                    "services": s.services,
                    "running": s.running,
                    "desired": s.desired,
                    "revision": s.revision,
                    "createdAt": _iso(s.created_at),
                    "status": s.status,
                }
                for s in stacks
            ]
        },
    )


def agent_status_document(stacks: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """``kind: AgentStatus``: what the agent last stored in the cluster for each stack."""
    return envelope("AgentStatus", {"stacks": list(stacks)})
