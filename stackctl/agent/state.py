"""The agent's per-stack state as plain values, and its label encoding.

Two kinds of fields, both kept in the cluster (``engine.agent_state``):

- operator controls, written by ``stackctl agent suspend|resume|retry``:
  ``suspended``; ``retry_after`` (failed revisions up to this number are
  forgiven); ``resume_after`` (manual rollbacks up to this number are
  acknowledged: the agent takes the stack over again);
- the agent's last report (``outcome``, ``commit``, ``message``), written only
  when it changes, so ``stackctl agent status`` shows it from any machine and an
  idle pass writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

PREFIX = "io.stackctl.agent."
MAX_MESSAGE = 1000  # a label is no place for a long log


@dataclass(frozen=True)
class AgentState:
    suspended: bool = False
    retry_after: int = 0
    resume_after: int = 0
    outcome: str = ""
    commit: str = ""
    message: str = ""
    synced: str = ""  # decide.sync_key of the commit the agent last brought the cluster to

    def reported(self, outcome: str, commit: str, message: str) -> AgentState:
        return replace(self, outcome=outcome, commit=commit, message=message[:MAX_MESSAGE])


def _int(text: str | None) -> int:
    try:
        return int(text or 0)
    except ValueError:
        return 0


def state_from_labels(labels: Mapping[str, str]) -> AgentState:
    return AgentState(
        suspended=labels.get(PREFIX + "suspended") == "true",
        retry_after=_int(labels.get(PREFIX + "retry-after")),
        resume_after=_int(labels.get(PREFIX + "resume-after")),
        outcome=labels.get(PREFIX + "outcome", ""),
        commit=labels.get(PREFIX + "commit", ""),
        message=labels.get(PREFIX + "message", ""),
        synced=labels.get(PREFIX + "synced", ""),
    )


def state_to_labels(state: AgentState) -> dict[str, str]:
    labels = {
        PREFIX + "suspended": "true" if state.suspended else "false",
        PREFIX + "retry-after": str(state.retry_after),
        PREFIX + "resume-after": str(state.resume_after),
        PREFIX + "outcome": state.outcome,
        PREFIX + "commit": state.commit,
        PREFIX + "message": state.message,
        PREFIX + "synced": state.synced,
    }
    return labels
