"""One rollout as ``apply`` and ``rollback`` both run it, once the plan is approved.

Run the plan through the rollout engine with the event view (text or JSON
lines) and SIGINT/SIGTERM handling, record a revision when anything was
written, remove config/secret versions nothing needs any more after a
converged rollout, and print the summary. The two commands differ only in what
they pass in: the options, and how the revision is recorded.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol

import typer

from stackctl.core.model.state import ClusterState, ResourceKind
from stackctl.core.plan.plan_model import Plan
from stackctl.errors import StackctlError
from stackctl.rollout.checkpoints import checkpoint
from stackctl.rollout.events import ApplyWarning, Outcome, ResourceRemoved
from stackctl.rollout.options import ApplyOptions, ApplyOutcome, FailurePolicy
from stackctl.rollout.waves import Dependencies

Warn = Callable[[str], None]
# Stores the revision of a rollout that wrote something: ``record_apply`` with the
# command's own arguments, given the rollout's outcome value and the warning sink.
Recorder = Callable[[str, Warn], None]


@dataclass(frozen=True)
class RolloutSettings:
    """What the command line asked of the rollout."""

    on_failure: FailurePolicy
    max_concurrent: int | None
    timeout: float
    pending_timeout: float
    as_json: bool
    no_color: bool
    detach: bool = False
    # image -> encoded X-Registry-Auth for service writes (--with-registry-auth)
    registry_auth: Callable[[str], str | None] = field(
        default=lambda image: None, repr=False, compare=False
    )
    dependencies: Dependencies = field(default_factory=lambda: MappingProxyType({}))
    contents: Mapping[str, bytes] = field(  # config/secret payloads
        default_factory=lambda: MappingProxyType({}), repr=False
    )


class RolloutRequest(Protocol):
    """The rollout options ``ApplyRequest`` and ``RollbackRequest`` both carry."""

    @property
    def max_concurrent(self) -> int | None: ...
    @property
    def timeout(self) -> float: ...
    @property
    def pending_timeout(self) -> float: ...
    @property
    def as_json(self) -> bool: ...
    @property
    def no_color(self) -> bool: ...


def settings_for(
    request: RolloutRequest,
    policy: FailurePolicy,
    *,
    dependencies: Dependencies,
    detach: bool = False,
    registry_auth: Callable[[str], str | None] | None = None,
    contents: Mapping[str, bytes] | None = None,
) -> RolloutSettings:
    """``RolloutSettings`` from a command's request and what only that command has."""
    return RolloutSettings(
        on_failure=policy,
        max_concurrent=request.max_concurrent,
        timeout=request.timeout,
        pending_timeout=request.pending_timeout,
        as_json=request.as_json,
        no_color=request.no_color,
        detach=detach,
        registry_auth=registry_auth or (lambda image: None),
        dependencies=dependencies,
        contents=MappingProxyType(dict(contents or {})),
    )


def run_rollout(
    client: Any,
    plan: Plan,
    desired: ClusterState,
    settings: RolloutSettings,
    record: Recorder,
) -> int:
    """Roll ``plan`` out and return the exit code; ``record(outcome, warn)`` stores
    the revision (it is called only when something was written)."""
    from stackctl.cli.apply_view import make_view, summary_lines
    from stackctl.cli.cmd_apply import stop_on_signals
    from stackctl.engine.writer import SwarmWriter
    from stackctl.rollout.runner import run_apply

    started = time.monotonic()
    view = make_view(as_json=settings.as_json, no_color=settings.no_color)

    def warn(message: str) -> None:
        view(ApplyWarning(time.monotonic() - started, message))

    def removed(kind: ResourceKind, name: str) -> None:
        view(ResourceRemoved(time.monotonic() - started, kind.value, name, "superseded"))

    try:
        writer = SwarmWriter(
            client, registry_auth=settings.registry_auth, warn=warn, networks=desired.networks
        )
        with stop_on_signals() as stop:
            options = ApplyOptions(
                on_failure=settings.on_failure,
                max_concurrent=settings.max_concurrent,
                timeout=settings.timeout,
                pending_timeout=settings.pending_timeout,
                detach=settings.detach,
                dependencies=settings.dependencies,
                contents=settings.contents,
                should_stop=stop.is_set,
            )
            outcome = run_apply(writer, plan, options, view)
        _record(client, outcome, record, warn)
        if outcome.outcome is Outcome.APPLIED and outcome.changed:  # only under the lock
            _remove_superseded(client, desired, removed, warn)
    finally:
        view.close()
    if not settings.as_json:
        for line in summary_lines(outcome):
            typer.echo(line)
    return int(outcome.exit_code)


def _record(client: Any, outcome: ApplyOutcome, record: Recorder, warn: Warn) -> None:
    """Record a revision whenever something was written (history must show failures too)."""
    from stackctl.engine.client import engine_errors

    if outcome.changed == 0:
        return
    try:
        checkpoint("recording")
        with engine_errors(client.endpoint, "record the revision"):  # the engine may be gone
            record(outcome.outcome.value, warn)
        checkpoint("revision-recorded")
    except StackctlError as error:
        warn(f"could not record the revision: {error.message}")


def _remove_superseded(
    client: Any,
    desired: ClusterState,
    removed: Callable[[ResourceKind, str], None],
    warn: Warn,
) -> None:
    """Config/secret versions neither the desired state nor a kept revision names."""
    from stackctl.engine.cleanup import remove_superseded
    from stackctl.engine.revisions import RevisionStore

    try:
        keep = RevisionStore(client, desired.stack).referenced_objects()
        remove_superseded(client, desired, keep=keep, removed=removed)
    except StackctlError as error:
        warn(f"could not clean up superseded configs/secrets: {error.message}")
