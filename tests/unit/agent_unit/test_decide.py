"""The agent's decision rules, from values alone: no loops, never fight a person."""

from __future__ import annotations

from stackctl.agent.decide import Action, decide
from stackctl.agent.state import AgentState, state_from_labels, state_to_labels
from stackctl.core.history.revision import GitOrigin, Outcome
from stackctl.engine.revisions import RevisionSummary

FILES = ("app/stack.yml",)
A, B = "a" * 40, "b" * 40


def rev(number: int, outcome: str, commit: str | None = None, rollback_to: int | None = None):
    git = GitOrigin("git://h/r.git", commit, "main", FILES) if commit else None
    return RevisionSummary(number, None, "x@y", Outcome(outcome), None, "", rollback_to, git)


def test_first_pass_deploys_and_an_applied_commit_is_checked_for_drift() -> None:
    assert decide(A, FILES, [], AgentState()).action is Action.DEPLOY
    assert decide(A, FILES, [rev(1, "applied", A)], AgentState()).action is Action.CHECK
    assert decide(B, FILES, [rev(1, "applied", A)], AgentState()).action is Action.DEPLOY
    # same commit, other files: a different deployment
    assert decide(A, ("other.yml",), [rev(1, "applied", A)], AgentState()).action is Action.DEPLOY


def test_a_failed_commit_is_held_until_retry_or_a_new_commit() -> None:
    history = [rev(1, "applied", A), rev(2, "rolled_back", B)]
    held = decide(B, FILES, history, AgentState())
    assert held.action is Action.HELD and "revision 2" in held.reason
    assert decide(B, FILES, history, AgentState(retry_after=2)).action is Action.DEPLOY
    assert decide("c" * 40, FILES, history, AgentState()).action is Action.DEPLOY
    for outcome in ("failed", "paused", "timed_out"):
        assert decide(B, FILES, [rev(2, outcome, B)], AgentState()).action is Action.HELD
    # interrupted (SIGTERM) is not a verdict on the commit: applied again
    assert decide(B, FILES, [rev(2, "interrupted", B)], AgentState()).action is Action.DEPLOY


def test_a_manual_rollback_pauses_until_resume_or_a_new_commit() -> None:
    history = [rev(1, "applied", A), rev(2, "applied", B), rev(3, "applied", None, rollback_to=1)]
    paused = decide(B, FILES, history, AgentState())
    assert paused.action is Action.PAUSED and "revision 3" in paused.reason
    assert decide(B, FILES, history, AgentState(resume_after=3)).action is Action.DEPLOY
    assert decide("c" * 40, FILES, history, AgentState()).action is Action.DEPLOY
    # a rollback older than the agent's last apply is history, not a pause
    later = [*history, rev(4, "applied", B)]
    assert decide(B, FILES, later, AgentState()).action is Action.CHECK
    # a plain manual apply (no rollback) is drift, not a pause
    manual = [rev(1, "applied", A), rev(2, "applied")]
    assert decide(A, FILES, manual, AgentState()).action is Action.CHECK


def test_suspend_wins_over_everything() -> None:
    assert decide(A, FILES, [], AgentState(suspended=True)).action is Action.SUSPENDED


def test_state_labels_round_trip() -> None:
    state = AgentState(True, 3, 4, "held", A, "why", "x:y")
    assert state_from_labels(state_to_labels(state)) == state
    assert state_from_labels({}) == AgentState()
