"""Plans saved by ``diff --out`` and checked by ``apply --plan``.

A saved plan is one JSON document (``kind: SavedPlan``, see docs/json-formats.md):

- ``plan``: the plan exactly as ``diff --json`` shows it (redacted: what a person
  reviewed);
- ``desired``: the desired ``ClusterState`` it was computed from (comparable specs,
  config/secret content hashes; never config or secret payloads), and
  ``desiredDigest``, a SHA-256 over it, so ``check_plan_matches`` can tell when the
  stack files (or the variables they use) changed since;
- ``live``: the live state of each resource the plan changes (spec, ID, version),
  which apply needs to update, replace or undo it;
- ``observed``: every live resource the plan was made against, with its ID and
  ``Version.Index``, so ``check_plan_fresh`` refuses a plan whose cluster moved,
  like a stale Terraform plan.

Sensitive env values (``stackctl.core.render.redact``) are stored as ``(sensitive)`` in
``desired`` and ``live``, like everywhere else a plan is shown: a plan file can be
passed around (CI artifacts) without carrying passwords. ``apply --plan`` does not
need them from the file: it loads the stack files anyway, ``desiredDigest`` (taken
over the full values) proves they produce exactly the saved desired state, and
the freshness check proves the live specs are still the observed ones, so
``with_current_specs`` takes both from there.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

from stackctl.core.history.revision import state_from_json, state_to_json
from stackctl.core.model.state import APPLY_ORDER, ClusterState, ResourceKind, ResourceState
from stackctl.core.plan.compose_words import in_compose_words as _in_compose_words
from stackctl.core.plan.ownership import keep_fields_left_to_others
from stackctl.core.plan.plan_model import (
    PLAN_API_VERSION,
    Effect,
    FieldChange,
    FieldOp,
    ObservedResource,
    Plan,
    ResourceChange,
)
from stackctl.core.render.redact import redact_env_list, sensitive_env_names
from stackctl.core.render.render_json import plan_to_json
from stackctl.errors import StackctlError, StalePlanError

SAVED_PLAN_KIND = "SavedPlan"
_REPLAN_HINT = "run `stackctl diff --out FILE` again and review the new plan"


class PlanFileError(StackctlError):
    """A file given as a saved plan is not one (or not one this version reads)."""


@dataclass(frozen=True)
class SavedPlan:
    plan: Plan  # with ``observed`` set
    desired: ClusterState
    desired_digest: str


def desired_digest(desired: ClusterState) -> str:
    """SHA-256 of the desired state's canonical JSON (stable across runs)."""
    text = json.dumps(state_to_json(desired), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def observed_of(live: ClusterState) -> tuple[ObservedResource, ...]:
    return tuple(
        ObservedResource(kind, name, state.id, state.version)
        for kind in APPLY_ORDER
        for name, state in sorted(live.of_kind(kind).items())
    )


def _redacted(state: ResourceState) -> ResourceState:
    """``state`` with sensitive env values replaced by ``(sensitive)``."""
    container = (state.spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}
    env = container.get("Env")
    if not env:
        return state
    task = dict(state.spec["TaskTemplate"])
    also = sensitive_env_names(state.spec)
    task["ContainerSpec"] = {**container, "Env": redact_env_list(list(env), also)}
    return replace(state, spec={**state.spec, "TaskTemplate": task})


def _redacted_state(state: ClusterState) -> ClusterState:
    services = {name: _redacted(service) for name, service in state.services.items()}
    return replace(state, services=MappingProxyType(services))


def _live_json(state: ResourceState) -> dict[str, Any]:
    state = _redacted(state)
    return {
        "kind": state.kind.value,
        "name": state.name,
        "id": state.id,
        "version": state.version,
        "spec": state.spec,
        "content_sha256": state.content_sha256,
        "external": state.external,
    }


def save_plan(plan: Plan, desired: ClusterState, live: ClusterState) -> str:
    """The saved-plan document for ``plan`` made from ``desired`` against ``live``."""
    document = {
        "apiVersion": PLAN_API_VERSION,
        "kind": SAVED_PLAN_KIND,
        "stack": plan.stack,
        "desiredDigest": desired_digest(desired),
        "plan": plan_to_json(plan),
        "desired": state_to_json(_redacted_state(desired)),
        "live": [_live_json(c.live) for c in plan.changes if c.live is not None],
        "observed": [
            {"kind": o.kind.value, "name": o.name, "id": o.id, "version": o.version}
            for o in observed_of(live)
        ],
    }
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def _require(condition: bool, what: str) -> None:
    if not condition:
        raise PlanFileError(
            f"not a valid saved plan: {what}",
            hint="saved plans are written by `stackctl diff --out FILE`",
        )


def _resource_key(item: Mapping[str, Any]) -> tuple[ResourceKind, str]:
    return ResourceKind(item["kind"]), str(item["name"])


def _decode(document: Mapping[str, Any]) -> SavedPlan:
    desired = state_from_json(document["desired"])
    live = {
        _resource_key(item): ResourceState(
            kind=ResourceKind(item["kind"]),
            name=item["name"],
            spec=item["spec"],
            id=item.get("id"),
            version=item.get("version"),
            content_sha256=item.get("content_sha256"),
            external=bool(item.get("external", False)),
        )
        for item in document["live"]
    }
    changes = []
    for item in document["plan"]["changes"]:
        key = _resource_key(item)
        fields = tuple(
            FieldChange(
                # Plans saved before compose keys had the engine path in "path".
                path=str(f.get("engine_path") or f["path"]),
                op=FieldOp(f["op"]),
                old=f.get("old"),
                new=f.get("new"),
                sensitive=bool(f.get("sensitive", False)),
                drift=bool(f.get("drift", False)),
            )
            for f in item["fields"]
        )
        changes.append(
            _in_compose_words(
                ResourceChange(
                    kind=key[0],
                    name=key[1],
                    effect=Effect(item["effect"]),
                    fields=fields,
                    desired=desired.of_kind(key[0]).get(key[1]),
                    live=live.get(key),
                    drift=bool(item.get("drift", False)),
                    reason=item.get("reason"),
                ),
                str(document["stack"]),
            )
        )
    observed = tuple(
        ObservedResource(ResourceKind(o["kind"]), str(o["name"]), o.get("id"), o.get("version"))
        for o in document["observed"]
    )
    plan = Plan(
        stack=str(document["stack"]),
        changes=tuple(changes),
        prune=bool(document["plan"].get("prune", False)),
        observed=observed,
    )
    return SavedPlan(plan=plan, desired=desired, desired_digest=str(document["desiredDigest"]))


def load_saved_plan(text: str) -> SavedPlan:
    """Parse and validate a saved plan; ``PlanFileError`` says what is wrong."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise PlanFileError(
            f"not a valid saved plan: not JSON ({error.msg} at line {error.lineno})",
            hint="saved plans are written by `stackctl diff --out FILE`",
        ) from None
    _require(isinstance(document, dict), "the document is not a JSON object")
    version, kind = document.get("apiVersion"), document.get("kind")
    _require(
        version == PLAN_API_VERSION,
        f"apiVersion is {version!r}; this stackctl reads {PLAN_API_VERSION!r}",
    )
    if kind == "Plan":
        raise PlanFileError(
            "this is a plan printed by `diff --json`, not a saved plan",
            hint="write a plan apply can use with `stackctl diff --out FILE`",
        )
    _require(kind == SAVED_PLAN_KIND, f"kind is {kind!r}, expected {SAVED_PLAN_KIND!r}")
    for key, expected in (
        ("stack", str),
        ("desiredDigest", str),
        ("plan", dict),
        ("desired", dict),
        ("live", list),
        ("observed", list),
    ):
        _require(isinstance(document.get(key), expected), f"{key!r} is missing or malformed")
    try:
        return _decode(document)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise PlanFileError(
            f"not a valid saved plan: malformed content ({type(error).__name__}: {error})",
            hint="saved plans are written by `stackctl diff --out FILE`",
        ) from None


def load_plan(text: str) -> Plan:
    """The plan of a saved plan (with ``observed`` set): what ``apply --plan`` executes."""
    return load_saved_plan(text).plan


def _moved(saved: tuple[ObservedResource, ...], live: ClusterState) -> list[str]:
    now = {(o.kind, o.name): o for o in observed_of(live)}
    then = {(o.kind, o.name): o for o in saved}
    moved = []
    for key in sorted(set(then) | set(now), key=lambda k: (APPLY_ORDER.index(k[0]), k[1])):
        what = f"{key[0].value} {key[1]}"
        before, after = then.get(key), now.get(key)
        if after is None:
            moved.append(f"{what} was removed")
        elif before is None:
            moved.append(f"{what} appeared")
        elif before.id != after.id:
            moved.append(f"{what} was recreated")
        elif before.version != after.version:
            moved.append(f"{what} changed (version {before.version} -> {after.version})")
    return moved


def check_plan_fresh(plan: Plan | SavedPlan, live: ClusterState) -> None:
    """Raise ``StalePlanError`` naming what moved when ``live`` is not what the plan saw."""
    if isinstance(plan, SavedPlan):
        plan = plan.plan
    if plan.observed is None:
        raise PlanFileError("this plan records no observed cluster state; it was not saved")
    if plan.stack != live.stack:
        raise StalePlanError(
            f"the plan is for stack {plan.stack!r}, not {live.stack!r}; nothing was applied"
        )
    moved = _moved(plan.observed, live)
    if moved:
        raise StalePlanError(
            f"the cluster changed since the plan was made: {'; '.join(moved)}; nothing was applied",
            hint=_REPLAN_HINT,
        )


def check_plan_matches(saved: SavedPlan, desired: ClusterState) -> None:
    """Raise ``StalePlanError`` when the stack files now produce a different desired state."""
    if desired.stack != saved.plan.stack:
        raise StalePlanError(
            f"the plan is for stack {saved.plan.stack!r}, not {desired.stack!r}; "
            "nothing was applied"
        )
    if desired_digest(desired) == saved.desired_digest:
        return
    changed = [
        f"{kind.value} {name}"
        for kind in APPLY_ORDER
        for name in sorted(set(desired.of_kind(kind)) | set(saved.desired.of_kind(kind)))
        if _resource_json(desired, kind, name) != _resource_json(saved.desired, kind, name)
    ]
    raise StalePlanError(
        "the stack files (or the variables they use) changed since the plan was made"
        + (f": {', '.join(changed)}" if changed else "")
        + "; nothing was applied",
        hint=_REPLAN_HINT,
    )


def with_current_specs(saved: SavedPlan, desired: ClusterState, live: ClusterState) -> Plan:
    """The saved plan with its specs taken from ``desired`` (the stack files now) and
    ``live`` (the cluster now), which hold the sensitive values the file left out.

    Call only after ``check_plan_matches`` and ``check_plan_fresh`` passed: they
    prove these are the very specs the plan was made from.
    """
    # as plan_changes did: fields left to others keep their live values
    desired = keep_fields_left_to_others(desired, live)
    changes = tuple(
        replace(
            change,
            desired=desired.of_kind(change.kind).get(change.name),
            live=live.of_kind(change.kind).get(change.name),
        )
        for change in saved.plan.changes
    )
    return replace(saved.plan, changes=changes)


def _resource_json(state: ClusterState, kind: ResourceKind, name: str) -> str | None:
    resource = state.of_kind(kind).get(name)
    if resource is None:
        return None
    resource = _redacted(resource)  # compared with the saved (redacted) form
    one = ClusterState(stack=state.stack, **{f"{kind.value}s": {name: resource}})
    return json.dumps(state_to_json(one), sort_keys=True)
