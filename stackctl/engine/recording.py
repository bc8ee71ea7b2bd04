"""One call for apply and rollback to record what they did as a revision.

This is where the clock, the user, the host and the environment enter (the core
revision model takes them as arguments).
"""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Mapping
from datetime import UTC, datetime

from stackctl.core.history.revision import (
    GitOrigin,
    Outcome,
    Revision,
    actor_from_env,
    new_revision,
)
from stackctl.core.model.model import DependsOn
from stackctl.core.model.state import ClusterState
from stackctl.core.plan.plan_model import Plan
from stackctl.engine.client import EngineClient
from stackctl.engine.revisions import DEFAULT_HISTORY_MAX, RevisionStore


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers): not worth failing over
        return f"uid{os.getuid()}"


def intent_revision(
    desired: ClusterState,
    plan: Plan,
    *,
    source_digest: str | None = None,
    rollback_to: int | None = None,
    image_digests: Mapping[str, str] | None = None,
    dependencies: Mapping[str, tuple[DependsOn, ...]] | None = None,
    git: GitOrigin | None = None,
    env: Mapping[str, str] | None = None,
) -> Revision:
    """The revision a rollout records before its first write (outcome ``in_progress``)."""
    return new_revision(
        desired=desired,
        plan=plan,
        outcome=Outcome.IN_PROGRESS,
        created_at=datetime.now(UTC),
        actor=actor_from_env(
            os.environ if env is None else env, user=_user(), host=socket.gethostname()
        ),
        source_digest=source_digest,
        rollback_to=rollback_to,
        image_digests=image_digests,
        dependencies=dependencies,
        git=git,
    )


def record_apply(
    client: EngineClient,
    *,
    desired: ClusterState,
    plan: Plan,
    outcome: str,
    source_digest: str | None = None,
    rollback_to: int | None = None,
    note: str | None = None,
    image_digests: Mapping[str, str] | None = None,
    dependencies: Mapping[str, tuple[DependsOn, ...]] | None = None,
    history_max: int = DEFAULT_HISTORY_MAX,
    env: Mapping[str, str] | None = None,
    git: GitOrigin | None = None,
) -> int:
    """Record an apply (or rollback) of ``desired`` that ran ``plan``; return its number.

    ``outcome`` is the rollout's outcome value (``"applied"``, ``"rolled_back"``,
    ``"paused"``, ``"failed"``, ``"timed_out"``, ``"submitted"``, ``"interrupted"``).
    Old revisions beyond ``history_max`` are pruned; call
    ``RevisionStore.referenced_objects()`` *after* this to know which superseded
    configs/secrets must survive cleanup.
    """
    revision = new_revision(
        desired=desired,
        plan=plan,
        outcome=Outcome(outcome),
        created_at=datetime.now(UTC),
        actor=actor_from_env(
            os.environ if env is None else env, user=_user(), host=socket.gethostname()
        ),
        source_digest=source_digest,
        rollback_to=rollback_to,
        note=note,
        image_digests=image_digests,
        dependencies=dependencies,
        git=git,
    )
    return RevisionStore(client, desired.stack, history_max=history_max).record(revision)
