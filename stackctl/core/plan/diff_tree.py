"""The shape a spec takes just before it is diffed.

``ClusterState`` specs are Engine API bodies. Diffing them as they are would
report "item 3 of Env changed" or "every port moved" when one item was added, and
would flag every field the engine fills in by itself. So each spec is first turned
into a *diff tree*:

- lists whose items have an identity become maps keyed by that identity, the key
  written in brackets (``Env`` -> ``{"[DB_HOST]": "db"}``, ``Ports`` ->
  ``{"[80/tcp]": {...}}``); lists whose order means nothing but whose items have
  no other identity (constraints, capabilities) are keyed by the item itself;
  free-form maps (labels, options, sysctls) get bracketed keys too, so a path
  like ``Labels[com.example.team]`` is never ambiguous. Ordered lists (command,
  args, DNS servers, placement preferences) stay lists and are compared whole.
- engine defaults listed in ``ENGINE_DEFAULTS`` are dropped when present, and
  empty values (``None``, ``{}``, ``[]``, ``""``, ``False``) are dropped, so "absent"
  and "the default the engine fills in" compare equal;
- noise is removed: ``TaskTemplate.ForceUpdate`` (a redeploy counter, not
  configuration).

Paths in this module are tuples of keys; ``join_path`` spells them the way
plans show them (``TaskTemplate.ContainerSpec.Env[DB_HOST]``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from stackctl.core.model.state import ResourceKind

Tree = dict[str, Any]

_SECOND = 1_000_000_000

# swarmkit uses these when a service has no UpdateConfig / RollbackConfig at all.
# Inside a config that exists, an absent Parallelism means 0 (all at once), so an
# absent config is filled in with these before defaults are dropped, not equated
# with an empty one.
_SWARMKIT_ROLLOUT_DEFAULT = {
    "Parallelism": 1,
    "FailureAction": "pause",
    "Monitor": 5 * _SECOND,
    "MaxFailureRatio": 0,
    "Order": "stop-first",
}

# Defaults the engine (20.10, API 1.41) writes into a spec it stores, verified by
# creating services and networks through the Engine API without these fields and
# inspecting them (see tests/integration/diffplan_live/test_engine_defaults.py). A field
# holding exactly this value is treated as absent. Paths use "*" for any key.
ENGINE_DEFAULTS: tuple[tuple[tuple[str, ...], Any], ...] = (
    (("TaskTemplate", "ContainerSpec", "Isolation"), "default"),
    (("TaskTemplate", "Runtime"), "container"),
    (("TaskTemplate", "RestartPolicy", "MaxAttempts"), 0),
    # swarmkit's own defaults (api/defaults): an absent value means exactly this,
    # and clients such as docker-py write them into the spec on update.
    (("TaskTemplate", "RestartPolicy", "Condition"), "any"),
    (("TaskTemplate", "RestartPolicy", "Delay"), 5 * _SECOND),
    (("TaskTemplate", "ContainerSpec", "StopGracePeriod"), 10 * _SECOND),
    (("UpdateConfig", "Monitor"), 5 * _SECOND),
    (("RollbackConfig", "Monitor"), 5 * _SECOND),
    (("UpdateConfig", "FailureAction"), "pause"),
    (("UpdateConfig", "MaxFailureRatio"), 0),
    (("UpdateConfig", "Order"), "stop-first"),
    (("RollbackConfig", "FailureAction"), "pause"),
    (("RollbackConfig", "MaxFailureRatio"), 0),
    (("RollbackConfig", "Order"), "stop-first"),
    (("EndpointSpec", "Mode"), "vip"),
    (("EndpointSpec", "Ports", "*", "Protocol"), "tcp"),
    (("EndpointSpec", "Ports", "*", "PublishMode"), "ingress"),
    # networks
    (("IPAM", "Driver"), "default"),
    (("Scope",), "swarm"),
)

# A spec without Mode is stored as replicated with one replica.
_DEFAULT_MODE = {"Replicated": {"Replicas": 1}}

# Fields that never describe configuration.
_NOISE: tuple[tuple[str, ...], ...] = (
    ("TaskTemplate", "ForceUpdate"),
    ("Version",),
    ("ID",),
    ("CreatedAt",),
    ("UpdatedAt",),
)

# Free-form maps: their keys are data, not spec field names.
_FREE_FORM_MAPS = frozenset({"Labels", "Options", "Sysctls", "DriverOpts"})


def _env_items(env: Sequence[str]) -> Tree:
    out: Tree = {}
    for item in env:
        name, sep, value = item.partition("=")
        out[f"[{name}]"] = value if sep else None
    return out


def _port_key(port: Mapping[str, Any]) -> str:
    return f"{port.get('TargetPort')}/{port.get('Protocol') or 'tcp'}"


def _file_ref_key() -> Callable[[Mapping[str, Any]], str]:
    def key(ref: Mapping[str, Any]) -> str:
        file = ref.get("File") or {}
        # A runtime reference (the credential spec's config) has no file; a service has
        # at most one, and its object's name is a value that can change.
        return str(file.get("Name") or "runtime")

    return key


def _generic_resource_key(item: Mapping[str, Any]) -> str:
    spec = item.get("DiscreteResourceSpec") or item.get("NamedResourceSpec") or {}
    kind = str(spec.get("Kind"))
    if "NamedResourceSpec" in item:
        return f"{kind}={spec.get('Value')}"
    return kind


def _host_key(entry: str) -> str:
    # Engine form: "IP host [alias...]"; the host names are the identity.
    parts = entry.split()
    return " ".join(parts[1:]) or entry


def _host_value(entry: str) -> str:
    return entry.split()[0] if entry.split() else entry


def _field(key: str) -> Callable[[Mapping[str, Any]], str]:
    return lambda item: str(item.get(key))


# Keyed lists: where they live, and how an item is identified.
_KEYED: dict[tuple[str, ...], Callable[[Mapping[str, Any]], str]] = {
    ("EndpointSpec", "Ports"): _port_key,
    ("TaskTemplate", "ContainerSpec", "Mounts"): _field("Target"),
    ("TaskTemplate", "ContainerSpec", "Configs"): _file_ref_key(),
    ("TaskTemplate", "ContainerSpec", "Secrets"): _file_ref_key(),
    ("TaskTemplate", "ContainerSpec", "Ulimits"): _field("Name"),
    ("TaskTemplate", "Networks"): _field("Target"),
    ("TaskTemplate", "Resources", "Reservations", "GenericResources"): _generic_resource_key,
    ("TaskTemplate", "Placement", "Platforms"): (
        lambda p: f"{p.get('OS') or ''}/{p.get('Architecture') or ''}"
    ),
    ("IPAM", "Config"): _field("Subnet"),
}

# Lists whose order means nothing and whose items are plain values: keyed by value.
_SETS: frozenset[tuple[str, ...]] = frozenset(
    {
        ("TaskTemplate", "Placement", "Constraints"),
        ("TaskTemplate", "ContainerSpec", "CapabilityAdd"),
        ("TaskTemplate", "ContainerSpec", "CapabilityDrop"),
        ("TaskTemplate", "ContainerSpec", "Groups"),
        ("TaskTemplate", "Networks", "*", "Aliases"),
    }
)


def _is_empty(value: Any) -> bool:
    return value is None or value is False or value == "" or value == {} or value == []


# Lookups by pattern path (bracketed keys spelled "*"): one dict probe per node.
_DEFAULT_BY_PATTERN: dict[tuple[str, ...], Any] = dict(ENGINE_DEFAULTS)
_NOISE_SET = frozenset(_NOISE)
_ENV = ("TaskTemplate", "ContainerSpec", "Env")
_HOSTS = ("TaskTemplate", "ContainerSpec", "Hosts")


def _to_tree(value: Any, pattern: tuple[str, ...]) -> Any:
    """``pattern``: where ``value`` is, bracketed keys spelled ``*`` (as the tables are)."""
    if isinstance(value, Mapping):
        free_form = bool(pattern) and pattern[-1] in _FREE_FORM_MAPS
        out: Tree = {}
        for key in sorted(value):
            child_key = f"[{key}]" if free_form else str(key)
            child_pattern = (*pattern, "*" if free_form else child_key)
            if child_pattern in _NOISE_SET:
                continue
            child = _to_tree(value[key], child_pattern)
            if pattern == ("Mode",):  # {"Global": {}} is the whole point of the field
                out[child_key] = child if child is not None else {}
                continue
            default = _DEFAULT_BY_PATTERN.get(child_pattern, _NO_DEFAULT)
            if _is_empty(child) or (default is not _NO_DEFAULT and child == default):
                continue
            out[child_key] = child
        return out
    if isinstance(value, list | tuple):
        if pattern == _ENV:
            return _env_items([str(v) for v in value])
        if pattern == _HOSTS:
            return {f"[{_host_key(str(v))}]": _host_value(str(v)) for v in value}
        keyed = _KEYED.get(pattern)
        if keyed is not None and all(isinstance(v, Mapping) for v in value):
            return _keyed_items(value, keyed, pattern)
        if pattern in _SETS:
            return {f"[{v}]": v for v in value}
        return [_to_tree(v, pattern) for v in value]
    return value


def _keyed_items(
    items: Sequence[Mapping[str, Any]],
    key_of: Callable[[Mapping[str, Any]], str],
    pattern: tuple[str, ...],
) -> Tree:
    out: Tree = {}
    for item in items:
        key = f"[{key_of(item)}]"
        if key in out:  # two items with one identity (e.g. a port published twice)
            n = 2
            while f"{key[:-1]}#{n}]" in out:
                n += 1
            key = f"{key[:-1]}#{n}]"
        out[key] = _to_tree(item, (*pattern, "*"))
    return out


class _NoDefault:
    pass


_NO_DEFAULT = _NoDefault()


def diff_tree(kind: ResourceKind, spec: Mapping[str, Any]) -> Tree:
    """The diff tree of one resource's comparable spec (see the module docstring)."""
    if kind is ResourceKind.SERVICE:
        spec = dict(spec)
        for key in ("UpdateConfig", "RollbackConfig"):
            config = spec.get(key)
            # Absent: swarmkit's defaults. Present: the engine reads a missing
            # Parallelism as 0 (and stores it so).
            spec[key] = (
                _SWARMKIT_ROLLOUT_DEFAULT if config is None else {"Parallelism": 0, **config}
            )
    tree = _to_tree(spec, ())
    assert isinstance(tree, dict)
    if kind is ResourceKind.SERVICE and "Mode" not in tree:
        tree["Mode"] = {k: dict(v) for k, v in _DEFAULT_MODE.items()}
    return tree


def join_path(keys: Sequence[str | int]) -> str:
    """Spell tree keys as a plan path.

    ``("TaskTemplate", "ContainerSpec", "Env", "[A]")`` -> ``TaskTemplate.ContainerSpec.Env[A]``.
    """
    out = ""
    for key in keys:
        text = f"[{key}]" if isinstance(key, int) else key
        out += text if (not out or text.startswith("[")) else f".{text}"
    return out


def service_mode(tree: Mapping[str, Any]) -> str:
    """``Replicated``, ``Global``, ``ReplicatedJob`` or ``GlobalJob``."""
    mode = tree.get("Mode") or {}
    return next(iter(mode), "Replicated") if isinstance(mode, Mapping) else "Replicated"


def split_path(path: str) -> tuple[str, ...]:
    """The inverse of ``join_path`` for string keys.

    ``Labels[com.example.a].X`` -> ``("Labels", "[com.example.a]", "X")``: dots
    inside brackets belong to the key (brackets may nest, as in a constraint
    ``node.labels.x==[a]``).
    """
    keys: list[str] = []
    current = ""
    depth = 0
    for char in path:
        if depth == 0 and char == ".":
            if current:
                keys.append(current)
            current = ""
            continue
        if depth == 0 and char == "[":
            if current:
                keys.append(current)
            current = ""
        if char == "[":
            depth += 1
        elif char == "]" and depth:
            depth -= 1
        current += char
        if depth == 0 and char == "]":
            keys.append(current)
            current = ""
    if current:
        keys.append(current)
    return tuple(keys)
