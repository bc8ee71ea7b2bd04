"""Waiting for the containers of removed services to be gone from this node.

The manager accepts a network's removal as soon as no service names it, but each
node keeps its copy of the network while containers of the removed services are
still starting or stopping (and a starting one brings it back): whoever removes
services and then their networks waits for those containers first.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from typing import Any

import docker.errors

from stackctl.errors import EngineError

SERVICE_ID_LABEL = "com.docker.swarm.service.id"
_POLL_S = 0.5


def wait_for_containers_gone(api: Any, service_ids: Collection[str], deadline: float) -> None:
    """Poll (one list call per round) until no local container of these services is
    left, or ``deadline`` (``time.monotonic()``) passed."""
    while service_ids and time.monotonic() < deadline:
        try:
            containers = api.containers(all=True, filters={"label": SERVICE_ID_LABEL})
        except docker.errors.APIError as exc:
            raise EngineError(f"cannot list containers: {exc.explanation}") from exc
        if not any(
            (c.get("Labels") or {}).get(SERVICE_ID_LABEL) in service_ids for c in containers
        ):
            return
        time.sleep(_POLL_S)
