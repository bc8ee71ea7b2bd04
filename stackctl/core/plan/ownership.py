"""Fields a stack file leaves to others: set on create, never reverted (pure).

A service may say, in its ``x-stackctl`` extension::

    x-stackctl:
      ignore_changes: [deploy.replicas, image]

for fields another tool owns after the service exists: an autoscaler or an
operator's ``docker service scale`` (``deploy.replicas``), an image updater
(``image``). The conversion records the list in the service label
``io.stackctl.ignore-changes``; before any plan, ``keep_fields_left_to_others``
copies those fields from the live service into the desired spec. So a service
is created with the file's values, and afterwards a different live value is
neither a change nor drift, and an update for any other reason writes the live
value back unchanged. The file's own value is ignored too once the service
exists (as Terraform's ``ignore_changes``): to change it from the file, take
the field out of the list for that apply. A change of mode (replicated ->
global) is not covered: it recreates the service.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import Any

from stackctl.core.model.state import (
    LABEL_IGNORE_CHANGES,
    LABEL_IMAGE,
    ClusterState,
    ResourceState,
)


def ignored_fields(spec: Mapping[str, Any]) -> tuple[str, ...]:
    """The fields a service spec leaves to others (from its label)."""
    value = (spec.get("Labels") or {}).get(LABEL_IGNORE_CHANGES) or ""
    return tuple(f for f in str(value).split(",") if f)


def keep_fields_left_to_others(desired: ClusterState, live: ClusterState) -> ClusterState:
    """``desired`` with each left-to-others field of a live service set to its live value."""
    services: dict[str, ResourceState] = {}
    changed = False
    for name, want in desired.services.items():
        have = live.services.get(name)
        fields = ignored_fields(want.spec)
        if have is None or not fields:
            services[name] = want
            continue
        spec = _with_live_fields(want.spec, have.spec, fields)
        services[name] = replace(want, spec=spec)
        changed = True
    if not changed:
        return desired
    return replace(desired, services=MappingProxyType(services))


def _with_live_fields(
    want: Mapping[str, Any], have: Mapping[str, Any], fields: tuple[str, ...]
) -> dict[str, Any]:
    out = dict(want)
    if "deploy.replicas" in fields:
        want_mode, have_mode = want.get("Mode") or {}, have.get("Mode") or {}
        live = (have_mode.get("Replicated") or {}).get("Replicas")
        if "Replicated" in want_mode and "Replicated" in have_mode and live is not None:
            out["Mode"] = {"Replicated": {**(want_mode.get("Replicated") or {}), "Replicas": live}}
    if "image" in fields:
        task = dict(out.get("TaskTemplate") or {})
        container = dict(task.get("ContainerSpec") or {})
        live_image = ((have.get("TaskTemplate") or {}).get("ContainerSpec") or {}).get("Image")
        if live_image:
            container["Image"] = live_image
            task["ContainerSpec"] = container
            out["TaskTemplate"] = task
        live_label = (have.get("Labels") or {}).get(LABEL_IMAGE)
        if live_label is not None:
            out["Labels"] = {**(out.get("Labels") or {}), LABEL_IMAGE: live_label}
    return out
