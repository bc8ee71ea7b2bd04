"""Normalization of a service's ``deploy:`` section (and the legacy ``restart:``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stackctl.core.model.model import (
    Deploy,
    GenericResource,
    Placement,
    ResourceLimits,
    Resources,
    RestartPolicy,
    ServiceMode,
    UpdateConfig,
    frozen_map,
)
from stackctl.core.model.normalize_values import key_value_map, optional_duration, optional_int
from stackctl.core.model.units import parse_bytes, parse_cpus


def _labels(value: Any) -> dict[str, str]:
    return {k: "" if v is None else v for k, v in key_value_map(value).items()}


def _update_config(value: Any) -> UpdateConfig | None:
    if value is None:
        return None
    ratio = value.get("max_failure_ratio")
    return UpdateConfig(
        parallelism=optional_int(value.get("parallelism")),
        delay=optional_duration(value.get("delay")),
        failure_action=value.get("failure_action"),
        monitor=optional_duration(value.get("monitor")),
        max_failure_ratio=None if ratio is None else float(ratio),
        order=value.get("order"),
    )


def _limits(value: Any) -> ResourceLimits | None:
    if value is None:
        return None
    generic = []
    for entry in value.get("generic_resources") or []:
        if "discrete_resource_spec" in entry:
            spec = entry["discrete_resource_spec"]
            generic.append(GenericResource(kind=str(spec["kind"]), value=int(spec["value"])))
        elif "named_resource_spec" in entry:
            spec = entry["named_resource_spec"]
            generic.append(
                GenericResource(kind=str(spec["kind"]), value=str(spec["value"]), discrete=False)
            )
    cpus = value.get("cpus")
    memory = value.get("memory")
    return ResourceLimits(
        nano_cpus=None if cpus is None else parse_cpus(cpus),
        memory_bytes=None if memory is None else parse_bytes(memory),
        pids=optional_int(value.get("pids")),
        generic_resources=tuple(generic),
    )


def _restart_from_legacy(restart: Any) -> RestartPolicy | None:
    """``restart:`` is used by docker stack deploy when deploy.restart_policy is absent."""
    if not isinstance(restart, str) or restart in ("no", ""):
        return None
    name, _, count = restart.partition(":")
    attempts = int(count) if count and int(count) > 0 else None
    if name in ("always", "unless-stopped"):
        return RestartPolicy(condition="any", max_attempts=attempts)
    if name == "on-failure":
        return RestartPolicy(condition="on-failure", max_attempts=attempts)
    return None


def normalize_deploy(value: Mapping[str, Any], legacy_restart: Any) -> Deploy:
    """``deploy:`` (plus the legacy ``restart:`` fallback) -> Deploy."""
    resources = value.get("resources")
    restart = value.get("restart_policy")
    placement = value.get("placement")
    return Deploy(
        mode=ServiceMode(value.get("mode") or "replicated"),
        replicas=optional_int(value.get("replicas")),
        labels=frozen_map(_labels(value.get("labels"))),
        update_config=_update_config(value.get("update_config")),
        rollback_config=_update_config(value.get("rollback_config")),
        resources=None
        if resources is None
        else Resources(
            limits=_limits(resources.get("limits")),
            reservations=_limits(resources.get("reservations")),
        ),
        restart_policy=_restart_from_legacy(legacy_restart)
        if restart is None
        else RestartPolicy(
            condition=restart.get("condition"),
            delay=optional_duration(restart.get("delay")),
            max_attempts=optional_int(restart.get("max_attempts")),
            window=optional_duration(restart.get("window")),
        ),
        placement=None
        if placement is None
        else Placement(
            constraints=tuple(str(c) for c in placement.get("constraints") or ()),
            preferences=tuple(str(p["spread"]) for p in placement.get("preferences") or ()),
            max_replicas_per_node=optional_int(placement.get("max_replicas_per_node")),
        ),
        endpoint_mode=value.get("endpoint_mode"),
    )
