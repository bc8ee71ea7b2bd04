"""The plan as data: what will change, field by field, and what each change costs.

Produced by ``stackctl.core.plan.diff.plan_changes(desired, live, ...)`` (pure),
rendered by ``stackctl.core.render`` (human / JSON / markdown) and executed by
``stackctl.rollout``. A plan saved with ``diff --out`` carries the live version
index of every resource it planned against, so ``apply --plan`` can refuse when
the cluster moved since.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from stackctl.core.model.state import ResourceKind, ResourceState
from stackctl.core.plan.compose_keys import join_compose
from stackctl.errors import Finding, Location, Severity

PLAN_API_VERSION = "stackctl/v1"
PLAN_KIND = "Plan"


class Effect(StrEnum):
    """What applying a resource change costs."""

    CREATE = "create"
    DELETE = "delete"  # only planned with --prune
    ORPHAN = "orphan"  # live but no longer declared; kept (no --prune)
    ROLLING = "rolling"  # tasks get replaced
    IN_PLACE = "in-place"  # no task restarts (replicas, service labels, update/rollback config)
    REPLACE = "replace"  # cannot be updated; removed and created again
    NONE = "none"


class FieldOp(StrEnum):
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"


# Shown instead of any value that must not be printed.
SENSITIVE = "(sensitive)"
# The reason of every orphan and prune deletion (a kept one says why it stays instead).
NOT_IN_FILES = "no longer in the file"


@dataclass(frozen=True)
class FieldChange:
    """One changed field, located by a dotted path in the comparable spec.

    Paths use the spec's own keys, with list items addressed by identity in
    brackets: ``TaskTemplate.ContainerSpec.Env[DB_HOST]``,
    ``EndpointSpec.Ports[80/tcp].PublishedPort``.
    """

    path: str
    op: FieldOp
    old: Any = None  # already redacted to SENSITIVE where sensitive
    new: Any = None
    sensitive: bool = False
    drift: bool = False  # the live value differs from the last applied revision
    compose_parts: tuple[str, ...] | None = None
    """The stack-file key that writes this field (``stackctl.core.plan.compose_keys``);
    None when no key of the file does (the engine or a hand-made update set it)."""
    echo: bool = False
    """This field repeats the compose key of another field of the same change
    (the engine image next to the declared image label); compose views skip it."""
    location: Location | None = None
    """Where the compose key is written in the files, when the plan was made from files."""

    @property
    def compose_path(self) -> str | None:
        """``services.web.image``, or None for a field with no compose key."""
        return None if self.compose_parts is None else join_compose(self.compose_parts)

    @property
    def shown_path(self) -> str:
        """The compose path, else the engine path."""
        return self.compose_path or self.path


@dataclass(frozen=True)
class ResourceChange:
    kind: ResourceKind
    name: str  # full engine name
    effect: Effect
    fields: tuple[FieldChange, ...] = ()
    desired: ResourceState | None = None  # None for delete/orphan
    live: ResourceState | None = None  # None for create
    drift: bool = False  # some of the change was made behind stackctl's back
    reason: str | None = None  # why this effect, e.g. "mode replicated -> global cannot be updated"

    @property
    def restarts_tasks(self) -> bool:
        return self.effect in (Effect.ROLLING, Effect.REPLACE)


@dataclass(frozen=True)
class ObservedResource:
    """One live resource as a saved plan saw it (``stackctl.core.plan.saved_plan``)."""

    kind: ResourceKind
    name: str
    id: str | None
    version: int | None  # Version.Index; None for networks (the Engine API has none)


@dataclass(frozen=True)
class PlanFinding:
    """Something the plan found about the cluster, not the file: the placement
    preflight (``stackctl.core.plan.placement``). Errors stop ``apply`` before it
    writes; warnings are shown with the plan."""

    severity: Severity
    code: str  # SC4xx, catalogued in stackctl.core.validate.catalogue
    message: str
    service: str  # full engine name of the service it is about
    compose_parts: tuple[str, ...] | None = None  # the stack-file key to blame
    hint: str | None = None
    location: Location | None = None  # filled in by ``locate_plan`` when planned from files

    @property
    def compose_path(self) -> str | None:
        return None if self.compose_parts is None else join_compose(self.compose_parts)

    def to_finding(self) -> Finding:
        """As a stack-file ``Finding`` (for the ``github``/``sarif`` formats and errors)."""
        return Finding(
            self.severity,
            self.message,
            code=self.code,
            location=self.location or Location(),
            path=self.compose_path or "",
            hint=self.hint,
        )


@dataclass(frozen=True)
class Plan:
    stack: str
    changes: tuple[ResourceChange, ...]  # sorted by (APPLY_ORDER index, name)
    prune: bool = False
    observed: tuple[ObservedResource, ...] | None = None
    """Saved plans only: every live resource the plan was made against, so
    ``saved_plan.check_plan_fresh`` can refuse when the cluster moved since."""
    in_progress: tuple[str, ...] = ()
    """Services with no change whose spec Swarm is still rolling out (an update
    submitted earlier, e.g. by an apply that was killed): nothing to write, but
    the cluster does not run the file everywhere yet, so apply waits for them."""
    order: tuple[str, ...] = ()
    """The release order in words, step by step, when the plan writes a job that is
    part of the ``depends_on`` graph (``stackctl.core.plan.hooks``); else empty."""
    findings: tuple[PlanFinding, ...] = ()
    """The placement preflight's findings on the services this plan writes."""

    @property
    def errors(self) -> tuple[PlanFinding, ...]:
        """Findings that stop ``apply`` (exit 1, nothing written)."""
        return tuple(f for f in self.findings if f.severity is Severity.ERROR)

    @property
    def has_changes(self) -> bool:
        """True when applying would write anything (orphans alone write nothing)."""
        return any(c.effect not in (Effect.NONE, Effect.ORPHAN) for c in self.changes)

    def of_effect(self, *effects: Effect) -> tuple[ResourceChange, ...]:
        return tuple(c for c in self.changes if c.effect in effects)
