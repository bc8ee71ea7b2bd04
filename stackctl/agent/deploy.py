"""What the agent asks of stackctl for one stack, through the public API (``stackctl.api``).

Load, observe, plan, apply: the same functions any client uses; the agent adds
only the mapping from its settings and the git origin recorded in the revision.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass

from stackctl import api
from stackctl.agent.config import ApplySettings
from stackctl.core.model.state import ClusterState, ResourceKind
from stackctl.engine.client import EngineClient
from stackctl.engine.images import ImageResolver
from stackctl.rollout.events import ApplyWarning, Event


@dataclass(frozen=True)
class Applied:
    outcome: str  # rollout Outcome value
    message: str
    revision: int | None
    services: tuple[str, ...] = ()  # the services the rollout changed


def load(
    checkout: str,
    files: tuple[str, ...],
    env_files: tuple[str, ...],
    age_identity_files: tuple[str, ...] = (),
) -> api.Validation:
    """Load and validate a checkout's stack files (``StackFileError``: located findings).

    Paths are given relative to the checkout, so findings read ``shop/stack.yml:12:5``,
    and so does the returned source map, which locates the plan's findings the same way.
    ``.age`` secret and env files are decrypted in memory with ``age_identity_files``.
    """
    loaded = api.load(
        list(files),
        env_files=list(env_files),
        env=dict(os.environ),
        cwd=checkout,
        age_identity_files=age_identity_files,
    )
    assert loaded.stack is not None  # load raises on errors
    return loaded


def observe(client: EngineClient, name: str, stack: api.Stack) -> ClusterState:
    return api.observe(client, name, stack)


def fingerprint(live: ClusterState) -> str:
    """Changes whenever anything observed about the stack changes (version indexes included).

    Built from the live objects as read (no sealing: it never leaves the process).
    """
    items = [
        [r.kind.value, r.name, r.id, r.version, r.content_sha256, dict(r.status)]
        for kind in ResourceKind
        for _, r in sorted(live.of_kind(kind).items())
    ]
    text = json.dumps(items, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def plan(
    client: EngineClient,
    name: str,
    loaded: api.Validation,
    *,
    prune: bool,
    resolve_image: str = "never",
) -> api.StackPlan:
    """The plan against the cluster now (reads only; no drift marks: nobody reads them).

    Planned with the files' source map, as the CLI plans: the placement preflight's
    findings carry ``shop/stack.yml:12:5``. ``resolve_image`` as apply's flag: images
    are pinned to registry digests first (``stackctl.engine.images``), so the plan and
    the revision carry them.
    """
    assert loaded.stack is not None  # load raises on errors
    resolver = ImageResolver(client, resolve_image)
    return api.plan(
        client,
        name,
        loaded.stack,
        prune=prune,
        use_history=False,
        source_map=loaded.source_map,
        resolve=resolver.resolve,
    )


def apply(
    client: EngineClient,
    planned: api.StackPlan,
    settings: ApplySettings,
    *,
    origin: api.GitOrigin,
    should_stop: Callable[[], bool],
    emit: Callable[[Event], None],
) -> Applied:
    """Roll ``planned`` out under the stack lock; the revision records ``origin``."""

    warnings: list[str] = []

    def on_event(event: Event) -> None:
        if isinstance(event, ApplyWarning):
            warnings.append(event.message)
        emit(event)

    result = api.apply(
        client,
        planned,
        settings=api.ApplySettings(
            on_failure=api.FailurePolicy(settings.on_failure),
            max_concurrent=settings.max_concurrent,
            timeout=settings.timeout,
            pending_timeout=settings.pending_timeout,
            lock_timeout=settings.lock_timeout,
            resolve_image=settings.resolve_image,
            history_max=settings.history_max,
        ),
        on_event=on_event,
        should_stop=should_stop,
        origin=origin,
    )
    rollout = result.rollout
    # nothing written and no revision: another apply got there first. (Finishing an
    # interrupted apply also changes nothing, but records the revision that says applied.)
    if rollout.changed == 0 and result.outcome is api.Outcome.APPLIED and result.revision is None:
        return Applied("no_change", "applied meanwhile (nothing left to do)", None)
    failed = [f"{s.name}: {s.reason}" for s in rollout.services if s.reason]
    parts = ([rollout.message] if rollout.message else []) + failed + warnings
    message = "; ".join(parts) or f"{rollout.changed} change(s) in {rollout.duration:.0f}s"
    changed = tuple(s.name for s in rollout.services if s.effect != "none")
    return Applied(result.outcome.value, message, result.revision, changed)
