"""Plans: connect to the engine, plan stack files (or a stored revision) against
the cluster, observe what runs."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from stackctl.core.model.model import Stack
from stackctl.core.validate.stack_name import check_stack_name

if TYPE_CHECKING:
    from stackctl.core.history.revision import Revision
    from stackctl.core.load.source_map import SourceMap
    from stackctl.core.model.model import DependsOn
    from stackctl.core.model.state import ClusterState
    from stackctl.core.plan.plan_model import Plan
    from stackctl.engine.client import EngineClient


def connect(context: str | None = None, *, env: Mapping[str, str] | None = None) -> EngineClient:
    """Connect to the Docker engine the CLI would use: ``context`` (a Docker context
    name), else DOCKER_HOST / DOCKER_CONTEXT / the current context from ``env``
    (default: this process's environment). Checks that it is a Swarm manager
    (``EngineError`` otherwise). Close it with ``client.close()`` or ``with``."""
    # lazy: each call loads only its own layers
    from stackctl.engine.client import connect as engine_connect  # noqa: PLC0415

    return engine_connect(context, env=env)


@dataclass(frozen=True)
class StackPlan:
    """A plan against the cluster, with what ``apply`` needs to carry it out.

    ``plan`` is what would change (render it with ``stackctl.core.render``);
    ``desired``/``live`` the states it compares.
    """

    stack: str
    plan: Plan
    desired: ClusterState
    live: ClusterState
    source: Stack | None = None  # the stack files' Stack (payloads, depends_on, digest)
    revision: Revision | None = None  # the stored revision a rollback re-applies
    last_applied: ClusterState | None = None  # for a rollback: the current revision's state
    saved_plan: str | None = field(default=None, repr=False)  # the ``diff --out`` text used

    @property
    def has_changes(self) -> bool:
        return self.plan.has_changes

    def save(self) -> str:
        """The plan as ``diff --out`` saves it (sensitive values redacted), for
        ``plan(..., saved_plan=text)`` or ``stackctl apply --plan FILE`` later."""
        # lazy: each call loads only its own layers
        from stackctl.core.plan.saved_plan import save_plan  # noqa: PLC0415

        return save_plan(self.plan, self.desired, self.live)


def plan(
    client: EngineClient,
    stack: str,
    source: Stack | ClusterState,
    *,
    prune: bool = False,
    saved_plan: str | None = None,
    use_history: bool = True,
    keep_rollback_objects: bool = True,
    source_map: SourceMap | None = None,
    warn: Callable[[str], None] | None = None,
    resolve: Callable[[ClusterState, ClusterState], ClusterState] | None = None,
    dependencies: Mapping[str, tuple[DependsOn, ...]] | None = None,
) -> StackPlan:
    """Plan ``source`` (a loaded ``Stack``, or a desired ``ClusterState``) as stack
    ``stack`` against the cluster.

    ``dependencies`` (``depends_on`` by full service name; taken from a ``Stack``
    source when not given) orders the release hooks: jobs that depend on what the
    plan writes run again, and the plan says the order in words (docs/hooks.md).

    ``resolve(desired, live)`` pins images to registry digests first (an
    ``stackctl.engine.images.ImageResolver``'s ``resolve``, as ``--resolve-image``).

    ``prune`` plans deleting what the files no longer declare (else: orphans).
    ``saved_plan``: the text of a saved plan, used instead of a fresh one if it
    still holds (else ``StalePlanError``). ``use_history`` marks drift against
    the last applied revision (``warn`` hears it when history is unreadable).
    ``keep_rollback_objects`` (the default; ``diff`` and ``apply`` both use it) shows
    a config/secret version a retained revision needs as kept, with the reason, not
    deleted: ``apply`` never deletes those. False gives the raw plan.
    ``source_map`` (``Validation.source_map``) names the file:line of each change.
    """
    _check_name(stack)
    # lazy: each call loads only its own layers
    from stackctl.core.convert.convert import convert_stack  # noqa: PLC0415
    from stackctl.core.convert.rollout_inputs import dependencies_of  # noqa: PLC0415
    from stackctl.engine.planning import FROM_HISTORY, plan_against_cluster  # noqa: PLC0415

    if isinstance(source, Stack):
        desired, stack_source = convert_stack(source, stack), source
    else:
        desired, stack_source = source, None
    planned = plan_against_cluster(
        client,
        desired,
        prune=prune,
        last_applied=FROM_HISTORY if use_history else None,
        saved_plan=saved_plan,
        keep_rollback_objects=keep_rollback_objects,
        warn=warn,
        resolve=resolve,
        dependencies=dependencies
        if dependencies is not None or stack_source is None
        else dependencies_of(stack_source, stack),
    )
    located = planned.plan
    if source_map is not None:
        # lazy: each call loads only its own layers
        from stackctl.core.plan.compose_words import locate_plan  # noqa: PLC0415

        located = locate_plan(located, source_map)
    return StackPlan(
        stack=stack,
        plan=located,
        desired=planned.desired,
        live=planned.live,
        source=stack_source,
        saved_plan=saved_plan,
    )


def observe(client: EngineClient, stack: str, source: Stack | ClusterState) -> ClusterState:
    """What the cluster runs for ``stack`` now, as ``plan`` would read it (reads only,
    a constant number of list calls). A long-running client compares two observations
    (with their version indexes) to plan only when the cluster changed."""
    _check_name(stack)
    # lazy: each call loads only its own layers
    from stackctl.core.convert.convert import convert_stack  # noqa: PLC0415
    from stackctl.engine.observe import external_references, observe_stack  # noqa: PLC0415

    desired = convert_stack(source, stack) if isinstance(source, Stack) else source
    return observe_stack(client, stack, external=external_references(desired))


def revision_state(client: EngineClient, stack: str, number: int) -> ClusterState:
    """The desired state stored in revision ``number`` of ``stack`` (as declared);
    ``plan(client, stack, revision_state(...))`` is ``stackctl diff --revision N``."""
    # lazy: each call loads only its own layers
    from stackctl.engine.revision_plans import revision_desired  # noqa: PLC0415

    return revision_desired(client, stack, number)


def plan_rollback(client: EngineClient, stack: str, *, to: int | None = None) -> StackPlan:
    """Plan rolling ``stack`` back to revision ``to`` (default: the last applied
    revision before the current one), from what the cluster holds alone.

    Raises ``StackctlError`` when there is no such revision, and
    ``MissingObjectsError``/``SealedValuesError`` when it needs configs, secrets or
    sensitive env values the cluster no longer has.
    """
    _check_name(stack)
    # lazy: each call loads only its own layers
    from stackctl.engine.revision_plans import (  # noqa: PLC0415
        choose_revision,
        plan_against_revision,
        require_restorable,
    )

    revision, current = choose_revision(client, stack, to)
    last_applied = current.state if current is not None else None
    if current is not None and current.outcome.unfinished:
        # lazy: each call loads only its own layers
        from stackctl.engine.revisions import RevisionStore  # noqa: PLC0415

        # an interrupted apply: drift is judged against everything stackctl wrote
        last_applied = RevisionStore(client, stack).drift_basis()
    planned = plan_against_revision(client, revision, prune=True, last_applied=last_applied)
    require_restorable(planned)
    return StackPlan(
        stack=stack,
        plan=planned.plan,
        desired=planned.desired,
        live=planned.live,
        revision=revision,
        last_applied=last_applied,
    )


def _check_name(stack: str) -> None:
    """A stack name the engine would refuse: ``StackctlError`` before anything is read."""
    check_stack_name(stack)
