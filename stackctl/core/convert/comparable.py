"""Canonical ordering and spelling shared by ``convert`` and ``observe``.

The desired side (converted from the file) and the live side (read from the
engine) are compared field by field, so both must spell the same thing the same
way. The engine stores lists in the order they were sent; ``docker stack
deploy`` and stackctl sort some of them, a human running ``docker service
update`` may not. Where order carries no meaning, both sides are put in one
canonical order here. Where the engine stores something the file can express in
two ways (a relative secret target is the same as ``/run/secrets/<target>``),
the desired spec keeps what docker sends and ``align_live_to_desired`` gives
the live side the desired spelling when both mean the same file.

Pure functions on plain JSON-shaped data (no docker import): ``observe`` calls
``canonical_service_spec`` on what it read, ``convert`` on what it built.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import Any

from stackctl.core.model.state import ClusterState

SECRETS_DIR = "/run/secrets"
CONFIGS_DIR = "/"


def canonical_file_target(target: str, *, secret: bool) -> str:
    """Absolute path of a config/secret file in the container.

    The engine mounts a relative secret target under ``/run/secrets`` and a
    relative config target under ``/``, so ``token`` and ``/run/secrets/token``
    mean the same file. Specs keep the spelling that was sent (docker sends the
    relative name when the file omits ``target``, and so does stackctl);
    ``align_live_to_desired`` uses this to treat both spellings as one.
    """
    if target.startswith("/"):
        return target
    base = SECRETS_DIR if secret else CONFIGS_DIR
    return f"{base.rstrip('/')}/{target}"


def port_sort_key(port: Mapping[str, Any]) -> tuple[int, int, str, str]:
    # Published port first, as docker sorts them; the rest only breaks ties.
    return (
        int(port.get("PublishedPort") or 0),
        int(port.get("TargetPort") or 0),
        str(port.get("Protocol") or ""),
        str(port.get("PublishMode") or ""),
    )


def _file_ref_key(ref: Mapping[str, Any], name_key: str) -> tuple[str, int, str]:
    # File references sort before runtime references of the same object
    # (docker appends the credential-spec runtime reference last).
    file = ref.get("File") or {}
    return (str(ref.get(name_key) or ""), 0 if file else 1, str(file.get("Name") or ""))


def _canonical_file_refs(refs: list[dict[str, Any]], name_key: str) -> None:
    refs.sort(key=lambda ref: _file_ref_key(ref, name_key))


def canonical_service_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of a service spec with order-free lists in canonical order."""
    out: dict[str, Any] = copy.deepcopy(dict(spec))
    task = out.get("TaskTemplate") or {}
    container = task.get("ContainerSpec") or {}
    if isinstance(container.get("Env"), list):
        container["Env"] = sorted(container["Env"])
    if isinstance(container.get("Secrets"), list):
        _canonical_file_refs(container["Secrets"], "SecretName")
    if isinstance(container.get("Configs"), list):
        _canonical_file_refs(container["Configs"], "ConfigName")
    if isinstance(task.get("Networks"), list):
        task["Networks"].sort(key=lambda net: str(net.get("Target") or ""))
    endpoint = out.get("EndpointSpec") or {}
    if isinstance(endpoint.get("Ports"), list):
        endpoint["Ports"].sort(key=port_sort_key)
    return out


def without_engine_assigned_pools(
    desired_spec: Mapping[str, Any], live_spec: Mapping[str, Any]
) -> dict[str, Any]:
    """``live_spec`` of a network minus the address pools the engine picked itself.

    When the file declares no ``ipam.config``, the engine assigns a subnet from
    the Swarm's default address pool; the file cannot know it, so it is not a
    difference. When the file declares pools, the live ones are kept and
    compared.
    """
    out = copy.deepcopy(dict(live_spec))
    desired_ipam = desired_spec.get("IPAM") or {}
    live_ipam = out.get("IPAM")
    if isinstance(live_ipam, dict) and not desired_ipam.get("Config"):
        live_ipam["Config"] = []
    return out


def with_desired_file_targets(
    desired_spec: Mapping[str, Any], live_spec: Mapping[str, Any]
) -> Mapping[str, Any]:
    """``live_spec`` with each config/secret target spelled as in ``desired_spec``
    where both name the same file (``x`` and ``/run/secrets/x`` for a secret)."""
    want = (desired_spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}
    have = (live_spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}
    if not (have.get("Secrets") or have.get("Configs")):
        return live_spec
    out: dict[str, Any] = copy.deepcopy(dict(live_spec))
    container = out["TaskTemplate"]["ContainerSpec"]
    for key, name_key, secret in (
        ("Secrets", "SecretName", True),
        ("Configs", "ConfigName", False),
    ):
        spelling = {
            (ref.get(name_key), canonical_file_target(ref["File"]["Name"], secret=secret)): ref[
                "File"
            ]["Name"]
            for ref in want.get(key) or []
            if isinstance((ref.get("File") or {}).get("Name"), str)
        }
        refs = container.get(key)
        if not isinstance(refs, list):
            continue
        for ref in refs:
            file = ref.get("File")
            if isinstance(file, dict) and isinstance(file.get("Name"), str):
                path = canonical_file_target(file["Name"], secret=secret)
                file["Name"] = spelling.get((ref.get(name_key), path), file["Name"])
        _canonical_file_refs(refs, name_key)
    return out


def align_live_to_desired(desired: ClusterState, live: ClusterState) -> ClusterState:
    """``live`` with engine-assigned values the file cannot declare removed.

    Call this before diffing. That is the auto-assigned IPAM pools of networks
    whose desired spec declares none (see ``without_engine_assigned_pools``),
    and config/secret targets spelled differently for the same file (see
    ``with_desired_file_targets``); everything else the engine fills in is
    already produced by ``convert`` or stripped by ``observe``.
    """
    networks = dict(live.networks)
    for name, state in live.networks.items():
        wanted = desired.networks.get(name)
        if wanted is not None and not wanted.external and not state.external:
            networks[name] = replace(
                state, spec=without_engine_assigned_pools(wanted.spec, state.spec)
            )
    services = dict(live.services)
    for name, state in live.services.items():
        wanted = desired.services.get(name)
        if wanted is not None:
            aligned = with_desired_file_targets(wanted.spec, state.spec)
            if aligned is not state.spec:
                services[name] = replace(state, spec=aligned)
    return replace(live, networks=MappingProxyType(networks), services=MappingProxyType(services))
