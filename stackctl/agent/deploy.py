"""What the agent asks of stackctl for one stack: load, plan, apply under the lock.

The one module of the agent that reaches into stackctl's pipeline; everything
else in ``stackctl.agent`` deals with git, state and scheduling.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from stackctl.agent.config import ApplySettings
from stackctl.core.history.revision import GitOrigin
from stackctl.core.model.model import Stack
from stackctl.core.model.state import ClusterState
from stackctl.core.plan.plan_model import Plan
from stackctl.engine.client import EngineClient
from stackctl.rollout.events import Event


@dataclass(frozen=True)
class Loaded:
    stack: Stack
    desired: ClusterState


@dataclass(frozen=True)
class Applied:
    outcome: str  # rollout Outcome value, or "no_change" when the re-check found nothing to do
    message: str
    revision: int | None


def load(
    stack_name: str, checkout: str, files: tuple[str, ...], env_files: tuple[str, ...]
) -> Loaded:
    """Load and validate the stack files of a checkout (``StackFileError``: located findings).

    Paths are given relative to the checkout, so findings read ``shop/stack.yml:12:5``.
    """
    from stackctl.core.convert.convert import convert_stack
    from stackctl.core.load.loading import load_stack

    result = load_stack(list(files), env=dict(os.environ), env_files=list(env_files), cwd=checkout)
    return Loaded(result.stack, convert_stack(result.stack, stack_name))


def observe(client: EngineClient, desired: ClusterState) -> ClusterState:
    """What the cluster runs for the stack now (a constant number of list calls)."""
    from stackctl.engine.observe import external_references, observe_stack

    return observe_stack(client, desired.stack, external=external_references(desired))


def fingerprint(live: ClusterState) -> str:
    """Changes whenever anything observed about the stack changes (version indexes included).

    Built from the live objects as read (no sealing: it never leaves the process).
    """
    from stackctl.core.model.state import ResourceKind

    items = [
        [r.kind.value, r.name, r.id, r.version, r.content_sha256, dict(r.status)]
        for kind in ResourceKind
        for _, r in sorted(live.of_kind(kind).items())
    ]
    text = json.dumps(items, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def plan(client: EngineClient, desired: ClusterState, live: ClusterState, *, prune: bool) -> Plan:
    """The plan from ``live`` to ``desired`` (reads the history for drift marks)."""
    from stackctl.cli.apply_flow import without_superseded_deletes
    from stackctl.core.history.revision import keep_retained_objects
    from stackctl.core.plan.diff import plan_changes
    from stackctl.engine.revisions import RevisionStore

    store = RevisionStore(client, desired.stack)
    last = store.latest_applied()
    result = plan_changes(
        desired, live, last_applied=None if last is None else last.state, prune=prune
    )
    result = without_superseded_deletes(result, desired)
    if prune:
        result = keep_retained_objects(result, store.referenced_objects())
    return result


def apply(
    client: EngineClient,
    loaded: Loaded,
    settings: ApplySettings,
    *,
    prune: bool,
    git: GitOrigin,
    should_stop: Callable[[], bool],
    emit: Callable[[Event], None],
) -> Applied:
    """The one rollout path of apply and rollback (``stackctl.rollout.session``):
    lock, re-plan, record the revision carrying ``git`` before the first write,
    roll out, mark how it ended, clean up."""
    from stackctl.cli.apply_flow import dependencies_of, failure_policy, file_contents
    from stackctl.rollout.events import ApplyWarning
    from stackctl.rollout.options import ApplyOptions
    from stackctl.rollout.session import LockSettings, Release, locked_rollout

    desired = loaded.desired
    dependencies = dependencies_of(loaded.stack, desired.stack)
    warnings: list[str] = []

    def collect(event: Event) -> None:
        if isinstance(event, ApplyWarning):
            warnings.append(event.message)
        emit(event)

    options = ApplyOptions(
        on_failure=failure_policy(settings.on_failure),
        max_concurrent=settings.max_concurrent,
        timeout=settings.timeout,
        pending_timeout=settings.pending_timeout,
        dependencies=dependencies,
        contents=file_contents(loaded.stack, desired),
        should_stop=should_stop,
    )
    release = Release(
        desired=desired,
        source_digest=loaded.stack.source_digest,
        dependencies=dependencies,
        git=git,
    )
    started = time.monotonic()
    outcome = locked_rollout(
        client,
        release,
        lambda: plan(client, desired, observe(client, desired), prune=prune),
        options,
        LockSettings(
            lock_timeout=settings.lock_timeout,
            history_max=settings.history_max,
            resolve_image=settings.resolve_image,
        ),
        collect,
        warnings.append,
    )
    if outcome is None:
        return Applied("no_change", "applied meanwhile (nothing left to do)", None)
    failed = [f"{s.name}: {s.reason}" for s in outcome.services if s.reason]
    message = (
        "; ".join([outcome.message] * bool(outcome.message) + failed + warnings)
        or f"{outcome.changed} change(s) in {time.monotonic() - started:.0f}s"
    )
    return Applied(outcome.outcome.value, message, outcome.revision)
