"""What one pass should do with a stack, decided from values alone (no git, no engine).

Inputs: the commit at the head of the followed branch (with the files list),
the stack's revision history (labels only) and the agent state in the cluster.
The rules that keep the agent from looping and from fighting people:

1. ``suspend``ed: do nothing.
2. A manual rollback (a revision with ``rollback_to``) newer than the agent's
   own last revision, not yet acknowledged with ``agent resume``: pause, until
   a commit the agent has not applied yet arrives.
3. The head commit is the one whose apply failed or was rolled back in the
   agent's last revision, and ``agent retry`` was not asked since: hold it.
4. A commit (or files list) the agent has not brought the cluster to yet, or a
   resumed rollback or a retry: deploy it (plan; apply only a non-empty plan).
5. Otherwise the cluster was brought to this commit already: check for drift
   (plan; ``report`` or ``correct`` it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from stackctl.agent.state import AgentState
from stackctl.engine.revisions import RevisionSummary

# Outcomes of a rollout that mean "this commit did not make it": held afterwards.
FAILED_OUTCOMES = frozenset({"rolled_back", "failed", "paused", "timed_out"})


class Action(StrEnum):
    SUSPENDED = "suspended"
    PAUSED = "paused"
    HELD = "held"
    DEPLOY = "deploy"
    CHECK = "check"


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str
    revision: int | None = None  # paused: the rollback's revision; held: the failed one


def sync_key(commit: str, files: Sequence[str]) -> str:
    """Identifies "this commit with these files" (stored as ``synced`` in the state)."""
    digest = hashlib.sha256("\0".join(files).encode()).hexdigest()[:12]
    return f"{commit}:{digest}"


def decide(
    commit: str,
    files: Sequence[str],
    revisions: Sequence[RevisionSummary],
    state: AgentState,
) -> Decision:
    """The action for ``commit`` (``state.synced``: the key the agent last converged to)."""
    if state.suspended:
        return Decision(Action.SUSPENDED, "suspended (stackctl agent resume STACK to continue)")
    key = sync_key(commit, files)
    ours = [r for r in revisions if r.git is not None]
    last = ours[-1] if ours else None
    last_number = last.number if last else 0
    last_key = sync_key(last.git.commit, last.git.files) if last and last.git else ""
    # seen: not a new commit (pauses hold); known: the cluster was brought to it
    seen = key in (state.synced, last_key)
    applied = last is not None and last.outcome is not None and last.outcome.value == "applied"
    known = key == state.synced or (key == last_key and applied)
    rollbacks = [r for r in revisions if r.rollback_to is not None and r.number > last_number]
    rollback = rollbacks[-1] if rollbacks else None
    if rollback is not None and last is not None and seen:
        if rollback.number > state.resume_after:
            return Decision(
                Action.PAUSED,
                f"paused: revision {rollback.number} rolled the stack back to revision "
                f"{rollback.rollback_to} after the agent's last apply (revision {last_number}); "
                "waiting for a new commit or `stackctl agent resume`",
                rollback.number,
            )
        return Decision(Action.DEPLOY, f"resumed after the rollback in revision {rollback.number}")
    failed = last is not None and last.outcome is not None and last.outcome in FAILED_OUTCOMES
    if last is not None and failed and last_key == key:
        if last.number > state.retry_after:
            return Decision(
                Action.HELD,
                f"commit {commit[:12]} {last.outcome} in revision {last.number}; "
                "not applied again until a new commit or `stackctl agent retry`",
                last.number,
            )
        return Decision(Action.DEPLOY, f"retrying commit {commit[:12]}")
    if not known:
        return Decision(Action.DEPLOY, f"new commit {commit[:12]}")
    return Decision(Action.CHECK, f"commit {commit[:12]} already applied; checking for drift")
