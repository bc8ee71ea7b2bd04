"""Drive the rollout against the real Swarm from stack-file text (shared by the apply tests)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stackctl.cli.apply_flow import dependencies_of, file_contents
from stackctl.core.convert.convert import convert_stack
from stackctl.core.load.loading import load_stack
from stackctl.core.model.state import ClusterState
from stackctl.core.plan.diff import plan_changes
from stackctl.core.plan.plan_model import Plan
from stackctl.engine.client import EngineClient
from stackctl.engine.observe import external_references, observe_stack
from stackctl.engine.writer import SwarmWriter
from stackctl.rollout.events import Event
from stackctl.rollout.options import ApplyOptions, ApplyOutcome
from stackctl.rollout.runner import run_apply


@dataclass
class Applied:
    outcome: ApplyOutcome
    events: list[Event]
    plan: Plan
    writes: int  # Engine API write calls made by the rollout


def desired_state(stack: str, text: str, workdir: Path, files: dict[str, str] | None = None) -> Any:
    for name, content in (files or {}).items():
        (workdir / name).write_text(content)
    path = workdir / "stack.yml"
    path.write_text(text)
    loaded = load_stack([str(path)], env={}, cwd=str(workdir))
    return loaded.stack, convert_stack(loaded.stack, stack)


def plan_for(client: EngineClient, desired: ClusterState, *, prune: bool = False) -> Plan:
    live = observe_stack(client, desired.stack, external=external_references(desired))
    return plan_changes(desired, live, prune=prune)


def apply_text(
    client: EngineClient,
    stack: str,
    text: str,
    workdir: Path,
    *,
    files: dict[str, str] | None = None,
    prune: bool = False,
    **options: Any,
) -> Applied:
    model, desired = desired_state(stack, text, workdir, files)
    plan = plan_for(client, desired, prune=prune)
    events: list[Event] = []
    values: dict[str, Any] = {"poll_interval": 0.3, "timeout": 120.0, "pending_timeout": 20.0}
    values.update(options)
    opts = ApplyOptions(
        contents=file_contents(model, desired), dependencies=dependencies_of(model, stack), **values
    )
    before = client.api_calls().writes
    outcome = run_apply(SwarmWriter(client), plan, opts, events.append)
    return Applied(outcome, events, plan, client.api_calls().writes - before)
