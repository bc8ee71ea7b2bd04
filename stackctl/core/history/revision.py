"""Revisions: what was applied to a stack, by whom, from what, and how it ended.

A revision is the durable record of one apply (or rollback). It holds the
*desired* ``ClusterState`` as it was applied (comparable specs: content-addressed
config/secret names and content hashes, never payloads; sensitive env values
sealed as digests, ``stackctl.core.history.sealed_env``), so a later rollback can plan
against the live cluster with nothing but the cluster itself as input.

This module is pure: the clock, the user, the host and the environment are passed
in. Storage (as Swarm configs) lives in ``stackctl.engine.revisions``.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from stackctl.core.history.sealed_env import seal_service_spec
from stackctl.core.model.model import DependsOn, FileObject
from stackctl.core.model.state import ClusterState, ResourceKind, ResourceState
from stackctl.core.plan.plan_model import Effect, Plan, ResourceChange
from stackctl.errors import ExitCode, StackctlError

REVISION_API_VERSION = "stackctl/v1"
REVISION_KIND = "Revision"

# Environment variables copied into a revision's "who", per CI system. Only ids,
# commits and refs: never tokens or anything else from the environment.
CI_ENV_KEYS: tuple[str, ...] = (
    "GITHUB_RUN_ID",
    "GITHUB_SHA",
    "GITHUB_REF",
    "GITHUB_REPOSITORY",
    "CI_PIPELINE_ID",
    "CI_COMMIT_SHA",
    "CI_COMMIT_REF_NAME",
    "CI",
)


class Outcome(StrEnum):
    """How an apply (or rollback) ended: the one outcome type of the rollout, its
    final event, its exit code and its revision."""

    APPLIED = "applied"  # converged: the cluster runs this revision
    SUBMITTED = "submitted"  # --detach: submitted, convergence not awaited
    ROLLED_BACK = "rolled_back"  # failed; the cluster went back to what ran before
    PAUSED = "paused"  # failed; left paused (on-failure pause)
    FAILED = "failed"  # failed; left partially applied (on-failure continue, rollback failed)
    TIMED_OUT = "timed_out"  # submitted but did not converge in time
    INTERRUPTED = "interrupted"  # stopped part way (a signal, or killed: never finished)
    NOT_APPLIED = "not_applied"  # failed before anything was written (never recorded)
    # Write-ahead: recorded before the first write, replaced by one of the above when
    # the rollout ends. Read back while no live apply holds the stack lock, it means
    # the apply died part way, and readers report it as INTERRUPTED.
    IN_PROGRESS = "in_progress"

    @property
    def took_effect(self) -> bool:
        """Whether the cluster (at least partly) runs what this revision asked for."""
        return self not in (Outcome.ROLLED_BACK, Outcome.NOT_APPLIED)

    @property
    def unfinished(self) -> bool:
        """The rollout did not reach an end of its own: interrupted, or still running."""
        return self in (Outcome.INTERRUPTED, Outcome.IN_PROGRESS)

    @property
    def exit_code(self) -> ExitCode:
        return _EXIT_CODES[self]


_EXIT_CODES: dict[Outcome, ExitCode] = {
    Outcome.APPLIED: ExitCode.OK,
    Outcome.SUBMITTED: ExitCode.OK,
    Outcome.ROLLED_BACK: ExitCode.ROLLED_BACK,
    Outcome.PAUSED: ExitCode.FAILED,
    Outcome.FAILED: ExitCode.FAILED,
    Outcome.TIMED_OUT: ExitCode.TIMED_OUT,
    Outcome.INTERRUPTED: ExitCode.FAILED,
    Outcome.NOT_APPLIED: ExitCode.ERROR,
    Outcome.IN_PROGRESS: ExitCode.FAILED,
}


class UnsafeRevisionError(StackctlError):
    """A revision was about to carry raw config/secret content: refused."""


@dataclass(frozen=True)
class Actor:
    """Who made a revision: user@host, plus the CI run when there was one."""

    user: str
    host: str
    ci: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def describe(self) -> str:
        """Short human form: ``alice@box`` or ``ci@runner (github run 42 @ 1a2b3c4)``."""
        base = f"{self.user}@{self.host}"
        ci = self.ci
        if "GITHUB_RUN_ID" in ci:
            sha = ci.get("GITHUB_SHA", "")[:7]
            return f"{base} (github run {ci['GITHUB_RUN_ID']}" + (f" @ {sha})" if sha else ")")
        if "CI_PIPELINE_ID" in ci:
            sha = ci.get("CI_COMMIT_SHA", "")[:7]
            return f"{base} (gitlab pipeline {ci['CI_PIPELINE_ID']}" + (
                f" @ {sha})" if sha else ")"
            )
        if ci.get("CI"):
            return f"{base} (ci)"
        return base


def actor_from_env(env: Mapping[str, str], *, user: str, host: str) -> Actor:
    """The actor for this process: user and host given, CI context read from ``env``."""
    ci = {key: env[key] for key in CI_ENV_KEYS if env.get(key)}
    return Actor(user=user, host=host, ci=MappingProxyType(ci))


@dataclass(frozen=True)
class GitOrigin:
    """The git commit a revision was applied from (set by ``stackctl agent``)."""

    repo: str  # with any user:password removed
    commit: str  # full SHA
    ref: str  # the branch or ref followed
    files: tuple[str, ...]  # stack files, relative to the repository root

    def describe(self) -> str:
        """``git 1a2b3c4`` (history's SOURCE column)."""
        return f"git {self.commit[:7]}"

    def to_json(self) -> dict[str, Any]:
        files = list(self.files)
        return {"repo": self.repo, "commit": self.commit, "ref": self.ref, "files": files}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> GitOrigin:
        return cls(
            repo=str(data["repo"]),
            commit=str(data["commit"]),
            ref=str(data.get("ref", "")),
            files=tuple(str(f) for f in data.get("files") or ()),
        )


@dataclass(frozen=True)
class PlanSummary:
    """How many resources each effect touched: ``{"create": 1, "rolling": 2}``."""

    counts: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def from_plan(cls, plan: Plan) -> PlanSummary:
        counts: dict[str, int] = {}
        for change in plan.changes:
            # Orphans are reported, not written: they are not part of what changed.
            if change.effect not in (Effect.NONE, Effect.ORPHAN):
                counts[change.effect.value] = counts.get(change.effect.value, 0) + 1
        return cls(MappingProxyType(dict(sorted(counts.items()))))

    def describe(self) -> str:
        """``"1 create, 2 rolling"``, or ``"no changes"``."""
        if not self.counts:
            return "no changes"
        return ", ".join(f"{n} {effect}" for effect, n in self.counts.items())


@dataclass(frozen=True)
class Revision:
    """One recorded apply or rollback of a stack.

    ``number`` is 0 until the store allocates one (``RevisionStore.record``).
    """

    stack: str
    created_at: datetime  # timezone-aware, UTC
    actor: Actor
    state: ClusterState  # desired state as applied; never payloads
    outcome: Outcome
    number: int = 0
    source_digest: str | None = None
    plan_summary: PlanSummary = field(default_factory=PlanSummary)
    rollback_to: int | None = None  # set when this revision rolled the stack back to N
    note: str | None = None
    # Service name -> image reference the tasks actually ran ("repo:tag@sha256:..."),
    # where known; rollback can pin these.
    image_digests: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # Full service name -> its depends_on, so a rollback rolls out in the same waves
    # (engine specs have no place for depends_on).
    dependencies: Mapping[str, tuple[DependsOn, ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    git: GitOrigin | None = None  # the commit it came from, when applied from git
    # Set when this revision finished the rollout of interrupted revision N: the same
    # release (same desired state) applied again until it converged. Its plan summary
    # is then the release's (N's); ``note`` says what this run itself wrote.
    completes: int | None = None

    @property
    def object_names(self) -> frozenset[str]:
        """Names of the config and secret objects this revision's services need."""
        return frozenset(self.state.configs) | frozenset(self.state.secrets)

    def describe(self) -> str:
        """The change column of ``history``: plan summary plus any rollback note."""
        text = self.plan_summary.describe()
        if self.completes is not None:
            text = f"completes {self.completes}: {text}"
        if self.rollback_to is not None:
            text = f"rollback to {self.rollback_to}; {text}"
        if self.note:
            text = f"{text}; {self.note}"
        return text


def new_revision(
    *,
    desired: ClusterState,
    plan: Plan,
    outcome: Outcome,
    created_at: datetime,
    actor: Actor,
    source_digest: str | None = None,
    rollback_to: int | None = None,
    note: str | None = None,
    image_digests: Mapping[str, str] | None = None,
    dependencies: Mapping[str, tuple[DependsOn, ...]] | None = None,
    git: GitOrigin | None = None,
) -> Revision:
    """A revision for an apply of ``desired`` that executed ``plan`` and ended in ``outcome``."""
    return Revision(
        stack=desired.stack,
        created_at=created_at,
        actor=actor,
        state=desired,
        outcome=outcome,
        source_digest=source_digest,
        plan_summary=PlanSummary.from_plan(plan),
        rollback_to=rollback_to,
        note=note,
        image_digests=MappingProxyType(dict(sorted((image_digests or {}).items()))),
        dependencies=MappingProxyType(
            {name: tuple(deps) for name, deps in sorted((dependencies or {}).items()) if deps}
        ),
        git=git,
    )


def keep_retained_objects(
    plan: Plan, retained: Collection[str] | Mapping[str, Collection[int]]
) -> Plan:
    """``plan`` keeping the configs/secrets in ``retained``: never deleted, shown as kept.

    Superseded config/secret versions stay in the cluster on purpose while a
    retained revision names them: a rollback needs those exact objects, and
    stackctl cannot recreate content it never stored. So ``--prune`` does not
    delete them, and neither ``diff`` nor ``apply`` says it would: their change
    becomes an orphan (written by nobody) whose reason names why it stays. Pass
    ``RevisionStore.objects_needed()`` (name -> revision numbers) as ``retained``
    to name the revisions, or just the names.
    """

    def kept(change: ResourceChange) -> ResourceChange:
        if not (
            change.kind in (ResourceKind.CONFIG, ResourceKind.SECRET)
            and change.effect in (Effect.DELETE, Effect.ORPHAN)
            and change.name in retained
        ):
            return change
        numbers = sorted(retained[change.name]) if isinstance(retained, Mapping) else []
        return replace(change, effect=Effect.ORPHAN, reason=kept_reason(numbers))

    return replace(plan, changes=tuple(kept(change) for change in plan.changes))


def kept_reason(numbers: Collection[int]) -> str:
    """Why a config/secret the files dropped stays: ``kept for rollback: revision 2 needs it``."""
    if not numbers:
        return "kept for rollback: a retained revision needs it"
    if len(numbers) == 1:
        return f"kept for rollback: revision {next(iter(numbers))} needs it"
    return f"kept for rollback: revisions {', '.join(map(str, sorted(numbers)))} need it"


def same_release(revision: Revision, desired: ClusterState) -> bool:
    """Whether applying ``desired`` applies ``revision``'s release again: the same
    desired state as stored (content-addressed objects, sealed values: one form)."""
    try:
        return state_to_json(desired) == state_to_json(revision.state)
    except UnsafeRevisionError:
        return False


def completing(revision: Revision, unfinished: Revision) -> Revision:
    """``revision`` (a re-run of ``unfinished``'s release) recorded as completing it.

    The change column then describes the release, as ``unfinished`` recorded it
    (``completes 2: 1 create, 2 rolling``), not what was left for the re-run to write
    (often nothing: the killed apply had written it all); the note says that part.
    """
    own = revision.plan_summary
    left = own.describe() if own.counts else "nothing left to write"
    return replace(
        revision,
        completes=unfinished.number,
        plan_summary=unfinished.plan_summary,
        note=f"this run: {left}",
    )


def with_number(revision: Revision, number: int) -> Revision:
    return replace(revision, number=number)


# --- serialization ----------------------------------------------------------


def _plain(value: Any, where: str) -> Any:
    """Deep copy into JSON data, refusing anything that could be raw file content."""
    if isinstance(value, FileObject):
        raise UnsafeRevisionError(f"refusing to store a config/secret object at {where}")
    if isinstance(value, bytes | bytearray | memoryview):
        raise UnsafeRevisionError(f"refusing to store raw bytes at {where}")
    if isinstance(value, Mapping):
        return {str(k): _plain(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise UnsafeRevisionError(f"cannot store a {type(value).__name__} at {where}")


def _resource_to_json(resource: ResourceState) -> dict[str, Any]:
    where = f"{resource.kind.value}s.{resource.name}"
    if resource.kind in (ResourceKind.CONFIG, ResourceKind.SECRET) and "Data" in resource.spec:
        # Payloads identify themselves by content hash; the value itself never goes in.
        raise UnsafeRevisionError(f"refusing to store the Data of {where}")
    spec = resource.spec
    if resource.kind is ResourceKind.SERVICE:
        # Sensitive env values are stored as digests only (stackctl.core.history.sealed_env).
        spec = seal_service_spec(resource.name, spec)
    return {
        "kind": resource.kind.value,
        "name": resource.name,
        "spec": _plain(spec, f"{where}.spec"),
        "content_sha256": resource.content_sha256,
        "external": resource.external,
    }


def _resource_from_json(data: Mapping[str, Any]) -> ResourceState:
    return ResourceState(
        kind=ResourceKind(data["kind"]),
        name=data["name"],
        spec=data["spec"],
        content_sha256=data.get("content_sha256"),
        external=bool(data.get("external", False)),
    )


def state_to_json(state: ClusterState) -> dict[str, Any]:
    return {
        "stack": state.stack,
        "resources": [
            _resource_to_json(resource)
            for kind in (
                ResourceKind.NETWORK,
                ResourceKind.CONFIG,
                ResourceKind.SECRET,
                ResourceKind.SERVICE,
            )
            for _, resource in sorted(state.of_kind(kind).items())
        ],
    }


def state_from_json(data: Mapping[str, Any]) -> ClusterState:
    by_kind: dict[ResourceKind, dict[str, ResourceState]] = {kind: {} for kind in ResourceKind}
    for item in data.get("resources", []):
        resource = _resource_from_json(item)
        by_kind[resource.kind][resource.name] = resource
    return ClusterState(
        stack=data["stack"],
        networks=MappingProxyType(by_kind[ResourceKind.NETWORK]),
        configs=MappingProxyType(by_kind[ResourceKind.CONFIG]),
        secrets=MappingProxyType(by_kind[ResourceKind.SECRET]),
        services=MappingProxyType(by_kind[ResourceKind.SERVICE]),
    )


def revision_to_json(revision: Revision) -> dict[str, Any]:
    """The versioned JSON document of a revision (``apiVersion``/``kind`` first)."""
    return {
        "apiVersion": REVISION_API_VERSION,
        "kind": REVISION_KIND,
        "number": revision.number,
        "stack": revision.stack,
        "createdAt": revision.created_at.isoformat(),
        "who": {
            "user": revision.actor.user,
            "host": revision.actor.host,
            "ci": dict(revision.actor.ci),
        },
        "sourceDigest": revision.source_digest,
        "outcome": revision.outcome.value,
        "planSummary": dict(revision.plan_summary.counts),
        "rollbackTo": revision.rollback_to,
        "note": revision.note,
        "imageDigests": dict(revision.image_digests),
        "dependsOn": {
            name: [{"service": d.service, "condition": d.condition} for d in deps]
            for name, deps in revision.dependencies.items()
        },
        "objects": sorted(revision.object_names),
        "git": revision.git.to_json() if revision.git else None,
        "completes": revision.completes,
        "state": state_to_json(revision.state),
    }


class RevisionFormatError(StackctlError):
    """A stored revision could not be read."""


def revision_from_json(data: Mapping[str, Any]) -> Revision:
    """Parse a revision document; raises ``RevisionFormatError`` when it is not one."""
    if data.get("apiVersion") != REVISION_API_VERSION or data.get("kind") != REVISION_KIND:
        raise RevisionFormatError(
            f"not a {REVISION_API_VERSION} {REVISION_KIND} document "
            f"(apiVersion={data.get('apiVersion')!r}, kind={data.get('kind')!r})",
            hint="it may have been written by a newer stackctl; upgrade stackctl",
        )
    try:
        who = data["who"]
        return Revision(
            number=int(data["number"]),
            stack=str(data["stack"]),
            created_at=datetime.fromisoformat(data["createdAt"]),
            actor=Actor(
                user=str(who["user"]),
                host=str(who["host"]),
                ci=MappingProxyType(dict(who.get("ci") or {})),
            ),
            source_digest=data.get("sourceDigest"),
            outcome=Outcome(data["outcome"]),
            plan_summary=PlanSummary(MappingProxyType(dict(data.get("planSummary") or {}))),
            rollback_to=data.get("rollbackTo"),
            note=data.get("note"),
            image_digests=MappingProxyType(dict(data.get("imageDigests") or {})),
            dependencies=MappingProxyType(
                {
                    str(name): tuple(
                        DependsOn(service=str(d["service"]), condition=str(d["condition"]))
                        for d in deps
                    )
                    for name, deps in (data.get("dependsOn") or {}).items()
                }
            ),
            state=state_from_json(data["state"]),
            git=GitOrigin.from_json(data["git"]) if data.get("git") else None,
            # absent from revisions recorded before it existed
            completes=int(data["completes"]) if data.get("completes") is not None else None,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise RevisionFormatError(f"malformed revision document: {exc}") from exc


def encode_revision(revision: Revision) -> bytes:
    """Compact JSON, gzip-compressed (specs compress ~10x; configs hold < 1 MB)."""
    text = json.dumps(revision_to_json(revision), separators=(",", ":"), sort_keys=False)
    # mtime=0 keeps the bytes a pure function of the revision.
    return gzip.compress(text.encode("utf-8"), mtime=0)


def decode_revision(payload: bytes) -> Revision:
    """Inverse of ``encode_revision``; also accepts uncompressed JSON."""
    try:
        raw = gzip.decompress(payload) if payload[:2] == b"\x1f\x8b" else payload
        data = json.loads(raw.decode("utf-8"))
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RevisionFormatError(f"stored revision is not readable: {exc}") from exc
    if not isinstance(data, dict):
        raise RevisionFormatError("stored revision is not a JSON object")
    return revision_from_json(data)


# --- which revision is current, and where rollback goes ----------------------


def current_number(entries: Iterable[tuple[int, Outcome | None]]) -> int | None:
    """The revision the cluster runs: the newest one whose changes were not undone.

    ``entries`` are ``(number, outcome)`` pairs in any order. A failed apply that
    rolled itself back left the previous revision running, so it is skipped.
    """
    numbers = [n for n, outcome in entries if outcome is not None and outcome.took_effect]
    return max(numbers, default=None)


def default_rollback_target(entries: Iterable[tuple[int, Outcome | None]]) -> int | None:
    """Where ``rollback`` goes without ``--to``: the last applied revision before the current."""
    pairs = list(entries)
    current = current_number(pairs)
    if current is None:
        return None
    earlier = [n for n, outcome in pairs if outcome is Outcome.APPLIED and n < current]
    return max(earlier, default=None)


# --- rollback support -------------------------------------------------------


def state_for_rollback(
    revision: Revision, *, live_digests: Mapping[str, str] | None = None
) -> ClusterState:
    """The desired state to re-apply ``revision``.

    Services whose image digest was recorded get that exact reference in their
    spec (Swarm then runs the very same image), unless ``live_digests`` (service
    name -> ``sha256:...`` the live spec is pinned to, as observe reports it)
    shows it already runs that digest: observe compares images as declared, so
    re-pinning an identical digest would be a spurious update. The declared image
    stays in the ``com.docker.stack.image`` label as convert put it.
    """
    state = revision.state
    if not revision.image_digests:
        return state
    running = live_digests or {}
    services: dict[str, ResourceState] = {}
    for name, service in state.services.items():
        pinned = revision.image_digests.get(name, "")
        # Only a registry digest pins anything; a bare tag would just restate the spec.
        digest = pinned.partition("@")[2]
        if digest.startswith("sha256:") and running.get(name) != digest:
            service = _with_image(service, pinned)
        services[name] = service
    return replace(state, services=MappingProxyType(services))


def _with_image(service: ResourceState, image: str) -> ResourceState:
    spec = json.loads(json.dumps(_plain(service.spec, service.name)))
    container = spec.get("TaskTemplate", {}).get("ContainerSpec")
    if not isinstance(container, dict):
        return service
    container["Image"] = image
    return replace(service, spec=spec)


def revisions_needing(revisions: Iterable[Revision]) -> frozenset[str]:
    """Every config/secret object name any of ``revisions`` needs."""
    return frozenset(objects_needed_by(revisions))


def objects_needed_by(revisions: Iterable[Revision]) -> dict[str, tuple[int, ...]]:
    """Each config/secret object name ``revisions`` need, with the numbers of those
    that need it."""
    needed: dict[str, list[int]] = {}
    for revision in revisions:
        # An apply that never finished does not hold its objects back from cleanup:
        # the next apply supersedes it (``rollback --to`` it works while they exist).
        if not revision.outcome.unfinished:
            for name in revision.object_names:
                needed.setdefault(name, []).append(revision.number)
    return {name: tuple(sorted(numbers)) for name, numbers in sorted(needed.items())}
