"""Normalized ``Stack`` -> desired ``ClusterState`` (pure).

Produces, resource by resource, the comparable spec the engine stores when
``docker stack deploy`` deploys the same file (see ``convert_service`` for
services), with one intentional difference: configs and secrets are named by
content (``<stack>_<name>-<first 10 hex of sha256>``) so new content becomes a
new object instead of an update Swarm refuses. ``docs/conversion.md`` lists
every rule and difference.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from stackctl.core.convert.convert_service import (
    DEFAULT_NETWORK,
    convert_service,
    network_engine_name,
    scoped,
    with_namespace,
)
from stackctl.core.model.model import FileObject, Network, Stack
from stackctl.core.model.state import (
    LABEL_CONTENT_HASH,
    LABEL_LOGICAL_NAME,
    ClusterState,
    ResourceKind,
    ResourceState,
)

CONTENT_HASH_CHARS = 10
DEFAULT_NETWORK_DRIVER = "overlay"


def content_hash(obj: FileObject) -> str | None:
    """The object's content sha256 (hex), from the loader or computed from its bytes."""
    if obj.content_sha256:
        return obj.content_sha256
    if obj.content is not None:
        return hashlib.sha256(obj.content).hexdigest()
    return None


def file_object_engine_name(stack_name: str, key: str, obj: FileObject) -> str:
    """Engine name of a config or secret.

    ``external`` or an explicit ``name:`` keep the declared name; otherwise the
    name is scoped to the stack and suffixed with the content hash.
    """
    if obj.external_name:
        return obj.external_name
    if obj.external:
        return key
    digest = content_hash(obj)
    base = scoped(stack_name, key)
    return f"{base}-{digest[:CONTENT_HASH_CHARS]}" if digest else base


def _file_object_state(
    kind: ResourceKind, stack_name: str, key: str, obj: FileObject
) -> ResourceState:
    name = file_object_engine_name(stack_name, key, obj)
    if obj.external:
        return ResourceState(
            kind=kind, name=name, spec=MappingProxyType({"Name": name}), external=True
        )
    digest = content_hash(obj)
    labels = with_namespace(stack_name, obj.labels)
    labels[LABEL_LOGICAL_NAME] = key
    if digest:
        labels[LABEL_CONTENT_HASH] = digest
    spec: dict[str, Any] = {"Name": name, "Labels": dict(sorted(labels.items()))}
    if obj.template_driver:
        spec["Templating"] = {"Name": obj.template_driver}
    if kind is ResourceKind.SECRET and obj.driver:
        spec["Driver"] = {"Name": obj.driver, "Options": dict(obj.driver_opts)}
    return ResourceState(kind=kind, name=name, spec=spec, content_sha256=digest)


def network_spec(stack_name: str, name: str, network: Network | None) -> dict[str, Any]:
    """Comparable network spec (the fields of ``POST /networks/create`` the engine keeps)."""
    network = network or Network(name=DEFAULT_NETWORK)
    ipam_config = [{"Subnet": pool.subnet} for pool in network.ipam_config if pool.subnet]
    return {
        "Name": name,
        "Driver": network.driver or DEFAULT_NETWORK_DRIVER,
        "Scope": "swarm",
        "Internal": network.internal,
        "Attachable": network.attachable,
        "Options": dict(network.driver_opts),
        "IPAM": {"Driver": network.ipam_driver or "default", "Options": {}, "Config": ipam_config},
        "Labels": with_namespace(stack_name, network.labels),
    }


def network_create_body(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The ``POST /networks/create`` body ``docker stack deploy`` sends for ``spec``.

    The comparable spec holds the network as the engine reads it back (``Scope:
    swarm``, a default IPAM block). docker sends neither: the engine gives an
    overlay network swarm scope itself, and sending ``Scope: swarm`` would make
    the engine create a swarm-scoped network with any driver (a ``bridge`` one
    docker never creates). The IPAM block is sent only when the file declares
    an IPAM driver or pools, as docker does.
    """
    body = {k: copy.deepcopy(v) for k, v in spec.items() if k not in ("Scope", "IPAM")}
    ipam = spec.get("IPAM") or {}
    if ipam.get("Config") or (ipam.get("Driver") or "default") != "default" or ipam.get("Options"):
        body["IPAM"] = {"Driver": ipam.get("Driver") or "default"}
        if ipam.get("Options"):
            body["IPAM"]["Options"] = dict(ipam["Options"])
        body["IPAM"]["Config"] = [dict(pool) for pool in ipam.get("Config") or []]
    body["CheckDuplicate"] = True
    return body


def _network_states(stack: Stack, stack_name: str) -> dict[str, ResourceState]:
    # Like docker: only networks some service joins are created.
    used: set[str] = set()
    for service in stack.services.values():
        used.update([n.name for n in service.networks] or [DEFAULT_NETWORK])
    states: dict[str, ResourceState] = {}
    for key in sorted(used):
        network = stack.networks.get(key)
        name = network_engine_name(stack_name, key, network)
        if network is not None and network.external:
            spec: dict[str, Any] = {"Name": name}
            states[name] = ResourceState(ResourceKind.NETWORK, name, spec, external=True)
        else:
            states[name] = ResourceState(
                ResourceKind.NETWORK, name, network_spec(stack_name, name, network)
            )
    return states


def _freeze(states: Mapping[str, ResourceState]) -> Mapping[str, ResourceState]:
    return MappingProxyType(dict(sorted(states.items())))


def convert_stack(stack: Stack, stack_name: str) -> ClusterState:
    """The desired state of ``stack`` deployed as ``stack_name``."""
    configs = {
        key: _file_object_state(ResourceKind.CONFIG, stack_name, key, obj)
        for key, obj in stack.configs.items()
    }
    secrets = {
        key: _file_object_state(ResourceKind.SECRET, stack_name, key, obj)
        for key, obj in stack.secrets.items()
    }
    config_names = {key: state.name for key, state in configs.items()}
    secret_names = {key: state.name for key, state in secrets.items()}
    services = {}
    for service in stack.services.values():
        spec = convert_service(
            service, stack, stack_name, config_names=config_names, secret_names=secret_names
        )
        services[spec["Name"]] = ResourceState(ResourceKind.SERVICE, spec["Name"], spec)
    return ClusterState(
        stack=stack_name,
        networks=_freeze(_network_states(stack, stack_name)),
        configs=_freeze({s.name: s for s in configs.values()}),
        secrets=_freeze({s.name: s for s in secrets.values()}),
        services=_freeze(services),
    )
