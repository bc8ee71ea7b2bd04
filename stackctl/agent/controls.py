"""The operator's controls over the agent: suspend, resume, retry (state in the cluster).

Used by ``stackctl agent suspend|resume|retry`` and by the agent's JSON API
(``POST /api/v1/stacks/NAME/...``), so both mean exactly the same thing. Each
writes the stack's agent-state labels (``engine.agent_state``) and returns the
new state; every agent on the cluster honours it on its next pass.
"""

from __future__ import annotations

from dataclasses import replace

from stackctl.agent.state import AgentState, state_from_labels, state_to_labels
from stackctl.engine.agent_state import read_state_labels, update_state_labels
from stackctl.engine.client import EngineClient
from stackctl.engine.revisions import RevisionStore

ACTIONS = ("suspend", "resume", "retry")


def _latest_revision(client: EngineClient, stack: str) -> int:
    summaries = RevisionStore(client, stack).list()
    return summaries[-1].number if summaries else 0


def _update(client: EngineClient, stack: str, edit: dict[str, object]) -> AgentState:
    labels = update_state_labels(
        client,
        stack,
        lambda current: state_to_labels(replace(state_from_labels(current), **edit)),  # type: ignore[arg-type]
    )
    return state_from_labels(labels)


def suspend(client: EngineClient, stack: str) -> AgentState:
    """The agent leaves ``stack`` alone (every agent, from its next pass) until resume."""
    return _update(client, stack, {"suspended": True})


def resume(client: EngineClient, stack: str) -> AgentState:
    """Lift a suspend and acknowledge the manual rollbacks recorded so far."""
    latest = _latest_revision(client, stack)
    return _update(client, stack, {"suspended": False, "resume_after": latest})


def retry(client: EngineClient, stack: str) -> AgentState:
    """Forgive the failed revisions recorded so far: the held commit is applied again."""
    latest = _latest_revision(client, stack)
    return _update(client, stack, {"retry_after": latest})


def read(client: EngineClient, stack: str) -> AgentState:
    return state_from_labels(read_state_labels(client, stack))
