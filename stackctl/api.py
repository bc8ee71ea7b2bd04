"""stackctl's public Python API: what the CLI does, as typed functions that never print.

Load and validate stack files, plan them against a cluster, apply a plan while
an event callback watches the rollout, roll back to a stored revision, and read
a stack's history and status. Every function takes the engine connection as its
first argument (``connect()`` makes one from the environment, like the CLI);
problems are raised as ``StackctlError`` (``StackFileError`` carries every
finding of invalid files). Reference and example: docs/reference/python-api.md.

These functions run the same code paths as the commands: stack files go through
``stackctl.core.load``, plans through ``stackctl.engine.planning``, rollouts
through ``stackctl.rollout.runner`` under the stack's in-cluster lock, and every
rollout that writes is recorded as a revision.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from stackctl.core.history.revision import GitOrigin, Revision, current_number
from stackctl.core.history.revision import Outcome as RevisionOutcome
from stackctl.core.model.model import DependsOn, Stack
from stackctl.core.model.state import ClusterState, ResourceKind
from stackctl.core.plan.plan_model import Effect, Plan
from stackctl.errors import (
    ExitCode,
    Finding,
    Severity,
    StackctlError,
    StackFileError,
    StalePlanError,
)
from stackctl.rollout.events import ApplyWarning, Event, Outcome
from stackctl.rollout.options import ApplyOptions, ApplyOutcome, FailurePolicy, ServiceResult

if TYPE_CHECKING:
    from stackctl.core.load.source_map import SourceMap
    from stackctl.engine.client import EngineClient
    from stackctl.engine.revisions import RevisionSummary
    from stackctl.engine.stacks import LiveService

__all__ = [
    "ApplyResult",
    "ApplySettings",
    "Event",
    "ExitCode",
    "FailurePolicy",
    "Finding",
    "GitOrigin",
    "History",
    "Interrupted",
    "Outcome",
    "Plan",
    "ServiceResult",
    "Severity",
    "Stack",
    "StackFileError",
    "StackPlan",
    "StackStatus",
    "StackctlError",
    "StalePlanError",
    "Validation",
    "apply",
    "connect",
    "history",
    "load",
    "observe",
    "plan",
    "plan_rollback",
    "revision_state",
    "rollback",
    "status",
    "validate",
]

EventCallback = Callable[[Event], None]


# --- stack files ---------------------------------------------------------------------


@dataclass(frozen=True)
class Validation:
    """The result of checking stack files: every finding, and the stack when valid."""

    stack: Stack | None  # None when the files have errors
    findings: tuple[Finding, ...]
    files: tuple[str, ...]  # the files read (absolute paths; "-" for standard input)
    source_map: SourceMap | None = field(default=None, repr=False)  # file:line of each key

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.WARNING)

    @property
    def valid(self) -> bool:
        return self.stack is not None and not self.errors


def load(
    files: Sequence[str] = (),
    *,
    env_files: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    strict: bool = False,
    stack_name: str | None = None,
    age_identity_files: Sequence[str] = (),
    age_passphrase: Callable[[str], str] | None = None,
    profiles: Sequence[str] = (),
    cwd: str | None = None,
    stdin_text: str | None = None,
) -> Validation:
    """Load stack files into a ``Stack``; raise ``StackFileError`` when they have errors.

    ``files`` are merged in order (later ones override earlier ones); none given
    means compose.yaml, compose.yml, docker-compose.yml or stack.yml in ``cwd``.
    ``${VAR}`` comes from ``env`` (default: this process's environment), then
    ``env_files``, then a ``.env`` beside the first file. ``"-"`` reads
    ``stdin_text``. ``strict`` turns warnings (lints, unset variables) into errors.
    ``age_identity_files`` decrypt ``.age`` secret and env files;
    ``age_passphrase(name)`` returns the passphrase of a passphrase-encrypted one
    (without it, such a file is an error); ``profiles``
    enable the services of those Compose profiles. With
    ``stack_name``, the names derived from it (``<stack>_<service>``...) are
    checked too. The returned ``Validation`` is valid and holds the warnings.
    """
    return _load(
        files,
        env_files=env_files,
        env=env,
        strict=strict,
        stack_name=stack_name,
        age_identity_files=age_identity_files,
        age_passphrase=age_passphrase,
        age_check_only=False,
        profiles=profiles,
        cwd=cwd,
        stdin_text=stdin_text,
    )


def validate(
    files: Sequence[str] = (),
    *,
    env_files: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    strict: bool = False,
    stack_name: str | None = None,
    age_identity_files: Sequence[str] = (),
    age_passphrase: Callable[[str], str] | None = None,
    profiles: Sequence[str] = (),
    cwd: str | None = None,
    stdin_text: str | None = None,
) -> Validation:
    """Check stack files and return every finding; never raises for problems in them.

    Arguments as ``load``; without ``age_identity_files``, ``.age`` files are only
    checked to be well-formed. A ``stack_name`` the engine would refuse raises
    ``StackctlError`` before anything is read. ``Validation.valid`` says whether
    ``apply`` would accept the files.
    """
    # lazy: every CLI command imports this module; each call loads only its own layers
    from stackctl.core.validate.stack_name import check_stack_name  # noqa: PLC0415

    if stack_name is not None:
        check_stack_name(stack_name)
    try:
        return _load(
            files,
            env_files=env_files,
            env=env,
            strict=strict,
            stack_name=stack_name or None,
            age_identity_files=age_identity_files,
            age_passphrase=age_passphrase,
            age_check_only=True,
            profiles=profiles,
            cwd=cwd,
            stdin_text=stdin_text,
            derived_as_findings=True,
        )
    except StackFileError as error:
        return Validation(stack=None, findings=tuple(error.findings), files=tuple(files))


def _load(
    files: Sequence[str],
    *,
    env_files: Sequence[str],
    env: Mapping[str, str] | None,
    strict: bool,
    stack_name: str | None,
    age_identity_files: Sequence[str],
    age_passphrase: Callable[[str], str] | None,
    age_check_only: bool,
    profiles: Sequence[str],
    cwd: str | None,
    stdin_text: str | None,
    derived_as_findings: bool = False,
) -> Validation:
    # lazy: every CLI command imports this module; each call loads only its own layers
    from stackctl.core.load.loading import load_stack  # noqa: PLC0415
    from stackctl.core.validate.stack_name import derived_name_findings  # noqa: PLC0415

    result = load_stack(
        list(files),
        env=dict(os.environ) if env is None else env,
        env_files=list(env_files),
        strict=strict,
        cwd=cwd or os.getcwd(),
        stdin_text=stdin_text,
        age_identity_files=list(age_identity_files),
        age_check_only=age_check_only,
        age_passphrase=age_passphrase,
        profiles=list(profiles),
    )
    findings = result.findings
    if stack_name is not None:
        derived = tuple(derived_name_findings(stack_name, result.stack))
        if derived_as_findings:  # validate: reported with the others
            return Validation(
                None if _errors(derived) else result.stack,
                findings + derived,
                result.files,
                result.source_map,
            )
        if _errors(derived):  # load: invalid, like any other error in the files
            raise StackFileError([*findings, *derived])
    return Validation(result.stack, findings, result.files, result.source_map)


def _errors(findings: Sequence[Finding]) -> bool:
    return any(f.severity is Severity.ERROR for f in findings)


# --- the engine ----------------------------------------------------------------------


def connect(context: str | None = None, *, env: Mapping[str, str] | None = None) -> EngineClient:
    """Connect to the Docker engine the CLI would use: ``context`` (a Docker context
    name), else DOCKER_HOST / DOCKER_CONTEXT / the current context from ``env``
    (default: this process's environment). Checks that it is a Swarm manager
    (``EngineError`` otherwise). Close it with ``client.close()`` or ``with``."""
    # lazy: every CLI command imports this module; each call loads only its own layers
    from stackctl.engine.client import connect as engine_connect  # noqa: PLC0415

    return engine_connect(context, env=env)


# --- plans ---------------------------------------------------------------------------


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
        # lazy: every CLI command imports this module; each call loads only its own layers
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
    # lazy: every CLI command imports this module; each call loads only its own layers
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
        # lazy: every CLI command imports this module; each call loads only its own layers
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
    # lazy: every CLI command imports this module; each call loads only its own layers
    from stackctl.core.convert.convert import convert_stack  # noqa: PLC0415
    from stackctl.engine.observe import external_references, observe_stack  # noqa: PLC0415

    desired = convert_stack(source, stack) if isinstance(source, Stack) else source
    return observe_stack(client, stack, external=external_references(desired))


def revision_state(client: EngineClient, stack: str, number: int) -> ClusterState:
    """The desired state stored in revision ``number`` of ``stack`` (as declared);
    ``plan(client, stack, revision_state(...))`` is ``stackctl diff --revision N``."""
    # lazy: every CLI command imports this module; each call loads only its own layers
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
    # lazy: every CLI command imports this module; each call loads only its own layers
    from stackctl.engine.revision_plans import (  # noqa: PLC0415
        choose_revision,
        plan_against_revision,
        require_restorable,
    )

    revision, current = choose_revision(client, stack, to)
    last_applied = current.state if current is not None else None
    if current is not None and current.outcome.unfinished:
        # lazy: every CLI command imports this module; each call loads only its own layers
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


# --- rollouts ------------------------------------------------------------------------


@dataclass(frozen=True)
class ApplySettings:
    """How ``apply``/``rollback`` roll out (the CLI options of the same names). Seconds."""

    on_failure: FailurePolicy = FailurePolicy.ROLLBACK
    max_concurrent: int | None = None  # services rolling out at once; None: no limit
    timeout: float = 600.0
    pending_timeout: float = 120.0  # a task not started after this fails its service
    lock_timeout: float = 0.0  # wait this long for another apply's lock
    detach: bool = False  # submit the changes and return
    resolve_image: str = "never"  # always | changed | never
    history_max: int = 10  # revisions kept


@dataclass(frozen=True)
class ApplyResult:
    """How an apply or rollback ended, and the revision it recorded (if it wrote)."""

    rollout: ApplyOutcome
    revision: int | None = None

    @property
    def outcome(self) -> Outcome:
        return self.rollout.outcome

    @property
    def exit_code(self) -> int:
        """The CLI's exit code for this outcome (docs/exit-codes.md)."""
        return int(self.rollout.exit_code)


def apply(
    client: EngineClient,
    planned: StackPlan,
    *,
    settings: ApplySettings | None = None,
    on_event: EventCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
    origin: GitOrigin | None = None,
) -> ApplyResult:
    """Carry out ``planned`` (from ``plan`` or ``plan_rollback``).

    Nothing to do writes nothing. Otherwise, under the stack's lock, the stack is
    planned again: if the changes differ from ``planned`` (it moved meanwhile),
    ``StalePlanError`` is raised and nothing is written. Then the changes roll out
    wave by wave, gated on health; every event goes to ``on_event``; a revision is
    recorded; superseded configs/secrets are removed. ``should_stop`` is polled
    between steps: True ends the rollout cleanly (outcome ``interrupted``).
    A rollout failure is an outcome, not an exception. ``origin`` (the git commit
    the files came from) is stored in the revision and shown by ``history``.
    """
    settings = settings or ApplySettings()
    emit = on_event or _ignore
    started = time.monotonic()

    def warn(message: str) -> None:
        emit(ApplyWarning(time.monotonic() - started, message))

    # lazy: every CLI command imports this module; each call loads only its own layers
    from stackctl.core.plan.placement import refuse_placement_errors  # noqa: PLC0415
    from stackctl.engine.revisions import RevisionStore  # noqa: PLC0415
    from stackctl.rollout.session import LockSettings, locked_rollout, unlocked_watch  # noqa: PLC0415

    refuse_placement_errors(planned.plan)  # the preflight's errors: nothing is written
    unfinished = RevisionStore(client, planned.stack).unfinished()
    if planned.saved_plan is not None and unfinished is not None:
        _refuse_saved_plan(planned.stack, unfinished)
    options = _options(planned, settings, should_stop)
    if not planned.has_changes and unfinished is None:
        if planned.plan.in_progress and not settings.detach and planned.revision is None:
            # Swarm is still rolling out the file's spec: watch it; nothing is written
            return ApplyResult(
                unlocked_watch(client, planned.plan, options, emit, settings.resolve_image)
            )
        return ApplyResult(ApplyOutcome(Outcome.APPLIED, (), 0.0))

    def recheck() -> Plan:
        if planned.saved_plan is not None:
            again = RevisionStore(client, planned.stack).unfinished()
            if again is not None:
                _refuse_saved_plan(planned.stack, again)
        return _recheck(client, planned).plan

    outcome = locked_rollout(
        client,
        _release(planned, origin),
        recheck,
        options,
        LockSettings(
            lock_timeout=settings.lock_timeout,
            history_max=settings.history_max,
            resolve_image=settings.resolve_image,
        ),
        emit,
        warn,
    )
    if outcome is None:  # applied meanwhile
        return ApplyResult(ApplyOutcome(Outcome.APPLIED, (), 0.0))
    return ApplyResult(outcome, outcome.revision)


def _refuse_saved_plan(stack: str, unfinished: Any) -> None:
    raise StackctlError(
        f"stack {stack}: revision {unfinished.number} is {unfinished.outcome.value} (its "
        "apply never finished); a saved plan is not applied over it; nothing was changed",
        hint="apply the stack files again (or roll back), then save a new plan",
    )


def _options(
    planned: StackPlan, settings: ApplySettings, should_stop: Callable[[], bool] | None
) -> Any:
    """The runner's options, built once."""
    # lazy: every CLI command imports this module; each call loads only its own layers
    from stackctl.core.convert.rollout_inputs import dependencies_of, file_contents  # noqa: PLC0415

    source = planned.source
    if planned.revision is not None:
        dependencies: Mapping[str, Any] = planned.revision.dependencies
        contents: dict[str, bytes] = {}
    else:
        dependencies = dependencies_of(source, planned.stack) if source is not None else {}
        contents = file_contents(source, planned.desired) if source is not None else {}
    return ApplyOptions(
        on_failure=settings.on_failure,
        max_concurrent=settings.max_concurrent,
        timeout=settings.timeout,
        pending_timeout=settings.pending_timeout,
        detach=settings.detach,
        dependencies=dependencies,
        contents=contents,
        should_stop=should_stop or (lambda: False),
    )


def _release(planned: StackPlan, origin: GitOrigin | None = None) -> Any:
    """What the rollout's revision records: the files' desired state, or (a rollback)
    the target revision's content as "rollback to N"."""
    # lazy: every CLI command imports this module; each call loads only its own layers
    from stackctl.core.convert.rollout_inputs import dependencies_of  # noqa: PLC0415
    from stackctl.rollout.session import Release  # noqa: PLC0415

    revision = planned.revision
    if revision is not None:
        return Release(
            desired=revision.state,
            source_digest=revision.source_digest,
            rollback_to=revision.number,
            image_digests=revision.image_digests,
            dependencies=revision.dependencies,
        )
    source = planned.source
    return Release(
        desired=planned.desired,
        source_digest=source.source_digest if source is not None else None,
        dependencies=dependencies_of(source, planned.stack) if source is not None else {},
        git=origin,
    )


def rollback(
    client: EngineClient,
    stack: str,
    *,
    to: int | None = None,
    settings: ApplySettings | None = None,
    on_event: EventCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> ApplyResult:
    """Roll ``stack`` back to revision ``to`` (default: the last applied one before
    the current): ``apply(client, plan_rollback(client, stack, to=to), ...)``.
    Recorded as a new revision ("rollback to N")."""
    return apply(
        client,
        plan_rollback(client, stack, to=to),
        settings=settings,
        on_event=on_event,
        should_stop=should_stop,
    )


def _check_name(stack: str) -> None:
    """A stack name the engine would refuse: ``StackctlError`` before anything is read."""
    # lazy: every CLI command imports this module; each call loads only its own layers
    from stackctl.core.validate.stack_name import check_stack_name  # noqa: PLC0415

    check_stack_name(stack)


def _ignore(event: Event) -> None:
    del event


def _recheck(client: EngineClient, approved: StackPlan) -> StackPlan:
    """``approved`` planned again under the lock; StalePlanError when its changes moved."""
    # lazy: every CLI command imports this module; each call loads only its own layers
    from stackctl.engine.planning import plan_signature  # noqa: PLC0415

    if approved.revision is not None:
        # lazy: every CLI command imports this module; each call loads only its own layers
        from stackctl.engine.revision_plans import plan_against_revision, require_restorable  # noqa: PLC0415

        again = plan_against_revision(
            client, approved.revision, prune=True, last_applied=approved.last_applied
        )
        require_restorable(again)
        fresh = StackPlan(
            approved.stack,
            again.plan,
            again.desired,
            again.live,
            revision=approved.revision,
            last_applied=approved.last_applied,
        )
    else:
        # lazy: every CLI command imports this module; each call loads only its own layers
        from stackctl.engine.images import pinned_like  # noqa: PLC0415

        fresh = plan(
            client,
            approved.stack,
            approved.source if approved.source is not None else approved.desired,
            prune=approved.plan.prune,
            saved_plan=approved.saved_plan,
            resolve=pinned_like(approved.desired),  # the digests that were approved
        )
    if approved.saved_plan is not None or not fresh.has_changes:
        return fresh  # a saved plan was checked against the cluster again; or applied meanwhile
    if plan_signature(fresh.plan) != plan_signature(approved.plan):
        raise StalePlanError(
            f"stack {approved.stack} changed in the cluster since the plan was made; "
            "nothing was applied",
            hint="plan again to see (and approve) the current changes",
        )
    return fresh  # same changes, with the version indexes as of now


# --- history and status --------------------------------------------------------------


@dataclass(frozen=True)
class History:
    """A stack's revisions, oldest first, and the number of the one running now."""

    revisions: tuple[RevisionSummary, ...]
    current: int | None


def history(client: EngineClient, stack: str) -> History:
    """The revisions recorded in the cluster for ``stack`` (empty when none)."""
    _check_name(stack)
    # lazy: every CLI command imports this module; each call loads only its own layers
    from stackctl.engine.revisions import RevisionStore  # noqa: PLC0415

    summaries = tuple(RevisionStore(client, stack).list())
    return History(summaries, current_number((s.number, s.outcome) for s in summaries))


@dataclass(frozen=True)
class Interrupted:
    """The current revision's apply never finished (killed or stopped), or runs now.

    ``live`` says how much of the revision the live stack runs: ``full``,
    ``partial`` or ``none`` (still the ``previous`` applied revision).
    ``not_rolled_out``: resources still as stackctl wrote them before (or not
    created yet). Drift excludes them: only what matches none of stackctl's own
    writes was changed outside stackctl.
    """

    revision: int
    started_at: Any  # datetime or None
    who: str
    running: bool  # an apply holding the stack lock runs it now
    live: str
    not_rolled_out: tuple[str, ...]
    previous: int | None  # the applied revision before it


@dataclass(frozen=True)
class StackStatus:
    """What runs now, against the revision that was last applied."""

    stack: str
    revision: int | None  # the current revision (None: none recorded)
    outcome: RevisionOutcome | None  # how that revision's apply ended
    created_at: Any  # datetime of that revision, or None
    who: str | None
    drifted: tuple[str, ...] | None  # resources that differ from it; None: no revision
    orphans: tuple[str, ...]  # left by an apply without prune: known, so not drift
    services: tuple[LiveService, ...]
    interrupted: Interrupted | None = None  # the current revision's apply never finished
    # the current revision finished the rollout of this interrupted revision (same release)
    completes: int | None = None

    @property
    def drift(self) -> bool | None:
        return None if self.drifted is None else bool(self.drifted)


def status(client: EngineClient, stack: str) -> StackStatus:
    """Per service replicas, health, update state and image, plus the current
    revision and what drifted from it. ``StackctlError`` when the stack has neither
    services nor revisions."""
    _check_name(stack)
    # lazy: every CLI command imports this module; each call loads only its own layers
    from stackctl.core.plan.hooks import is_rerun  # noqa: PLC0415
    from stackctl.engine.revision_plans import plan_against_revision  # noqa: PLC0415
    from stackctl.engine.revisions import RevisionStore  # noqa: PLC0415
    from stackctl.engine.stacks import service_statuses  # noqa: PLC0415

    services = tuple(service_statuses(client, stack))
    store = RevisionStore(client, stack)
    summaries = tuple(store.list())
    recorded = History(summaries, current_number((s.number, s.outcome) for s in summaries))
    if not services and not recorded.revisions:
        raise StackctlError(
            f"stack {stack} not found (no services and no recorded revisions)",
            hint="`stackctl ls` lists the stacks in this cluster",
        )
    drifted: tuple[str, ...] | None = None
    orphans: tuple[str, ...] = ()
    if recorded.current is not None:
        revision = store.get(recorded.current)
        # Orphans (left by an apply without --prune) are listed apart: stackctl left
        # them knowingly, so they are not drift.
        result = plan_against_revision(client, revision, prune=False, last_applied=revision.state)
        changes = result.plan.changes
        changed = {
            c.name
            for c in changes
            if c.effect not in (Effect.NONE, Effect.ORPHAN) and not is_rerun(c)
        }  # a job that would only run again (a release hook) did not drift
        drifted = tuple(sorted(changed | set(result.missing)))
        orphans = tuple(sorted(c.name for c in changes if c.effect is Effect.ORPHAN))
    summary = next((s for s in recorded.revisions if s.number == recorded.current), None)
    cut: Interrupted | None = None
    if (
        summary is not None
        and drifted is not None
        and summary.outcome
        and summary.outcome.unfinished
    ):
        cut, drifted = _interrupted(client, store, summaries, summary, drifted)
    return StackStatus(
        stack=stack,
        revision=recorded.current,
        outcome=summary.outcome if summary else None,
        created_at=summary.created_at if summary else None,
        who=summary.who if summary else None,
        drifted=drifted,
        orphans=orphans,
        services=services,
        interrupted=cut,
        completes=summary.completes if summary else None,
    )


def _interrupted(
    client: EngineClient, store: Any, summaries: Sequence[Any], summary: Any, differs: Sequence[str]
) -> tuple[Interrupted, tuple[str, ...]]:
    """How far an unfinished apply got, and the real drift.

    Live differing from the unfinished revision is not drift when it still matches
    what stackctl wrote before: the last applied revision, or an interrupted apply
    since then (that part was not rolled out yet), or when the revision was about to
    create it. Only what matches none of them was changed outside stackctl.
    """
    # lazy: every CLI command imports this module; each call loads only its own layers
    from stackctl.core.history.basis import matching_resources  # noqa: PLC0415
    from stackctl.engine.observe import observe_stack  # noqa: PLC0415

    kinds = tuple(ResourceKind)
    earlier = [
        s.number
        for s in summaries
        if s.number < summary.number and s.outcome is RevisionOutcome.APPLIED
    ]
    previous = earlier[-1] if earlier else None
    since = [
        s.number
        for s in summaries
        if (previous or 0) < s.number < summary.number and s.outcome and s.outcome.unfinished
    ]
    live = observe_stack(client, store.stack)
    matched: set[str] = set()
    known: set[str] = set()  # what stackctl had written before this revision
    previous_complete = False
    for number in ([previous] if previous is not None else []) + since:
        state = store.get(number).state
        names = {name for _, name in matching_resources(state, live)}
        if number == previous:
            previous_complete = len(names) == sum(len(state.of_kind(k)) for k in kinds)
        matched |= names
        known |= {name for kind in kinds for name in state.of_kind(kind)}
    to_create = {
        name
        for name in differs
        if name not in known and all(name not in live.of_kind(k) for k in kinds)
    }
    drifted = tuple(sorted(set(differs) - matched - to_create))
    pending = tuple(sorted((set(differs) & matched) | to_create))
    if not differs:
        how = "full"
    elif previous_complete and not drifted:
        how = "none"
    else:
        how = "partial"
    cut = Interrupted(
        revision=summary.number,
        started_at=summary.created_at,
        who=summary.who,
        running=summary.outcome is RevisionOutcome.IN_PROGRESS,
        live=how,
        not_rolled_out=pending,
        previous=previous,
    )
    return cut, drifted
