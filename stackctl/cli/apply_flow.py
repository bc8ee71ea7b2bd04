"""The steps of ``stackctl apply``, in order, kept out of the typer command.

load -> convert -> observe -> plan -> show -> (nothing to do: exit 0, no
writes, no lock) -> confirm -> lock -> re-observe and check the plan still
holds -> run_apply -> record a revision -> remove superseded configs/secrets
-> summary -> exit code.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import typer

from stackctl.cli.common import format_findings, use_color
from stackctl.cli.stack_views import connect
from stackctl.cli.stackfile_options import load_from_cli
from stackctl.core.convert.convert import convert_stack
from stackctl.core.convert.rollout_inputs import dependencies_of, file_contents
from stackctl.core.load.source_map import SourceMap
from stackctl.core.model.model import Stack
from stackctl.core.model.state import ClusterState
from stackctl.core.plan.compose_words import locate_plan
from stackctl.core.plan.hooks import with_hook_runs
from stackctl.core.plan.placement import refuse_placement_errors
from stackctl.core.plan.plan_model import Plan
from stackctl.core.render.render_json import plan_to_json
from stackctl.core.render.render_text import render_text
from stackctl.engine.client import EngineClient
from stackctl.engine.images import ImageResolver, pinned_like
from stackctl.engine.planning import (
    checked_saved_plan,
    plan_against_cluster,
    plan_signature,
    without_protected_deletes,
    without_superseded_deletes,
)
from stackctl.engine.registry_auth import no_registry_auth, registry_auth_from_config
from stackctl.engine.revisions import RevisionStore
from stackctl.errors import StackctlError, UserAbort
from stackctl.rollout.policy import FailurePolicy

if TYPE_CHECKING:
    from stackctl.engine.planning import ClusterPlan
    from stackctl.rollout.options import ApplyOutcome

# Re-exported: the apply steps and their tests name them here.
__all__ = [
    "ApplyRequest",
    "dependencies_of",
    "file_contents",
    "plan_signature",
    "without_superseded_deletes",
]


@dataclass(frozen=True)
class ApplyRequest:
    stack: str
    files: tuple[str, ...] = ()
    env_files: tuple[str, ...] = ()
    age_identities: tuple[str, ...] = ()
    profiles: tuple[str, ...] = ()
    yes: bool = False
    plan_file: str | None = None
    prune: bool = False
    on_failure: str = "rollback"
    max_concurrent: int | None = None
    timeout: float = 600.0
    pending_timeout: float = 120.0
    lock_timeout: float = 0.0
    detach: bool = False
    resolve_image: str = "always"  # docker stack deploy's default
    with_registry_auth: bool = False
    history_max: int = 10  # revisions kept; older ones are deleted when this apply records
    as_json: bool = False
    no_color: bool = False
    context: str | None = None
    placement: str = "enforce"  # enforce | warn: what placement errors do (docs/placement.md)
    # sees the rollout's outcome when one ran (``apply --notify`` reports it)
    on_outcome: Callable[[ApplyOutcome], None] | None = None


class _Session:
    """One apply run: holds the client and what was loaded/observed."""

    def __init__(self, request: ApplyRequest, out: Callable[[str], None]) -> None:
        self.request = request
        self.out = out
        self._client: EngineClient | None = None
        self.image_locations: dict[str, Any] = {}
        self._registry_auth: Callable[[str], str | None] | None = None
        self.source_map: SourceMap | None = None  # where each key was written, for the plan
        self.dependencies: dict[str, Any] = {}  # depends_on, for the release hooks

    @property
    def client(self) -> EngineClient:
        """The engine connection; ``run_apply_command`` connects before any step uses it."""
        if self._client is None:
            raise RuntimeError("apply session used before connecting")
        return self._client

    @client.setter
    def client(self, value: EngineClient) -> None:
        self._client = value

    @property
    def registry_auth(self) -> Callable[[str], str | None]:
        """Credentials for the deploy's requests, read once (--with-registry-auth)."""
        if self._registry_auth is None:
            self._registry_auth = (
                registry_auth_from_config() if self.request.with_registry_auth else no_registry_auth
            )
        return self._registry_auth

    def load(self) -> tuple[Stack, ClusterState]:
        loaded = load_from_cli(
            list(self.request.files),
            list(self.request.env_files),
            identities=self.request.age_identities,
            stack_name=self.request.stack,
            profiles=self.request.profiles,
        )
        for line in format_findings(loaded.findings):
            typer.echo(line, err=True)
        self.image_locations = dict(loaded.image_locations)
        self.source_map = loaded.source_map
        self.dependencies = dependencies_of(loaded.stack, self.request.stack)
        return loaded.stack, convert_stack(loaded.stack, self.request.stack)

    def resolve_images(self, desired: ClusterState, live: ClusterState) -> ClusterState:
        """Pin images to registry digests per --resolve-image, before anything is planned."""

        resolver = ImageResolver(
            self.client,
            self.request.resolve_image,
            registry_auth=self.registry_auth,
            locations=self.image_locations,
            warn=lambda message: typer.echo(message, err=True),
        )
        return resolver.resolve(desired, live)

    def observe_and_plan(self, desired: ClusterState) -> tuple[ClusterState, Plan]:
        """Plan the already resolved ``desired`` again (the re-check under the lock):
        the digests that were shown and approved stay; no registry is asked twice."""

        planned = plan_against_cluster(
            self.client,
            desired,
            prune=self.request.prune,
            resolve=pinned_like(desired),
            dependencies=self.dependencies,
        )
        return planned.live, planned.plan

    def plan_cluster(self, desired: ClusterState) -> ClusterPlan:
        """Observe, resolve image digests (``--resolve-image``), plan."""

        return plan_against_cluster(
            self.client,
            desired,
            prune=self.request.prune,
            resolve=self.resolve_images,
            dependencies=self.dependencies,
        )

    def saved_plan(self, desired: ClusterState, live: ClusterState) -> Plan:
        """The plan saved by ``diff --out``, if it still holds for these files and this cluster."""

        assert self.request.plan_file is not None
        try:
            with open(self.request.plan_file, encoding="utf-8") as handle:
                text = handle.read()
        except OSError as error:
            raise StackctlError(
                f"cannot read the plan {self.request.plan_file}: {error.strerror}"
            ) from None

        plan = with_hook_runs(
            checked_saved_plan(text, desired, live), desired, live, self.dependencies
        )
        return without_protected_deletes(self.client, plan, desired)

    def show_plan(self, plan: Plan) -> None:
        """Show the plan; then refuse (exit 1, nothing written) when the placement
        preflight found errors (docs/placement.md)."""

        if self.source_map is not None:
            plan = locate_plan(plan, self.source_map)
        if self.request.as_json:
            self.out(json.dumps({"event": "plan", "plan": _plan_json(plan)}, sort_keys=True))
        else:
            self.out(_plan_text(plan, no_color=self.request.no_color))
        if self.request.placement == "warn" and plan.errors:
            typer.echo(
                f"stackctl: warning: --placement warn: applying despite {len(plan.errors)} "
                "placement error(s); tasks that no node can run stay pending",
                err=True,
            )
            return
        refuse_placement_errors(plan)

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
    return render_text(plan, color=use_color(no_color))


def _plan_json(plan: Plan) -> Any:
    return plan_to_json(plan)


def failure_policy(value: str) -> FailurePolicy:
    """The ``--on-failure`` value of apply and rollback, or a plain error."""

    try:
        return FailurePolicy(value)
    except ValueError:
        raise StackctlError(
            f"--on-failure must be rollback, pause or continue, not {value!r}"
        ) from None


def _unfinished_revision(session: _Session) -> Any:
    try:
        return RevisionStore(session.client, session.request.stack).unfinished()
    except StackctlError:
        return None  # history unreadable: a no-op stays a no-op


def run_apply_command(request: ApplyRequest, out: Callable[[str], None] | None = None) -> int:
    """Run ``stackctl apply``; return the exit code (StackctlError propagates: exit 1)."""

    write = out or (lambda line: typer.echo(line))
    policy = failure_policy(request.on_failure)
    if request.resolve_image not in ("always", "changed", "never"):
        raise StackctlError(
            f"--resolve-image must be always, changed or never, not {request.resolve_image!r}"
        )
    session = _Session(request, write)
    stack, desired = session.load()
    session.client = connect(request.context)
    # the planned desired state: image digests resolved, docker-named configs adopted
    planned = session.plan_cluster(desired)
    live, plan, desired = planned.live, planned.plan, planned.desired
    if request.plan_file:
        from stackctl.cli.apply_run import refuse_saved_plan_over_interrupted  # noqa: PLC0415 - see _locked_rollout

        refuse_saved_plan_over_interrupted(session.client, request)
        # the same files and cluster: the fresh plan's placement findings hold for it
        plan = replace(session.saved_plan(desired, live), findings=plan.findings)
    session.show_plan(plan)

    if not plan.has_changes:  # the rendered plan already says so; nothing written, no lock
        unfinished = _unfinished_revision(session)
        if unfinished is not None:
            # the cluster runs the file, but history still says an apply was cut
            # short: under the lock, see its services converge, then record it
            if not request.as_json:
                write(
                    f"stack {request.stack}: revision {unfinished.number} never finished; "
                    "waiting for its services to converge, then recording the release."
                )
            session.confirm()
            return _locked_rollout(session, stack, desired, plan, policy)
        if plan.in_progress and not request.detach:
            from stackctl.cli.apply_run import wait_for_swarm  # noqa: PLC0415 - see _locked_rollout

            return wait_for_swarm(session, stack, desired, plan, policy)
        return 0
    session.confirm()

    return _locked_rollout(session, stack, desired, plan, policy)


def _locked_rollout(
    session: _Session, stack: Stack, desired: ClusterState, plan: Plan, policy: FailurePolicy
) -> int:
    """``apply_run.locked_rollout``. ``apply_run`` is imported only when the apply
    writes or watches: a no-op apply (the most frequent run, in every pipeline)
    never loads the rollout runner, its event view and rich."""
    from stackctl.cli.apply_run import locked_rollout  # noqa: PLC0415 - start-up of a no-op apply

    return locked_rollout(session, stack, desired, plan, policy)
