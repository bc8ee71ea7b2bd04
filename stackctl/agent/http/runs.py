"""Runs: what a webhook delivery or an API call asked the agent to do, and how it ended.

A run names stacks and, for each, the first pass that *starts* after the run
was created (the push happened before the request, so that pass fetched it).
``Agent.stacks[name].started`` numbers the passes; the pass listener records
the result of a pass numbered above the run's baseline. A run is ``pending``
until one of its passes starts, ``running`` until all ended, then ``done``
with each stack's real outcome: ``succeeded`` only when every stack ended
``applied`` or ``no_change``.

Memory is bounded: the newest ``limit`` runs are kept.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stackctl.agent.loop import Agent
    from stackctl.agent.reconcile import PassResult

SUCCESS = frozenset({"applied", "no_change"})
MAX_RUNS = 1000


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class StackRun:
    stack: str
    baseline: int  # the stack's pass count when the run was created
    result: PassResult | None = None


@dataclass
class Run:
    id: str
    trigger: str  # "webhook github", "api sync", ...
    created_at: str
    stacks: list[StackRun] = field(default_factory=list)
    ended_at: str | None = None

    @property
    def done(self) -> bool:
        return all(s.result is not None for s in self.stacks)

    @property
    def succeeded(self) -> bool | None:
        """None until done; then whether every stack was applied or already in sync."""
        if not self.done:
            return None
        return all(s.result is not None and s.result.outcome in SUCCESS for s in self.stacks)


class RunStore:
    """Creates runs, follows their passes (a pass listener), answers and waits."""

    def __init__(self, agent: Agent, limit: int = MAX_RUNS) -> None:
        self.agent = agent
        self.limit = limit
        self._runs: OrderedDict[str, Run] = OrderedDict()
        self._changed = threading.Condition()
        agent.add_pass_listener(self._on_pass)

    def start(self, names: Sequence[str], trigger: str) -> Run:
        """A run over ``names`` (stacks of this agent), made due now."""
        run = Run(secrets.token_hex(8), trigger, _now())
        with self._changed:
            for name in names:
                run.stacks.append(StackRun(name, self.agent.stacks[name].started))
            self._runs[run.id] = run
            while len(self._runs) > self.limit:
                self._runs.popitem(last=False)
        # after the baselines: any pass that starts from here on fetched after the push
        self.agent.request_sync(names)
        return run

    def get(self, run_id: str) -> Run | None:
        with self._changed:
            return self._runs.get(run_id)

    def wait(self, run_id: str, timeout: float) -> Run | None:
        """The run once done, or as it is after ``timeout`` seconds."""
        with self._changed:
            self._changed.wait_for(
                lambda: run_id not in self._runs or self._runs[run_id].done, timeout
            )
            return self._runs.get(run_id)

    def _on_pass(self, result: PassResult) -> None:
        schedule = self.agent.stacks.get(result.stack)
        if schedule is None:
            return
        number = schedule.started  # the running pass's number (the next starts after us)
        with self._changed:
            for run in self._runs.values():
                if run.done:
                    continue
                for item in run.stacks:
                    if (
                        item.stack == result.stack
                        and item.result is None
                        and number > item.baseline
                    ):
                        item.result = result
                if run.done:
                    run.ended_at = _now()
            self._changed.notify_all()

    def to_json(self, run: Run) -> dict[str, Any]:
        with self._changed:
            stacks = [self._stack_json(item) for item in run.stacks]
            done, succeeded = run.done, run.succeeded
        states = {s["state"] for s in stacks}
        state = "done" if done else "pending" if states == {"pending"} else "running"
        return {
            "id": run.id,
            "trigger": run.trigger,
            "state": state,
            "succeeded": succeeded,
            "createdAt": run.created_at,
            "endedAt": run.ended_at,
            "stacks": stacks,
        }

    def _stack_json(self, item: StackRun) -> dict[str, Any]:
        result = item.result
        if result is None:
            schedule = self.agent.stacks[item.stack]
            started = schedule.started > item.baseline
            return {
                "stack": item.stack,
                "state": "running" if started else "pending",
                "outcome": None,
                "commit": None,
                "revision": None,
                "message": None,
            }
        return {
            "stack": item.stack,
            "state": "done",
            "outcome": result.outcome,
            "commit": result.commit or None,
            "revision": result.revision,
            "message": result.message or None,
        }
