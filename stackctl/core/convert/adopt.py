"""Adopting the configs of a stack ``docker stack deploy`` deployed (pure).

stackctl names configs by content (``<stack>_<key>-<hash>``); docker names them
``<stack>_<key>``. Renaming a config restarts every service that uses it, so
when the live stack holds docker's config with exactly the file's content,
the desired state takes that config as it is (its name, its labels) and the
services keep referencing it: nothing restarts. Once the content changes, the
hashes differ and the content-addressed name is used again (a new object, a
normal rolling update).

Secrets cannot be read back (the engine never returns their data), so a
docker-named secret cannot be proven to hold the file's content: it is still
replaced by a content-addressed one, and ``secret_rename_reasons`` says why in
the plan.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import Any

from stackctl.core.model.state import (
    LABEL_LOGICAL_NAME,
    LABEL_PREFIX,
    ClusterState,
    ResourceState,
)


def _docker_name(stack: str, state: ResourceState) -> str | None:
    key = (state.spec.get("Labels") or {}).get(LABEL_LOGICAL_NAME)
    return f"{stack}_{key}" if isinstance(key, str) else None


def _without_own_labels(spec: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(dict(spec))
    labels = {k: v for k, v in (out.get("Labels") or {}).items() if not k.startswith(LABEL_PREFIX)}
    out["Labels"] = dict(sorted(labels.items()))
    return out


def _adoptable(wanted: ResourceState, found: ResourceState) -> bool:
    """Same content, and nothing but the name and labels differ (labels can be updated)."""
    if wanted.content_sha256 is None or found.content_sha256 != wanted.content_sha256:
        return False
    if found.external or (found.spec.get("Labels") or {}).get(LABEL_LOGICAL_NAME):
        return False  # stackctl's own objects keep their own names

    def rest(spec: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in spec.items() if k not in ("Name", "Labels")}

    return rest(wanted.spec) == rest(found.spec)


def adopted_config_names(desired: ClusterState, live: ClusterState) -> dict[str, str]:
    """Content-addressed config name -> the docker-named live config to use instead."""
    names: dict[str, str] = {}
    for name, wanted in desired.configs.items():
        if wanted.external or name in live.configs:
            continue
        docker_name = _docker_name(desired.stack, wanted)
        found = live.configs.get(docker_name) if docker_name else None
        if found is not None and docker_name and _adoptable(wanted, found):
            names[name] = docker_name
    return names


def _rename_refs(spec: Mapping[str, Any], names: Mapping[str, str]) -> dict[str, Any]:
    out = copy.deepcopy(dict(spec))
    container = (out.get("TaskTemplate") or {}).get("ContainerSpec") or {}
    for ref in container.get("Configs") or []:
        ref["ConfigName"] = names.get(ref.get("ConfigName"), ref.get("ConfigName"))
    credential = (container.get("Privileges") or {}).get("CredentialSpec") or {}
    if credential.get("Config") in names:
        credential["Config"] = names[credential["Config"]]
    return out


def adopt_docker_configs(desired: ClusterState, live: ClusterState) -> ClusterState:
    """``desired`` using docker's live configs where they hold the file's content.

    Idempotent: adopting an already adopted state changes nothing.
    """
    names = adopted_config_names(desired, live)
    if not names:
        return desired
    configs = {}
    for name, state in desired.configs.items():
        if name in names:
            adopted = names[name]
            spec = _without_own_labels(state.spec)
            spec["Name"] = adopted
            configs[adopted] = replace(state, name=adopted, spec=spec)
        else:
            configs[name] = state
    services = {
        name: replace(state, spec=_rename_refs(state.spec, names))
        for name, state in desired.services.items()
    }
    return replace(
        desired,
        configs=MappingProxyType(dict(sorted(configs.items()))),
        services=MappingProxyType(services),
    )


def secret_rename_reasons(desired: ClusterState, live: ClusterState) -> dict[str, str]:
    """Secret to create -> one line saying why docker's live secret is not reused."""
    reasons = {}
    for name, wanted in desired.secrets.items():
        if wanted.external or name in live.secrets:
            continue
        docker_name = _docker_name(desired.stack, wanted)
        found = live.secrets.get(docker_name) if docker_name else None
        if found is not None and not (found.spec.get("Labels") or {}).get(LABEL_LOGICAL_NAME):
            reasons[name] = (
                f"replaces {docker_name}: the engine never returns a secret's content, so "
                "stackctl cannot tell whether it matches the file; services using it restart once"
            )
    return reasons
