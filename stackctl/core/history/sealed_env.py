"""Sensitive env values in stored revisions: sealed when stored, restored from the cluster.

A revision holds the desired service specs as applied, so that a rollback needs
nothing but the cluster. Environment values whose names look sensitive
(``stackctl.core.render.redact.is_sensitive_name``: ``DB_PASSWORD``, ``API_TOKEN``, ...,
and every name the spec's ``io.stackctl.sensitive-env`` label lists: values decrypted
from ``.age`` env files) must not be in it: revisions are Swarm configs, readable by
anyone who can list configs, and they outlive the value. So each such value is stored *sealed*: a
SHA-256 digest of the service name, the variable name and the value, which can
prove that a value is the one applied without holding it.

When a revision is read back to plan against the cluster (rollback, ``status``,
``diff --revision``, three-way drift), every sealed value is restored from the
live service: its current environment, or the one of its previous spec (Swarm
keeps one), when the digest matches. A value no longer present anywhere in the
cluster cannot be restored; it stays sealed, shows as a (sensitive) change, and a
rollback refuses to write it (``unrestored``).

The digest is salted per service and variable but not secret: someone who can
read revisions can test guesses of a weak password offline. The same people can
read the live value itself with ``docker service inspect``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from types import MappingProxyType
from typing import Any

from stackctl.core.model.state import ClusterState, ResourceState
from stackctl.core.plan.plan_model import SENSITIVE
from stackctl.core.render.redact import is_sensitive_name, sensitive_env_names

SEALED_PREFIX = "stackctl-sealed:sha256:"


def seal_value(service: str, name: str, value: str) -> str:
    """The stored form of ``value`` of env variable ``name`` of ``service``."""
    material = "\0".join(("stackctl-env", service, name, value)).encode()
    return SEALED_PREFIX + hashlib.sha256(material).hexdigest()


def is_sealed(value: str) -> bool:
    return value.startswith(SEALED_PREFIX)


def _env_of(spec: Mapping[str, Any]) -> Sequence[Any]:
    container = (spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}
    env = container.get("Env")
    return env if isinstance(env, list | tuple) else ()


def _with_env(spec: Mapping[str, Any], env: list[str]) -> dict[str, Any]:
    task = dict(spec.get("TaskTemplate") or {})
    task["ContainerSpec"] = {**(task.get("ContainerSpec") or {}), "Env": env}
    return {**spec, "TaskTemplate": task}


def seal_service_spec(service: str, spec: Mapping[str, Any]) -> Mapping[str, Any]:
    """``spec`` with every sensitive env value sealed (``spec`` itself when it has none)."""
    env = _env_of(spec)
    also = sensitive_env_names(spec)  # decrypted from .age files, whatever the name
    sealed: list[str] = []
    for item in env:
        name, sep, value = str(item).partition("=")
        # "(sensitive)" is a redacted placeholder (saved plans), not a value to seal.
        if sep and is_sensitive_name(name, also) and not is_sealed(value) and value != SENSITIVE:
            item = f"{name}={seal_value(service, name, value)}"
        sealed.append(str(item))
    return _with_env(spec, sealed) if sealed != list(env) else spec


def _candidates(live: ResourceState | None) -> dict[str, list[str]]:
    """Values the live service holds per variable: its spec's, then its previous spec's."""
    values: dict[str, list[str]] = {}
    if live is None:
        return values
    previous = live.status.get("PreviousEnv") or ()
    for item in [*_env_of(live.spec), *previous]:
        name, sep, value = str(item).partition("=")
        if sep:
            values.setdefault(name, []).append(value)
    return values


def _restored(service: ResourceState, live: ResourceState | None) -> ResourceState:
    env = _env_of(service.spec)
    if not any(is_sealed(str(item).partition("=")[2]) for item in env):
        return service
    known = _candidates(live)
    out: list[str] = []
    for item in env:
        name, _, value = str(item).partition("=")
        if is_sealed(value):
            match = next(
                (v for v in known.get(name, ()) if seal_value(service.name, name, v) == value),
                None,
            )
            if match is not None:
                item = f"{name}={match}"
        out.append(str(item))
    return replace(service, spec=_with_env(service.spec, out))


def restore_sealed(state: ClusterState, live: ClusterState) -> ClusterState:
    """``state`` with each sealed env value replaced by the live value it seals, where found."""
    services = {name: _restored(s, live.services.get(name)) for name, s in state.services.items()}
    if all(services[name] is s for name, s in state.services.items()):
        return state
    return replace(state, services=MappingProxyType(services))


def sealed_names(spec: Mapping[str, Any]) -> list[str]:
    """The env variables of a service spec whose value is still sealed."""
    return [
        name
        for name, _, value in (str(item).partition("=") for item in _env_of(spec))
        if is_sealed(value)
    ]


def unrestored(services: Iterable[ResourceState]) -> list[tuple[str, str]]:
    """``(service, variable)`` for every env value still sealed."""
    return [(service.name, name) for service in services for name in sealed_names(service.spec)]
