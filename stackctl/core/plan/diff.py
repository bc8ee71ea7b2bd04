"""Desired vs live, per resource and per field: the plan.

``plan_changes`` is pure and deterministic: changes are sorted by
``APPLY_ORDER`` then name, fields by path. Specs are compared as diff trees
(``stackctl.core.plan.diff_tree``: list items matched by identity, engine defaults and
noise removed) field by field; ``stackctl.core.plan.effects`` says what each change
costs; env values with sensitive names are redacted before they enter the plan.

Each changed field is also named by the stack-file key that writes it
(``stackctl.core.plan.compose_words``): renderers show ``services.web.image``,
not ``TaskTemplate.ContainerSpec.Image``, unless asked for engine paths.

Three-way drift: with ``last_applied`` (the desired state recorded by the last
apply), a field whose live value differs from the recorded one was changed behind
stackctl's back (``docker service scale``, ``docker service update --env-add``),
and a recorded resource missing from the cluster was removed behind its back; both
are marked ``drift``.

A service whose spec already matches while Swarm is still rolling it out is no
change; the plan lists it in ``in_progress`` (apply waits for it). One whose
update Swarm *paused* is a change: submitting the spec again resumes it.

External resources are never created, updated or deleted. One that the file
declares but the cluster lacks makes the plan impossible: ``plan_changes`` raises
``MissingExternalError`` naming all of them, so ``diff`` and ``apply`` stop with
exit code 1 before anything is written.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

from stackctl.core.convert.adopt import secret_rename_reasons
from stackctl.core.convert.comparable import align_live_to_desired
from stackctl.core.convert.pinning import DIGEST_FIELD, pinned_digest, unpinned
from stackctl.core.history.sealed_env import restore_sealed
from stackctl.core.model.state import (
    APPLY_ORDER,
    LABEL_IMAGE,
    LABEL_LOGICAL_NAME,
    SWARM_BUSY_STATES,
    SWARM_PAUSED_STATES,
    ClusterState,
    ResourceKind,
    ResourceState,
)
from stackctl.core.plan.compose_words import in_compose_words
from stackctl.core.plan.diff_tree import Tree, diff_tree, join_path
from stackctl.core.plan.effects import classify_object, classify_service, costlier
from stackctl.core.plan.ownership import keep_fields_left_to_others
from stackctl.core.plan.plan_model import (
    NOT_IN_FILES,
    SENSITIVE,
    Effect,
    FieldChange,
    FieldOp,
    Plan,
    ResourceChange,
)
from stackctl.core.render.redact import is_sensitive_path, sensitive_env_names
from stackctl.errors import StackctlError

Keys = tuple[str, ...]
_ABSENT = object()


class MissingExternalError(StackctlError):
    """Resources the file declares ``external`` do not exist in the cluster."""


def plan_changes(
    desired: ClusterState,
    live: ClusterState,
    *,
    last_applied: ClusterState | None = None,
    prune: bool = False,
) -> Plan:
    """The changes that make ``live`` match ``desired`` (see the module docstring)."""
    live = align_live_to_desired(desired, live)
    # States read from revisions hold sensitive env values sealed; compare real values.
    desired = restore_sealed(desired, live)
    # Fields the file leaves to others (x-stackctl.ignore_changes) take their live value.
    desired = keep_fields_left_to_others(desired, live)
    if last_applied is not None:
        last_applied = restore_sealed(last_applied, live)
    _require_externals(desired, live)
    changes: dict[tuple[ResourceKind, str], ResourceChange] = {}
    for kind in APPLY_ORDER:
        wanted, present = desired.of_kind(kind), live.of_kind(kind)
        recorded = last_applied.of_kind(kind) if last_applied is not None else None
        for name in sorted(set(wanted) | set(present)):
            if name not in wanted and _is_kept_version(present[name], wanted):
                continue
            change = _resource_change(
                kind,
                name,
                wanted.get(name),
                present.get(name),
                recorded.get(name) if recorded is not None else None,
                tracked=recorded is not None,
                prune=prune,
            )
            if change is not None:
                changes[(kind, name)] = change
    _roll_dependents(desired, live, changes)
    for name, reason in secret_rename_reasons(desired, live).items():
        created = changes.get((ResourceKind.SECRET, name))
        if created is not None and created.reason is None:
            changes[(ResourceKind.SECRET, name)] = replace(created, reason=reason)
    order = {kind: i for i, kind in enumerate(APPLY_ORDER)}
    ordered = [
        in_compose_words(c, desired.stack)
        for c in sorted(changes.values(), key=lambda c: (order[c.kind], c.name))
    ]
    busy = tuple(
        name
        for name, service in sorted(live.services.items())
        if name in desired.services
        and (ResourceKind.SERVICE, name) not in changes
        and (service.status.get("UpdateStatus") or {}).get("State") in SWARM_BUSY_STATES
    )
    return Plan(stack=desired.stack, changes=tuple(ordered), prune=prune, in_progress=busy)


def _is_kept_version(have: ResourceState, wanted: Mapping[str, ResourceState]) -> bool:
    """An earlier version of a config/secret the files still declare.

    stackctl names configs and secrets by content, so a content change leaves the
    previous object behind; it is kept on purpose (recorded revisions need it for
    rollback, and apply's retention removes it). It is neither an orphan nor
    something ``--prune`` may delete.
    """
    if have.kind not in (ResourceKind.CONFIG, ResourceKind.SECRET):
        return False
    logical = (have.spec.get("Labels") or {}).get(LABEL_LOGICAL_NAME)
    return logical is not None and any(
        (w.spec.get("Labels") or {}).get(LABEL_LOGICAL_NAME) == logical for w in wanted.values()
    )


def _require_externals(desired: ClusterState, live: ClusterState) -> None:
    missing = [
        f"{kind.value} {name}"
        for kind in APPLY_ORDER
        for name, state in sorted(desired.of_kind(kind).items())
        if state.external and name not in live.of_kind(kind)
    ]
    if missing:
        raise MissingExternalError(
            f"external resource(s) declared in the file do not exist: {', '.join(missing)}",
            hint="stackctl never creates external resources; create them first "
            "(e.g. `docker network create --driver overlay --scope swarm NAME`)",
        )


def _resource_change(
    kind: ResourceKind,
    name: str,
    want: ResourceState | None,
    have: ResourceState | None,
    recorded: ResourceState | None,
    *,
    tracked: bool,
    prune: bool,
) -> ResourceChange | None:
    if want is not None and have is None:
        drift = tracked and recorded is not None
        return ResourceChange(
            kind,
            name,
            Effect.CREATE,
            desired=want,
            drift=drift,
            reason="removed outside stackctl" if drift else None,
        )
    if have is not None and want is None:
        if have.external:
            return None  # used by the stack, owned by someone else
        effect = Effect.DELETE if prune else Effect.ORPHAN
        return ResourceChange(kind, name, effect, live=have, reason=NOT_IN_FILES)
    assert want is not None and have is not None
    if want.external or have.external:
        return None  # exists; never compared or written
    return _update(kind, name, want, have, recorded)


def _update(
    kind: ResourceKind,
    name: str,
    want: ResourceState,
    have: ResourceState,
    recorded: ResourceState | None,
) -> ResourceChange | None:
    want_spec, want_digest, have_digest = want.spec, None, None
    if kind is ResourceKind.SERVICE:
        # tags and digests are compared apart: "tag unchanged, digest moved" is a change
        want_digest = pinned_digest(want.spec)
        have_digest = have.status.get("ImageDigest") or pinned_digest(have.spec)
        want_spec = unpinned(want.spec)
    desired_tree = diff_tree(kind, want_spec)
    live_tree = diff_tree(kind, _settled(kind, want_spec, _unpinned(kind, want_spec, have.spec)))
    diffs = tree_changes(live_tree, desired_tree)
    digest_moved = want_digest is not None and want_digest != have_digest
    if digest_moved:
        diffs.append((DIGEST_FIELD, have_digest or _ABSENT, want_digest))
    content_changed = (
        kind in (ResourceKind.CONFIG, ResourceKind.SECRET)
        and want.content_sha256 is not None
        and have.content_sha256 is not None
        and want.content_sha256 != have.content_sha256
    )
    if content_changed:
        diffs.append((("content_sha256",), have.content_sha256, want.content_sha256))
    if not diffs:
        return _resumed(want, have) if kind is ResourceKind.SERVICE else None
    drifted: list[Keys] = []
    if recorded is not None:
        recorded_tree = diff_tree(kind, unpinned(recorded.spec))
        drifted = [keys for keys, _, _ in tree_changes(live_tree, recorded_tree)]
        if recorded.content_sha256 not in (None, have.content_sha256) and have.content_sha256:
            drifted.append(("content_sha256",))
    changed = [keys for keys, _, _ in diffs]
    if kind is ResourceKind.SERVICE:
        effect, reason = classify_service(changed, desired_tree, live_tree)
        if digest_moved and changed == [DIGEST_FIELD]:
            reason = _digest_reason(have_digest)
    else:
        effect, reason = classify_object(kind, changed, content_changed=content_changed)
    hidden = sensitive_env_names(want.spec) | sensitive_env_names(have.spec)
    fields = tuple(
        sorted(
            (_field_change(keys, old, new, drifted, hidden) for keys, old, new in diffs),
            key=lambda f: f.path,
        )
    )
    return ResourceChange(
        kind,
        name,
        effect,
        fields=fields,
        desired=want,
        live=have,
        drift=any(f.drift for f in fields),
        reason=reason,
    )


def _digest_reason(old: str | None) -> str:
    """Why a service whose declared image did not change still restarts its tasks
    (the digests themselves are in the change's ``ImageDigest`` field)."""
    return "tag unchanged, now pinned to a digest" if old is None else "tag unchanged, digest moved"


def _resumed(want: ResourceState, have: ResourceState) -> ResourceChange | None:
    """A service whose spec matches the file but whose update Swarm paused.

    Swarm stops a failing update half-way when its ``failure_action`` is
    ``pause`` (or when its own rollback fails): the spec already says what the
    file says, yet tasks the update did not reach still run the old spec. That
    is not "no changes": submitting the same spec again clears the paused state
    and Swarm carries on replacing those tasks, so it is planned as a rolling
    update with no field changes.
    """
    update = have.status.get("UpdateStatus") or {}
    state = update.get("State")
    if state not in SWARM_PAUSED_STATES:
        return None
    message = str(update.get("Message") or "").strip()
    because = f": {message}" if message else ""
    return ResourceChange(
        ResourceKind.SERVICE,
        have.name,
        Effect.ROLLING,
        desired=want,
        live=have,
        reason=f"Swarm left its update {state.replace('_', ' ')}{because}; "
        "submitting the spec again resumes it",
    )


def _settled(
    kind: ResourceKind, want_spec: Mapping[str, Any], have_spec: Mapping[str, Any]
) -> Mapping[str, Any]:
    """``have_spec`` without the blank driver of a network the node has not set up yet.

    Measured on Engine 20.10: for a second or so after an overlay network is
    created, the network list reports it with ``Driver: ""``. That is "not known
    yet", not a different driver, and must not plan a network recreation.
    """
    if kind is not ResourceKind.NETWORK or have_spec.get("Driver"):
        return have_spec
    return {**have_spec, "Driver": want_spec.get("Driver")}


def _unpinned(
    kind: ResourceKind, want_spec: Mapping[str, Any], have_spec: Mapping[str, Any]
) -> Mapping[str, Any]:
    """``have_spec`` without a digest pinned onto the image the file still declares.

    ``image:tag@sha256:...`` live vs ``image:tag`` desired is the same image when
    the live ``com.docker.stack.image`` label (the declared image) equals the
    desired one. ``observe`` already undoes most pinning; this keeps plans right
    for live states read by other means (and for recorded revisions).
    """
    if kind is not ResourceKind.SERVICE:
        return have_spec
    container = (have_spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}
    image = container.get("Image")
    wanted = ((want_spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}).get("Image")
    declared = (have_spec.get("Labels") or {}).get(LABEL_IMAGE)
    if not isinstance(image, str) or "@sha256:" not in image or not isinstance(wanted, str):
        return have_spec
    if "@" in wanted or declared != (want_spec.get("Labels") or {}).get(LABEL_IMAGE):
        return have_spec
    if image.partition("@")[0] != wanted and declared != wanted:
        return have_spec
    task = dict(have_spec.get("TaskTemplate") or {})
    task["ContainerSpec"] = {**container, "Image": wanted}
    return {**have_spec, "TaskTemplate": task}


def tree_changes(old: Tree, new: Tree) -> list[tuple[Keys, Any, Any]]:
    """``(path keys, old, new)`` for every difference; ``_ABSENT`` marks a missing side.

    Ordered lists are compared whole (reported at the list), added or removed
    maps are reported per leaf, keyed items (``Ports[80/tcp]``) whole when added
    or removed and per field when changed.

    A plain recursive walk rather than deepdiff: the trees are plain JSON data
    already keyed by identity, and deepdiff cost ~2.5 ms per changed resource,
    which put a 500-service plan over its 2 s budget.
    """
    out: list[tuple[Keys, Any, Any]] = []
    _walk(old, new, (), out)
    return out


def _walk(old: Any, new: Any, at: Keys, out: list[tuple[Keys, Any, Any]]) -> None:
    if old == new:
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            _walk(old.get(key, _ABSENT), new.get(key, _ABSENT), (*at, key), out)
        return
    whole = bool(at) and at[-1].startswith("[")  # a keyed item is added/removed as one
    if isinstance(old, dict) and new is _ABSENT and not whole:
        out.extend((keys, value, _ABSENT) for keys, value in _leaves(old, at))
    elif isinstance(new, dict) and old is _ABSENT and not whole:
        out.extend((keys, _ABSENT, value) for keys, value in _leaves(new, at))
    else:
        out.append((at, old, new))


def _leaves(tree: Mapping[str, Any], at: Keys) -> Iterator[tuple[Keys, Any]]:
    for key, value in tree.items():
        if isinstance(value, dict) and value and not key.startswith("["):
            yield from _leaves(value, (*at, key))
        else:
            yield (*at, key), value


def _field_change(
    keys: Keys, old: Any, new: Any, drifted: Sequence[Keys], hidden: frozenset[str]
) -> FieldChange:
    path = join_path(keys)
    op = FieldOp.ADDED if old is _ABSENT else FieldOp.REMOVED if new is _ABSENT else FieldOp.CHANGED
    old_value = None if old is _ABSENT else old
    new_value = None if new is _ABSENT else new
    sensitive = is_sensitive_path(path, hidden)
    if sensitive:
        old_value = None if old_value is None else SENSITIVE
        new_value = None if new_value is None else SENSITIVE
    return FieldChange(
        path=path,
        op=op,
        old=old_value,
        new=new_value,
        sensitive=sensitive,
        drift=any(_overlaps(keys, d) for d in drifted),
    )


def _overlaps(a: Keys, b: Keys) -> bool:
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def _references(service: ResourceState) -> set[tuple[ResourceKind, str]]:
    task = service.spec.get("TaskTemplate") or {}
    container = task.get("ContainerSpec") or {}
    refs = {(ResourceKind.NETWORK, str(n.get("Target"))) for n in task.get("Networks") or []}
    refs |= {
        (ResourceKind.CONFIG, str(c.get("ConfigName"))) for c in container.get("Configs") or []
    }
    refs |= {
        (ResourceKind.SECRET, str(s.get("SecretName"))) for s in container.get("Secrets") or []
    }
    return refs


def _roll_dependents(
    desired: ClusterState,
    live: ClusterState,
    changes: dict[tuple[ResourceKind, str], ResourceChange],
) -> None:
    """Services using a recreated network/config/secret are updated with it."""
    recreated = {
        key
        for key, c in changes.items()
        if c.effect is Effect.REPLACE and c.kind is not ResourceKind.SERVICE
    }
    if not recreated:
        return
    for name, service in desired.services.items():
        have = live.services.get(name)
        hit = sorted(_references(service) & recreated)
        if have is None or not hit:
            continue
        because = ", ".join(f"{kind.value} {obj}" for kind, obj in hit)
        reason = f"uses {because}, which is recreated: tasks are replaced"
        current = changes.get((ResourceKind.SERVICE, name))
        if current is None:
            changes[(ResourceKind.SERVICE, name)] = ResourceChange(
                ResourceKind.SERVICE,
                name,
                Effect.ROLLING,
                desired=service,
                live=have,
                reason=reason,
            )
        elif (
            costlier(current.effect, Effect.ROLLING) is Effect.ROLLING
            and current.effect is not Effect.ROLLING
        ):
            changes[(ResourceKind.SERVICE, name)] = replace(
                current, effect=Effect.ROLLING, reason=f"{current.reason}; {reason}"
            )
