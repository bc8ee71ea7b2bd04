"""Engine field paths -> the compose keys that wrote them (pure).

A plan is computed on Engine API specs (``TaskTemplate.ContainerSpec.Image``),
but a developer reads the stack file (``services.web.image``). ``COMPOSE_KEYS``
maps every field ``stackctl.core.convert`` writes back to the key of the stack
file it came from; ``compose_key`` applies it to one changed field.

Patterns are diff-tree paths (``stackctl.core.plan.diff_tree``) with bracketed
keys spelled ``*``; a pattern may also name one bracketed key exactly
(``Labels[com.docker.stack.image]``), which wins over ``*``. Templates are
compose paths whose parts may hold:

- ``{r}``: the resource's key in the file (``web`` for the service ``demo_web``);
- ``{0}``, ``{1}``: the bracketed keys of the engine path, in order;
- ``{net0}``: the first bracketed key read as a network name, stack prefix removed;
- ``{vol0}``: the named volume mounted at the first bracketed key (a mount target).

Keys that are data, not field names (environment names, labels, list items),
stay in brackets: ``services.web.environment[DB_HOST]``, so a label key with
dots is never ambiguous.

Two more tables close the set: ``FROM_STACK_NAME`` lists fields stackctl writes
from the stack name itself (no line of the file sets them), ``ECHOES`` lists
fields that repeat another field's compose key (the engine image next to the
declared image label); the plan shows those only when the field they echo is
not changed too. A field in none of the tables (something the engine or a
``docker service update`` set) has no compose key and is shown by its engine
path. ``tests/unit/diffplan/test_compose_keys.py`` walks every field the
conversion produces for ``tests/fixtures/every-key.yml`` and fails on any
field that is not in these tables.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from stackctl.core.model.state import (
    LABEL_CONTENT_HASH,
    LABEL_IGNORE_CHANGES,
    LABEL_IMAGE,
    LABEL_LOGICAL_NAME,
    LABEL_NAMESPACE,
    ResourceKind,
)

Pattern = tuple[str, ...]
Template = tuple[str, ...]

_S = ("services", "{r}")
_C = ("TaskTemplate", "ContainerSpec")
_UPDATE_KEYS = {
    "Parallelism": "parallelism",
    "Delay": "delay",
    "FailureAction": "failure_action",
    "Monitor": "monitor",
    "MaxFailureRatio": "max_failure_ratio",
    "Order": "order",
}
_FILE_REF = {"Name": "target", "UID": "uid", "GID": "gid", "Mode": "mode"}


def _service_table() -> dict[Pattern, Template]:
    t: dict[Pattern, Template] = {
        ("Name",): _S,
        ("Labels", f"[{LABEL_IMAGE}]"): (*_S, "image"),
        ("Labels", f"[{LABEL_IGNORE_CHANGES}]"): (*_S, "x-stackctl", "ignore_changes"),
        ("Labels", "*"): (*_S, "deploy", "labels", "[{0}]"),
        ("Mode", "Replicated"): (*_S, "deploy", "mode"),
        ("Mode", "Replicated", "Replicas"): (*_S, "deploy", "replicas"),
        ("Mode", "Global"): (*_S, "deploy", "mode"),
        ("Mode", "GlobalJob"): (*_S, "deploy", "mode"),
        ("Mode", "ReplicatedJob"): (*_S, "deploy", "mode"),
        ("Mode", "ReplicatedJob", "MaxConcurrent"): (*_S, "deploy", "replicas"),
        ("Mode", "ReplicatedJob", "TotalCompletions"): (*_S, "deploy", "replicas"),
        ("EndpointSpec", "Mode"): (*_S, "deploy", "endpoint_mode"),
        ("EndpointSpec", "Ports", "*"): (*_S, "ports", "[{0}]"),
        ("EndpointSpec", "Ports", "*", "TargetPort"): (*_S, "ports", "[{0}]", "target"),
        ("EndpointSpec", "Ports", "*", "PublishedPort"): (*_S, "ports", "[{0}]", "published"),
        ("EndpointSpec", "Ports", "*", "Protocol"): (*_S, "ports", "[{0}]", "protocol"),
        ("EndpointSpec", "Ports", "*", "PublishMode"): (*_S, "ports", "[{0}]", "mode"),
    }
    for section, key in (("UpdateConfig", "update_config"), ("RollbackConfig", "rollback_config")):
        for field, compose in _UPDATE_KEYS.items():
            t[(section, field)] = (*_S, "deploy", key, compose)
    container: dict[Pattern, Template] = {
        ("Image",): (*_S, "image"),
        ("Labels", "*"): (*_S, "labels", "[{0}]"),
        ("Command",): (*_S, "entrypoint"),
        ("Args",): (*_S, "command"),
        ("Hostname",): (*_S, "hostname"),
        ("Env", "*"): (*_S, "environment", "[{0}]"),
        ("Dir",): (*_S, "working_dir"),
        ("User",): (*_S, "user"),
        ("Privileges", "CredentialSpec", "Config"): (*_S, "credential_spec", "config"),
        ("Privileges", "CredentialSpec", "File"): (*_S, "credential_spec", "file"),
        ("Privileges", "CredentialSpec", "Registry"): (*_S, "credential_spec", "registry"),
        ("Init",): (*_S, "init"),
        ("StopSignal",): (*_S, "stop_signal"),
        ("TTY",): (*_S, "tty"),
        ("OpenStdin",): (*_S, "stdin_open"),
        ("ReadOnly",): (*_S, "read_only"),
        ("StopGracePeriod",): (*_S, "stop_grace_period"),
        ("Healthcheck", "Test"): (*_S, "healthcheck", "test"),
        ("Healthcheck", "Interval"): (*_S, "healthcheck", "interval"),
        ("Healthcheck", "Timeout"): (*_S, "healthcheck", "timeout"),
        ("Healthcheck", "StartPeriod"): (*_S, "healthcheck", "start_period"),
        ("Healthcheck", "Retries"): (*_S, "healthcheck", "retries"),
        ("Hosts", "*"): (*_S, "extra_hosts", "[{0}]"),
        ("DNSConfig", "Nameservers"): (*_S, "dns"),
        ("DNSConfig", "Search"): (*_S, "dns_search"),
        ("Isolation",): (*_S, "isolation"),
        ("Sysctls", "*"): (*_S, "sysctls", "[{0}]"),
        ("CapabilityAdd", "*"): (*_S, "cap_add", "[{0}]"),
        ("CapabilityDrop", "*"): (*_S, "cap_drop", "[{0}]"),
        ("Ulimits", "*"): (*_S, "ulimits", "[{0}]"),
        ("Ulimits", "*", "Name"): (*_S, "ulimits", "[{0}]"),
        ("Ulimits", "*", "Soft"): (*_S, "ulimits", "[{0}]", "soft"),
        ("Ulimits", "*", "Hard"): (*_S, "ulimits", "[{0}]", "hard"),
        ("Mounts", "*"): (*_S, "volumes", "[{0}]"),
        ("Mounts", "*", "Type"): (*_S, "volumes", "[{0}]", "type"),
        ("Mounts", "*", "Source"): (*_S, "volumes", "[{0}]", "source"),
        ("Mounts", "*", "Target"): (*_S, "volumes", "[{0}]", "target"),
        ("Mounts", "*", "ReadOnly"): (*_S, "volumes", "[{0}]", "read_only"),
        ("Mounts", "*", "VolumeOptions", "NoCopy"): (*_S, "volumes", "[{0}]", "volume", "nocopy"),
        ("Mounts", "*", "VolumeOptions", "Labels", "*"): ("volumes", "{vol0}", "labels", "[{1}]"),
        ("Mounts", "*", "VolumeOptions", "DriverConfig", "Name"): ("volumes", "{vol0}", "driver"),
        ("Mounts", "*", "VolumeOptions", "DriverConfig", "Options", "*"): (
            "volumes",
            "{vol0}",
            "driver_opts",
            "[{1}]",
        ),
        ("Mounts", "*", "BindOptions", "Propagation"): (
            *_S,
            "volumes",
            "[{0}]",
            "bind",
            "propagation",
        ),
        ("Mounts", "*", "TmpfsOptions", "SizeBytes"): (*_S, "volumes", "[{0}]", "tmpfs", "size"),
        ("Configs", "[runtime]"): (*_S, "credential_spec", "config"),
        ("Configs", "[runtime]", "ConfigName"): (*_S, "credential_spec", "config"),
        ("Configs", "[runtime]", "Runtime"): (*_S, "credential_spec", "config"),
    }
    for section, key, name_field in (
        ("Configs", "configs", "ConfigName"),
        ("Secrets", "secrets", "SecretName"),
    ):
        container[(section, "*")] = (*_S, key, "[{0}]")
        container[(section, "*", name_field)] = (*_S, key, "[{0}]", "source")
        for field, compose in _FILE_REF.items():
            container[(section, "*", "File", field)] = (*_S, key, "[{0}]", compose)
    t.update({(*_C, *k): v for k, v in container.items()})
    resources: dict[Pattern, Template] = {}
    for side, key in (("Limits", "limits"), ("Reservations", "reservations")):
        at = (*_S, "deploy", "resources", key)
        resources[(side, "NanoCPUs")] = (*at, "cpus")
        resources[(side, "MemoryBytes")] = (*at, "memory")
    resources[("Limits", "Pids")] = (*_S, "deploy", "resources", "limits", "pids")
    generic = (*_S, "deploy", "resources", "reservations", "generic_resources", "[{0}]")
    resources[("Reservations", "GenericResources", "*")] = generic
    for spec, key in (
        ("DiscreteResourceSpec", "discrete_resource_spec"),
        ("NamedResourceSpec", "named_resource_spec"),
    ):
        for field in ("Kind", "Value"):
            resources[("Reservations", "GenericResources", "*", spec, field)] = (
                *generic,
                key,
                field.lower(),
            )
    t.update({("TaskTemplate", "Resources", *k): v for k, v in resources.items()})
    restart = (*_S, "deploy", "restart_policy")
    network = (*_S, "networks", "{net0}")
    t.update(
        {
            ("TaskTemplate", "RestartPolicy", "Condition"): (*restart, "condition"),
            ("TaskTemplate", "RestartPolicy", "Delay"): (*restart, "delay"),
            ("TaskTemplate", "RestartPolicy", "MaxAttempts"): (*restart, "max_attempts"),
            ("TaskTemplate", "RestartPolicy", "Window"): (*restart, "window"),
            ("TaskTemplate", "Placement", "Constraints", "*"): (
                *_S,
                "deploy",
                "placement",
                "constraints",
                "[{0}]",
            ),
            ("TaskTemplate", "Placement", "Preferences"): (
                *_S,
                "deploy",
                "placement",
                "preferences",
            ),
            ("TaskTemplate", "Placement", "MaxReplicas"): (
                *_S,
                "deploy",
                "placement",
                "max_replicas_per_node",
            ),
            ("TaskTemplate", "Networks", "*"): network,
            ("TaskTemplate", "Networks", "*", "Target"): network,
            ("TaskTemplate", "Networks", "*", "Aliases", "*"): (*network, "aliases", "[{1}]"),
            ("TaskTemplate", "LogDriver", "Name"): (*_S, "logging", "driver"),
            ("TaskTemplate", "LogDriver", "Options", "*"): (*_S, "logging", "options", "[{0}]"),
        }
    )
    return t


def _network_table() -> dict[Pattern, Template]:
    at = ("networks", "{r}")
    return {
        ("Name",): at,
        ("Driver",): (*at, "driver"),
        ("Internal",): (*at, "internal"),
        ("Attachable",): (*at, "attachable"),
        ("Options", "*"): (*at, "driver_opts", "[{0}]"),
        ("IPAM", "Driver"): (*at, "ipam", "driver"),
        ("IPAM", "Config", "*"): (*at, "ipam", "config", "[{0}]"),
        ("IPAM", "Config", "*", "Subnet"): (*at, "ipam", "config", "[{0}]", "subnet"),
        ("Labels", "*"): (*at, "labels", "[{0}]"),
    }


def _file_object_table(section: str) -> dict[Pattern, Template]:
    at = (section, "{r}")
    return {
        ("Name",): at,
        ("Labels", f"[{LABEL_LOGICAL_NAME}]"): at,
        ("Labels", f"[{LABEL_CONTENT_HASH}]"): (*at, "file"),
        ("content_sha256",): (*at, "file"),
        ("Labels", "*"): (*at, "labels", "[{0}]"),
        ("Templating", "Name"): (*at, "template_driver"),
        ("Driver", "Name"): (*at, "driver"),
        ("Driver", "Options", "*"): (*at, "driver_opts", "[{0}]"),
    }


COMPOSE_KEYS: Mapping[ResourceKind, Mapping[Pattern, Template]] = {
    ResourceKind.SERVICE: _service_table(),
    ResourceKind.NETWORK: _network_table(),
    ResourceKind.CONFIG: _file_object_table("configs"),
    ResourceKind.SECRET: _file_object_table("secrets"),
}

# Written from the stack name, not from any key of the file.
FROM_STACK_NAME: frozenset[Pattern] = frozenset(
    {
        ("Labels", f"[{LABEL_NAMESPACE}]"),
        (*_C, "Labels", f"[{LABEL_NAMESPACE}]"),
        (
            "TaskTemplate",
            "ContainerSpec",
            "Mounts",
            "*",
            "VolumeOptions",
            "Labels",
            f"[{LABEL_NAMESPACE}]",
        ),
    }
)

# Fields that repeat another field's compose key: (echo, the field it echoes).
ECHOES: Mapping[Pattern, Pattern] = {
    (*_C, "Image"): ("Labels", f"[{LABEL_IMAGE}]"),
    ("Mode", "ReplicatedJob", "TotalCompletions"): ("Mode", "ReplicatedJob", "MaxConcurrent"),
}


def pattern_of(keys: Sequence[str]) -> Pattern:
    """``("Labels", "[a.b]")`` -> ``("Labels", "*")``."""
    return tuple("*" if k.startswith("[") else k for k in keys)


def _lookup(table: Mapping[Pattern, Template], keys: Sequence[str]) -> Template | None:
    """The template for ``keys``: exact bracketed keys first, then ``*`` for each."""
    exact = tuple(keys)
    if exact in table:
        return table[exact]
    # One exact bracketed key (the rest as "*"), e.g. Labels[com.docker.stack.image].
    generic = pattern_of(keys)
    for i, key in enumerate(keys):
        if key.startswith("["):
            probe = (*generic[:i], key, *generic[i + 1 :])
            if probe in table:
                return table[probe]
    return table.get(generic)


def is_from_stack_name(keys: Sequence[str]) -> bool:
    exact = tuple(keys)
    return exact in FROM_STACK_NAME or any(
        (*pattern_of(keys[:i]), *keys[i:]) in FROM_STACK_NAME for i in range(len(keys))
    )


def echoed_by(keys: Sequence[str]) -> Pattern | None:
    """The pattern of the field ``keys`` echoes, if it is an echo."""
    return ECHOES.get(pattern_of(keys))


def resource_key(
    kind: ResourceKind, name: str, stack: str, spec: Mapping[str, Any] | None = None
) -> str:
    """The resource's key in the file: ``demo_web`` -> ``web``; configs by their name label."""
    labels = (spec or {}).get("Labels") or {}
    if kind in (ResourceKind.CONFIG, ResourceKind.SECRET) and labels.get(LABEL_LOGICAL_NAME):
        return str(labels[LABEL_LOGICAL_NAME])
    return name.removeprefix(f"{stack}_")


def _mounted_volume(spec: Mapping[str, Any] | None, target: str, stack: str) -> str | None:
    container = ((spec or {}).get("TaskTemplate") or {}).get("ContainerSpec") or {}
    for mount in container.get("Mounts") or []:
        if mount.get("Target") == target and mount.get("Source"):
            return str(mount["Source"]).removeprefix(f"{stack}_")
    return None


def compose_key(
    kind: ResourceKind,
    name: str,
    keys: Sequence[str],
    *,
    stack: str,
    spec: Mapping[str, Any] | None = None,
) -> tuple[str, ...] | None:
    """The compose path (parts) of one engine field, or None when the file has no key for it.

    ``keys`` are diff-tree keys (``("TaskTemplate", "ContainerSpec", "Env", "[A]")``);
    ``spec`` is the resource's spec (desired, else live), used to name a config by
    its file key and a mount by its volume.
    """
    table = COMPOSE_KEYS.get(kind)
    template = None if table is None else _lookup(table, keys)
    if template is None:
        return None
    captured = [k[1:-1] for k in keys if k.startswith("[")]
    values = {"r": resource_key(kind, name, stack, spec)}
    if captured:
        values["net0"] = captured[0].removeprefix(f"{stack}_")
        volume = _mounted_volume(spec, captured[0], stack)
        if volume is not None:
            values["vol0"] = volume
    out: list[str] = []
    for part in template:
        try:
            text = part.format(*captured, **values)
        except (IndexError, KeyError):
            return None  # e.g. a volume option of a mount whose volume is unknown
        out.append(text)
    return tuple(out)


def join_compose(parts: Sequence[str]) -> str:
    """``("services", "web", "environment", "[A]")`` -> ``services.web.environment[A]``."""
    out = ""
    for part in parts:
        out += part if (not out or part.startswith("[")) else f".{part}"
    return out
