"""The steps of ``stackctl apply``, in order, kept out of the typer command.

load -> convert -> observe -> plan -> show -> (nothing to do: exit 0, no
writes, no lock) -> confirm -> lock -> re-observe and check the plan still
holds -> run_apply -> record a revision -> remove superseded configs/secrets
-> summary -> exit code.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import typer

from stackctl.core.model import DependsOn, Stack
from stackctl.core.plan_model import Effect, Plan
from stackctl.core.state import LABEL_LOGICAL_NAME, ClusterState, ResourceKind
from stackctl.errors import StackctlError, UserAbort


@dataclass(frozen=True)
class ApplyRequest:
    stack: str
    files: tuple[str, ...] = ()
    env_files: tuple[str, ...] = ()
    yes: bool = False
    plan_file: str | None = None
    prune: bool = False
    on_failure: str = "rollback"
    max_concurrent: int | None = None
    timeout: float = 600.0
    pending_timeout: float = 120.0
    lock_timeout: float = 0.0
    detach: bool = False
    resolve_image: str = "never"
    as_json: bool = False
    no_color: bool = False
    context: str | None = None


def file_contents(stack: Stack, desired: ClusterState) -> dict[str, bytes]:
    """Config/secret payloads by engine name, for the writer (never part of a plan)."""
    contents: dict[str, bytes] = {}
    for kind, declared in (
        (ResourceKind.CONFIG, stack.configs),
        (ResourceKind.SECRET, stack.secrets),
    ):
        for name, state in desired.of_kind(kind).items():
            key = (state.spec.get("Labels") or {}).get(LABEL_LOGICAL_NAME)
            obj = declared.get(str(key)) if key is not None else None
            if obj is not None and obj.content is not None:
                contents[name] = obj.content
    return contents


def dependencies_of(stack: Stack, stack_name: str) -> dict[str, tuple[DependsOn, ...]]:
    return {
        f"{stack_name}_{name}": service.depends_on
        for name, service in stack.services.items()
        if service.depends_on
    }


def plan_signature(plan: Plan) -> tuple[tuple[str, str, str, tuple[str, ...]], ...]:
    """What a person approved: each change and its changed fields."""
    return tuple(
        (c.kind.value, c.name, c.effect.value, tuple(f.path for f in c.fields))
        for c in plan.changes
        if c.effect not in (Effect.NONE, Effect.ORPHAN)
    )


class _Session:
    """One apply run: holds the client and what was loaded/observed."""

    def __init__(self, request: ApplyRequest, out: Callable[[str], None]) -> None:
        self.request = request
        self.out = out
        self.client: Any = None

    def load(self) -> tuple[Stack, ClusterState]:
        from stackctl.cli.common import format_finding
        from stackctl.core.convert import convert_stack
        from stackctl.core.loading import load_stack

        loaded = load_stack(
            list(self.request.files), env=dict(os.environ), env_files=list(self.request.env_files)
        )
        for finding in loaded.findings:
            typer.echo(format_finding(finding), err=True)
        return loaded.stack, convert_stack(loaded.stack, self.request.stack)

    def observe_and_plan(self, desired: ClusterState) -> tuple[ClusterState, Plan]:
        from stackctl.core.comparable import align_live_to_desired
        from stackctl.core.diff import plan_changes
        from stackctl.engine.observe import observe_stack

        externals = [
            (kind, name)
            for kind in (ResourceKind.NETWORK, ResourceKind.CONFIG, ResourceKind.SECRET)
            for name, state in desired.of_kind(kind).items()
            if state.external
        ]
        live = observe_stack(self.client, self.request.stack, external=externals)
        live = align_live_to_desired(desired, live)
        plan = plan_changes(
            desired, live, last_applied=self._last_applied(), prune=self.request.prune
        )
        return live, plan

    def _last_applied(self) -> ClusterState | None:
        from stackctl.engine.revisions import RevisionStore

        try:
            revision = RevisionStore(self.client, self.request.stack).latest_applied()
        except StackctlError:
            return None  # history unreadable: diff without drift marks
        return None if revision is None else revision.state

    def saved_plan(self, live: ClusterState) -> Plan:
        from stackctl.core import saved_plan

        assert self.request.plan_file is not None
        try:
            with open(self.request.plan_file, encoding="utf-8") as handle:
                text = handle.read()
        except OSError as error:
            raise StackctlError(
                f"cannot read plan {self.request.plan_file}: {error.strerror}"
            ) from None
        plan: Plan = saved_plan.load_plan(text)
        saved_plan.check_plan_fresh(plan, live)
        return plan

    def show_plan(self, plan: Plan) -> None:
        if self.request.as_json:
            self.out(json.dumps({"event": "plan", "plan": _plan_json(plan)}, sort_keys=True))
        else:
            self.out(_plan_text(plan, no_color=self.request.no_color))

    def confirm(self) -> None:
        if self.request.yes:
            return
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            raise UserAbort(
                "not applying without confirmation: no terminal to ask on",
                hint="pass --yes to apply without asking (e.g. in CI)",
            )
        if not typer.confirm("Apply these changes?", default=False):
            raise UserAbort("apply declined; nothing was changed")


def _plan_text(plan: Plan, *, no_color: bool) -> str:
    try:
        from stackctl.core import render  # the diff renderers (DIFF engineer)

        text: str = render.render_text(plan, color=not no_color and sys.stdout.isatty())
        return text
    except (ImportError, AttributeError, TypeError):
        lines = [f"Plan for stack {plan.stack}:"]
        for change in plan.changes:
            if change.effect is not Effect.NONE:
                lines.append(f"  {change.effect.value:9} {change.kind.value} {change.name}")
        return "\n".join(lines)


def _plan_json(plan: Plan) -> Any:
    try:
        from stackctl.core import render

        return render.plan_to_json(plan)
    except (ImportError, AttributeError):
        return [
            {"kind": c.kind.value, "name": c.name, "effect": c.effect.value}
            for c in plan.changes
            if c.effect is not Effect.NONE
        ]


def run_apply_command(request: ApplyRequest, out: Callable[[str], None] | None = None) -> int:
    """Run ``stackctl apply``; return the exit code (StackctlError propagates: exit 1)."""
    from stackctl.cli.stack_views import connect
    from stackctl.rollout.options import FailurePolicy

    write = out or (lambda line: typer.echo(line))
    try:
        policy = FailurePolicy(request.on_failure)
    except ValueError:
        raise StackctlError(
            f"--on-failure must be rollback, pause or continue, not {request.on_failure!r}"
        ) from None
    session = _Session(request, write)
    stack, desired = session.load()
    session.client = connect(request.context)
    live, plan = session.observe_and_plan(desired)
    if request.plan_file:
        plan = session.saved_plan(live)
    session.show_plan(plan)
    if not plan.has_changes:
        if not request.as_json:
            write(f"stack {request.stack}: nothing to do; the cluster matches the file.")
        return 0
    session.confirm()
    from stackctl.cli.apply_run import locked_rollout

    return locked_rollout(session, stack, desired, plan, policy)
