"""Read one stack's live state from the engine into the comparable ``ClusterState``.

A constant number of list calls whatever the stack's size: services, networks,
configs and secrets filtered by ``com.docker.stack.namespace=<stack>``, plus
one unfiltered network list to map the IDs of networks outside the stack
(external ones) back to names, one inspect per Swarm-predefined network in use
(`host`, `bridge`: never listed), plus one name-filtered list per kind of
external config/secret the caller asks about. No per-service inspect.

The specs are then put in the comparable form (``stackctl.core.model.state``):
IDs become names, server-managed fields leave the spec (``Version.Index`` goes
to ``version``, ``UpdateStatus`` to ``status``), config data is dropped (its
hash is kept), and order-free lists are put in canonical order.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import time
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

import docker.errors

from stackctl.core.convert.comparable import canonical_service_spec
from stackctl.core.convert.convert_service import engine_image
from stackctl.core.model.state import (
    LABEL_CONTENT_HASH,
    LABEL_IMAGE,
    LABEL_NAMESPACE,
    ClusterState,
    ResourceKind,
    ResourceState,
)
from stackctl.engine.client import EngineClient, engine_errors

_ALLOCATION_RETRIES = 10
_ALLOCATION_WAIT_S = 0.1
# Engine-managed network option: the VXLAN IDs the engine picked.
_ENGINE_NETWORK_OPTIONS = frozenset({"com.docker.network.driver.overlay.vxlanid_list"})


def _strip_digest(spec: dict[str, Any]) -> str | None:
    """Undo digest pinning when the declared image (label) is unchanged.

    ``docker stack deploy`` (and the engine, when it resolves an image) store
    ``image:tag@sha256:...``; the declared image lives in ``com.docker.stack.image``.
    The comparable image is the tagged name ``convert`` produces for the declared
    image. Returns the digest when one was removed.
    """
    container = spec.get("TaskTemplate", {}).get("ContainerSpec", {})
    image = container.get("Image")
    declared = (spec.get("Labels") or {}).get(LABEL_IMAGE)
    if not isinstance(image, str) or "@sha256:" not in image or not isinstance(declared, str):
        return None
    name, _, digest = image.partition("@")
    if "@" in declared or engine_image(declared) != engine_image(name):
        return None  # the image changed behind stackctl's back: keep it visible
    container["Image"] = engine_image(declared)
    return digest


# Swarm stopped its update half-way (update_config failure_action: pause); the
# previous spec is still where some tasks are. (In "rollback_paused" the spec is
# already the one being returned to.)
PAUSED_UPDATE = "paused"


def live_service_state(raw: Mapping[str, Any], network_names: Mapping[str, str]) -> ResourceState:
    """One service as listed by the engine -> its comparable ``ResourceState``.

    ``network_names`` maps network IDs to names. ``status["PreviousEnv"]`` is the
    environment of Swarm's ``PreviousSpec`` (``stackctl.core.history.sealed_env`` restores
    sealed revision values from it). When Swarm paused the service's
    update, ``status["PausedFromSpec"]`` holds the comparable ``PreviousSpec``:
    the spec the tasks the update did not reach still run, which is what an
    apply that resumes the update must return to if it fails again.
    """
    spec, digest = _comparable_service_spec(raw.get("Spec") or {}, network_names)
    status: dict[str, Any] = {"PreviousSpec": "PreviousSpec" in raw}
    previous_env = (
        ((raw.get("PreviousSpec") or {}).get("TaskTemplate") or {}).get("ContainerSpec") or {}
    ).get("Env")
    if previous_env:  # where a revision's sealed env values may still be found
        status["PreviousEnv"] = tuple(previous_env)
    if "UpdateStatus" in raw:
        status["UpdateStatus"] = raw["UpdateStatus"]
        previous = raw.get("PreviousSpec")
        if (raw["UpdateStatus"] or {}).get("State") == PAUSED_UPDATE and previous:
            status["PausedFromSpec"] = _comparable_service_spec(previous, network_names)[0]
    if "JobStatus" in raw:
        status["JobStatus"] = raw["JobStatus"]
    if digest:
        status["ImageDigest"] = digest
    return ResourceState(
        kind=ResourceKind.SERVICE,
        name=str(spec.get("Name", "")),
        spec=spec,
        id=raw.get("ID"),
        version=(raw.get("Version") or {}).get("Index"),
        status=MappingProxyType(status),
    )


def _comparable_service_spec(
    raw_spec: Mapping[str, Any], network_names: Mapping[str, str]
) -> tuple[dict[str, Any], str | None]:
    """A service spec as the engine stores it -> comparable form, and the digest removed."""
    spec: dict[str, Any] = copy.deepcopy(dict(raw_spec))
    task = spec.setdefault("TaskTemplate", {})
    container = task.get("ContainerSpec") or {}
    for net in task.get("Networks") or []:
        net["Target"] = network_names.get(net.get("Target", ""), net.get("Target"))
    config_names: dict[str, str] = {}
    for ref in container.get("Configs") or []:
        config_names[ref.get("ConfigID", "")] = ref.get("ConfigName", "")
        ref.pop("ConfigID", None)
    for ref in container.get("Secrets") or []:
        ref.pop("SecretID", None)
    credential = (container.get("Privileges") or {}).get("CredentialSpec")
    if isinstance(credential, dict) and credential.get("Config"):
        credential["Config"] = config_names.get(credential["Config"], credential["Config"])
    # Platforms are resolved from the image by the engine/CLI; a file cannot declare them.
    (task.get("Placement") or {}).pop("Platforms", None)
    digest = _strip_digest(spec)
    return canonical_service_spec(spec), digest


def _network_state(raw: Mapping[str, Any], *, external: bool = False) -> ResourceState:
    name = str(raw.get("Name", ""))
    if external:
        spec: dict[str, Any] = {"Name": name}
    else:
        ipam = raw.get("IPAM") or {}
        # The engine fills in a gateway per pool; stack files cannot set one.
        pools = [
            {k: v for k, v in pool.items() if k != "Gateway"} for pool in ipam.get("Config") or []
        ]
        spec = {
            "Name": name,
            "Driver": raw.get("Driver"),
            "Scope": raw.get("Scope"),
            "Internal": bool(raw.get("Internal")),
            "Attachable": bool(raw.get("Attachable")),
            "Options": {
                k: v
                for k, v in (raw.get("Options") or {}).items()
                if k not in _ENGINE_NETWORK_OPTIONS
            },
            "IPAM": {
                "Driver": ipam.get("Driver") or "default",
                "Options": dict(ipam.get("Options") or {}),
                "Config": pools,
            },
            "Labels": dict(raw.get("Labels") or {}),
        }
    # An external network's scope decides whether services may join it
    # (stackctl.core.validate.external_networks).
    status = MappingProxyType({"Scope": raw.get("Scope")} if external else {})
    return ResourceState(
        kind=ResourceKind.NETWORK,
        name=name,
        spec=spec,
        id=raw.get("Id"),
        external=external,
        status=status,
    )


def _file_object_state(
    kind: ResourceKind, raw: Mapping[str, Any], *, external: bool = False
) -> ResourceState:
    spec = {k: v for k, v in dict(raw.get("Spec") or {}).items() if k != "Data"}
    name = str(spec.get("Name", ""))
    labels = spec.get("Labels") or {}
    digest = labels.get(LABEL_CONTENT_HASH)
    data = (raw.get("Spec") or {}).get("Data")
    if digest is None and kind is ResourceKind.CONFIG and isinstance(data, str):
        # Configs (not secrets) come back with their data: hash it for comparison.
        try:
            digest = hashlib.sha256(base64.b64decode(data)).hexdigest()
        except (binascii.Error, ValueError):
            digest = None
    if external:
        spec = {"Name": name}
    return ResourceState(
        kind=kind,
        name=name,
        spec=spec,
        id=raw.get("ID"),
        version=(raw.get("Version") or {}).get("Index"),
        content_sha256=digest,
        external=external,
    )


def _file_objects(
    kind: ResourceKind,
    in_stack: Iterable[Mapping[str, Any]],
    candidates: Iterable[Mapping[str, Any]],
    wanted: Mapping[ResourceKind, set[str]],
) -> list[ResourceState]:
    states = [_file_object_state(kind, raw) for raw in in_stack]
    seen = {state.name for state in states}
    # The name filter matches substrings: keep exact matches only.
    for raw in candidates:
        name = (raw.get("Spec") or {}).get("Name")
        if name in wanted[kind] and name not in seen:
            states.append(_file_object_state(kind, raw, external=True))
            seen.add(name)
    return states


def _settled_networks(
    client: EngineClient, raw_networks: list[dict[str, Any]], stack_name: str
) -> list[dict[str, Any]]:
    """The network list once the engine has allocated every stack network.

    For a few milliseconds after creation a Swarm network is listed without its
    driver and address pools (allocation pending); reading it then would show a
    spurious driver change. Re-list a bounded number of times.
    """
    for _ in range(_ALLOCATION_RETRIES):
        pending = [
            n
            for n in raw_networks
            if (n.get("Labels") or {}).get(LABEL_NAMESPACE) == stack_name and not n.get("Driver")
        ]
        if not pending:
            break
        time.sleep(_ALLOCATION_WAIT_S)
        with engine_errors(client.endpoint, "list networks"):
            raw_networks = client.api.networks()
    return raw_networks


def _predefined_networks(
    client: EngineClient, raw_services: Iterable[Mapping[str, Any]], known: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Networks the services use that the network list does not show.

    Swarm gives its predefined node-local networks (``host``, ``bridge``) IDs of
    their own that ``GET /networks`` never lists; they are inspected one by one.
    That is one call per distinct such network, not per service.
    """
    unknown = {
        str(net.get("Target"))
        for raw in raw_services
        for net in ((raw.get("Spec") or {}).get("TaskTemplate") or {}).get("Networks") or []
        if net.get("Target") not in known
    }
    found = []
    for network_id in sorted(unknown):
        with engine_errors(client.endpoint, f"inspect network {network_id}"):
            try:
                found.append(client.api.inspect_network(network_id, scope="swarm"))
            except docker.errors.NotFound:
                continue  # removed since: the spec keeps the ID
    return found


def _by_name(states: Iterable[ResourceState]) -> Mapping[str, ResourceState]:
    return MappingProxyType({s.name: s for s in sorted(states, key=lambda s: s.name)})


def external_references(desired: ClusterState) -> list[tuple[ResourceKind, str]]:
    """The external resources of ``desired``, in the form ``observe_stack(external=...)`` takes."""
    return [
        (kind, state.name)
        for kind in (ResourceKind.NETWORK, ResourceKind.CONFIG, ResourceKind.SECRET)
        for state in desired.of_kind(kind).values()
        if state.external
    ]


def observe_stack(
    client: EngineClient,
    stack_name: str,
    *,
    external: Iterable[tuple[ResourceKind, str]] = (),
) -> ClusterState:
    """The live state of ``stack_name``.

    ``external`` names resources outside the stack (``(kind, engine name)``, e.g.
    the external networks, configs and secrets of the desired state) to look up
    as well: those found appear with ``external=True`` and a spec of just their
    name, so a missing one shows up as a difference. External networks that the
    stack's services use are always included.
    """
    api = client.api
    label = {"label": f"{LABEL_NAMESPACE}={stack_name}"}
    wanted: dict[ResourceKind, set[str]] = {kind: set() for kind in ResourceKind}
    for kind, name in external:
        wanted[kind].add(name)
    with engine_errors(client.endpoint, "list the stack's resources"):
        raw_services = api.services(filters=label)
        raw_networks = api.networks()  # unfiltered: maps external network IDs to names
        raw_configs = api.configs(filters=label)
        raw_secrets = api.secrets(filters=label)
        extra_configs = (
            api.configs(filters={"name": sorted(wanted[ResourceKind.CONFIG])})
            if wanted[ResourceKind.CONFIG]
            else []
        )
        extra_secrets = (
            api.secrets(filters={"name": sorted(wanted[ResourceKind.SECRET])})
            if wanted[ResourceKind.SECRET]
            else []
        )

    raw_networks = _settled_networks(client, raw_networks, stack_name)
    network_names = {n["Id"]: n["Name"] for n in raw_networks}
    raw_networks += _predefined_networks(client, raw_services, network_names)
    network_names.update({n["Id"]: n["Name"] for n in raw_networks})
    services = [live_service_state(raw, network_names) for raw in raw_services]
    in_stack = [
        n for n in raw_networks if (n.get("Labels") or {}).get(LABEL_NAMESPACE) == stack_name
    ]
    used_targets = {
        str(net.get("Target"))
        for service in services
        for net in service.spec.get("TaskTemplate", {}).get("Networks") or []
    }
    stack_network_names = {n["Name"] for n in in_stack}
    outside = [
        n
        for n in raw_networks
        if n["Name"] not in stack_network_names
        and (n["Name"] in used_targets or n["Name"] in wanted[ResourceKind.NETWORK])
    ]
    networks = [_network_state(n) for n in in_stack] + [
        _network_state(n, external=True) for n in outside
    ]
    configs = _file_objects(ResourceKind.CONFIG, raw_configs, extra_configs, wanted)
    secrets = _file_objects(ResourceKind.SECRET, raw_secrets, extra_secrets, wanted)
    return ClusterState(
        stack=stack_name,
        networks=_by_name(networks),
        configs=_by_name(configs),
        secrets=_by_name(secrets),
        services=_by_name(services),
    )
