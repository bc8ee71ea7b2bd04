"""Desired and live state share one shape, so diffing compares like with like.

``convert(stack, stack_name)`` (pure) produces a ``ClusterState`` from the file;
the engine adapter's ``observe(stack_name)`` produces one from the cluster. Each
resource holds its Engine API spec as plain JSON-shaped data (the body that
``POST /services/create`` etc. takes), in a *comparable* form:

- references are by **name**, never by ID: ``TaskTemplate.Networks[].Target``
  holds the network name, ``ContainerSpec.Configs[].ConfigName`` /
  ``Secrets[].SecretName`` hold object names and ``ConfigID``/``SecretID`` are
  left out. The adapter resolves names to IDs when it writes, and maps IDs back
  to names when it reads.
- config and secret payloads (``Data``) are not part of the spec: content is
  identified by the ``content_sha256`` field of ``ResourceState`` (and by the
  content-addressed object name), so secret values never enter a plan or diff.
- server-managed fields (ID, Version, CreatedAt, UpdatedAt, UpdateStatus,
  Endpoint, PreviousSpec) are not in ``spec``; the few that matter are fields of
  ``ResourceState``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any


class ResourceKind(StrEnum):
    NETWORK = "network"
    CONFIG = "config"
    SECRET = "secret"
    SERVICE = "service"


# Order in which resources are created (and, reversed, removed).
APPLY_ORDER: tuple[ResourceKind, ...] = (
    ResourceKind.NETWORK,
    ResourceKind.CONFIG,
    ResourceKind.SECRET,
    ResourceKind.SERVICE,
)

# Label keys. Docker's own are kept so stacks stay interchangeable with
# `docker stack deploy`; stackctl's live under io.stackctl.
# Service UpdateStatus states in which Swarm stopped an update half-way
# (update_config failure_action: pause, or a rollback of its own that failed).
SWARM_PAUSED_STATES = frozenset({"paused", "rollback_paused"})
# ... and in which Swarm is still working on one.
SWARM_BUSY_STATES = frozenset({"updating", "rollback_started"})

LABEL_NAMESPACE = "com.docker.stack.namespace"
LABEL_IMAGE = "com.docker.stack.image"
LABEL_PREFIX = "io.stackctl."
LABEL_CONTENT_HASH = "io.stackctl.content-sha256"  # on configs and secrets
LABEL_LOGICAL_NAME = "io.stackctl.name"  # key under configs:/secrets: in the file
LABEL_IGNORE_CHANGES = "io.stackctl.ignore-changes"  # on services: fields left to others
# On services: comma-separated env names whose values came from an encrypted file.
LABEL_SENSITIVE_ENV = "io.stackctl.sensitive-env"


@dataclass(frozen=True)
class ResourceState:
    """One network, config, secret or service, desired or live."""

    kind: ResourceKind
    name: str  # full engine name, e.g. "shop_web"
    spec: Mapping[str, Any]  # comparable Engine API spec (see module docstring)
    id: str | None = None  # live only
    version: int | None = None  # live only: the object's Version.Index
    content_sha256: str | None = None  # configs and secrets
    external: bool = False  # declared external in the file: must exist, never written
    status: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    """Live only, services: ``UpdateStatus`` and ``PreviousSpec`` presence, as read."""


@dataclass(frozen=True)
class ClusterState:
    """Every resource of one stack, keyed by full engine name per kind."""

    stack: str
    networks: Mapping[str, ResourceState] = field(default_factory=lambda: MappingProxyType({}))
    configs: Mapping[str, ResourceState] = field(default_factory=lambda: MappingProxyType({}))
    secrets: Mapping[str, ResourceState] = field(default_factory=lambda: MappingProxyType({}))
    services: Mapping[str, ResourceState] = field(default_factory=lambda: MappingProxyType({}))

    def of_kind(self, kind: ResourceKind) -> Mapping[str, ResourceState]:
        return {
            ResourceKind.NETWORK: self.networks,
            ResourceKind.CONFIG: self.configs,
            ResourceKind.SECRET: self.secrets,
            ResourceKind.SERVICE: self.services,
        }[kind]
