"""The normalized stack: one canonical, typed, frozen model of a stack file.

Loading, interpolation, merging and validation work on plain documents; their
last step (``normalize``) produces these objects, and every later stage
(conversion, diff, revisions) reads only them. Short syntax has become long
syntax, defaults that ``docker stack deploy`` applies have been applied, and
every collection has a deterministic order, so two files that mean the same
thing normalize to equal objects.

Units are fixed here so nobody has to guess:

- durations are integer **nanoseconds** (the Engine API's unit);
- byte sizes are integer **bytes**;
- CPUs are integer **nano-CPUs** (``cpus: "0.5"`` -> 500_000_000).

``None`` means "the file does not say"; it never means "unmanaged".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any


def frozen_map(items: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    """A read-only mapping with keys in sorted order (deterministic iteration)."""
    if not items:
        return MappingProxyType({})
    return MappingProxyType({k: items[k] for k in sorted(items)})


class ServiceMode(StrEnum):
    REPLICATED = "replicated"
    GLOBAL = "global"
    REPLICATED_JOB = "replicated-job"
    GLOBAL_JOB = "global-job"


@dataclass(frozen=True)
class Port:
    """A published port (long syntax)."""

    target: int
    published: int | None = None
    protocol: str = "tcp"  # tcp | udp | sctp
    mode: str = "ingress"  # ingress | host


@dataclass(frozen=True)
class Mount:
    """A service mount (long syntax of ``volumes:``)."""

    type: str  # volume | bind | tmpfs | npipe | cluster
    target: str
    source: str | None = None
    read_only: bool = False
    consistency: str | None = None
    bind_propagation: str | None = None
    volume_nocopy: bool = False
    tmpfs_size: int | None = None  # bytes
    tmpfs_mode: int | None = None  # octal permission bits as int


@dataclass(frozen=True)
class FileReference:
    """A config or secret attached to a service (long syntax)."""

    source: str  # the key under top-level configs:/secrets:
    # File path in the container. Defaults to <source> like docker stack deploy sends it;
    # the engine puts relative secret targets under /run/secrets/ and configs under /.
    target: str
    uid: str = "0"
    gid: str = "0"
    mode: int = 0o444


@dataclass(frozen=True)
class ServiceNetwork:
    """A network the service joins."""

    name: str  # the key under top-level networks:
    aliases: tuple[str, ...] = ()
    ipv4_address: str | None = None
    ipv6_address: str | None = None
    driver_opts: Mapping[str, str] = field(default_factory=frozen_map)  # per-attachment options


@dataclass(frozen=True)
class Healthcheck:
    test: tuple[str, ...] | None = None  # e.g. ("CMD-SHELL", "wget -q ...") ; ("NONE",) disables
    interval: int | None = None  # ns
    timeout: int | None = None  # ns
    retries: int | None = None
    start_period: int | None = None  # ns
    start_interval: int | None = None  # ns
    disable: bool = False


@dataclass(frozen=True)
class UpdateConfig:
    """``deploy.update_config`` / ``deploy.rollback_config``."""

    parallelism: int | None = None
    delay: int | None = None  # ns
    failure_action: str | None = None  # continue | rollback | pause
    monitor: int | None = None  # ns
    max_failure_ratio: float | None = None
    order: str | None = None  # stop-first | start-first


@dataclass(frozen=True)
class RestartPolicy:
    condition: str | None = None  # none | on-failure | any
    delay: int | None = None  # ns
    max_attempts: int | None = None
    window: int | None = None  # ns


@dataclass(frozen=True)
class GenericResource:
    kind: str
    value: int | str  # int for discrete_resource_spec, str for named_resource_spec
    discrete: bool = True


@dataclass(frozen=True)
class ResourceLimits:
    nano_cpus: int | None = None
    memory_bytes: int | None = None
    pids: int | None = None
    generic_resources: tuple[GenericResource, ...] = ()


@dataclass(frozen=True)
class Resources:
    limits: ResourceLimits | None = None
    reservations: ResourceLimits | None = None


@dataclass(frozen=True)
class Placement:
    constraints: tuple[str, ...] = ()
    preferences: tuple[str, ...] = ()  # spread descriptors, e.g. "node.labels.az"
    max_replicas_per_node: int | None = None


@dataclass(frozen=True)
class Deploy:
    mode: ServiceMode = ServiceMode.REPLICATED
    replicas: int | None = None  # None: the engine's default (1) for replicated
    labels: Mapping[str, str] = field(default_factory=frozen_map)
    update_config: UpdateConfig | None = None
    rollback_config: UpdateConfig | None = None
    resources: Resources | None = None
    restart_policy: RestartPolicy | None = None
    placement: Placement | None = None
    endpoint_mode: str | None = None  # vip | dnsrr


@dataclass(frozen=True)
class Ulimit:
    name: str
    soft: int
    hard: int


@dataclass(frozen=True)
class Logging:
    driver: str | None = None
    options: Mapping[str, str] = field(default_factory=frozen_map)


@dataclass(frozen=True)
class CredentialSpec:
    config: str | None = None
    file: str | None = None
    registry: str | None = None


@dataclass(frozen=True)
class DependsOn:
    """``depends_on`` entry; ``condition`` follows the Compose Specification."""

    service: str
    # service_started | service_healthy | service_completed_successfully
    condition: str = "service_started"


IGNORABLE_FIELDS = ("deploy.replicas", "image")
"""What ``x-stackctl.ignore_changes`` may name: fields another tool may own."""


@dataclass(frozen=True)
class Service:
    name: str  # key under services:, without the stack prefix
    image: str
    command: tuple[str, ...] | None = None
    entrypoint: tuple[str, ...] | None = None
    environment: Mapping[str, str | None] = field(default_factory=frozen_map)
    labels: Mapping[str, str] = field(default_factory=frozen_map)  # container labels
    ports: tuple[Port, ...] = ()
    volumes: tuple[Mount, ...] = ()
    networks: tuple[ServiceNetwork, ...] = ()  # sorted by name; empty means the default network
    configs: tuple[FileReference, ...] = ()
    secrets: tuple[FileReference, ...] = ()
    healthcheck: Healthcheck | None = None
    deploy: Deploy = field(default_factory=Deploy)
    depends_on: tuple[DependsOn, ...] = ()
    ignore_changes: tuple[str, ...] = ()
    """``x-stackctl.ignore_changes``: fields set on create and then left to others
    (``deploy.replicas``, ``image``); see ``stackctl.core.plan.ownership``."""
    user: str | None = None
    working_dir: str | None = None
    hostname: str | None = None
    dns: tuple[str, ...] = ()
    dns_search: tuple[str, ...] = ()
    dns_opt: tuple[str, ...] = ()
    extra_hosts: tuple[str, ...] = ()  # "host:ip" as written (order preserved)
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    group_add: tuple[str, ...] = ()
    sysctls: Mapping[str, str] = field(default_factory=frozen_map)
    ulimits: tuple[Ulimit, ...] = ()
    init: bool | None = None
    read_only: bool = False
    tty: bool = False
    stdin_open: bool = False
    stop_signal: str | None = None
    stop_grace_period: int | None = None  # ns
    logging: Logging | None = None
    isolation: str | None = None
    credential_spec: CredentialSpec | None = None
    oom_score_adj: int | None = None
    extensions: Mapping[str, Any] = field(default_factory=frozen_map)  # x-* keys
    # Environment names whose value was decrypted from an .age file: never shown.
    sensitive_env: tuple[str, ...] = ()


@dataclass(frozen=True)
class IPAMPool:
    subnet: str | None = None
    ip_range: str | None = None
    gateway: str | None = None
    aux_addresses: Mapping[str, str] = field(default_factory=frozen_map)


@dataclass(frozen=True)
class Network:
    name: str  # key under networks:
    external: bool = False
    external_name: str | None = None  # name: (or external.name) when given
    driver: str | None = None  # None -> overlay at conversion
    driver_opts: Mapping[str, str] = field(default_factory=frozen_map)
    attachable: bool = False
    internal: bool = False
    ipam_driver: str | None = None
    ipam_config: tuple[IPAMPool, ...] = ()
    labels: Mapping[str, str] = field(default_factory=frozen_map)


@dataclass(frozen=True)
class Volume:
    name: str
    external: bool = False
    external_name: str | None = None
    driver: str | None = None
    driver_opts: Mapping[str, str] = field(default_factory=frozen_map)
    labels: Mapping[str, str] = field(default_factory=frozen_map)


@dataclass(frozen=True)
class FileObject:
    """A top-level config or secret.

    ``content`` is the file's bytes, read at load time (needed to create the
    object and to compute its content hash). It is excluded from ``repr`` so it
    cannot leak through logs, and revisions store only ``content_sha256``.
    """

    name: str  # key under configs:/secrets:
    file: str | None = None  # absolute path after loading
    external: bool = False
    external_name: str | None = None  # name: (or external.name) when given
    labels: Mapping[str, str] = field(default_factory=frozen_map)
    template_driver: str | None = None
    driver: str | None = None  # secrets only
    driver_opts: Mapping[str, str] = field(default_factory=frozen_map)
    content: bytes | None = field(default=None, repr=False, compare=False)
    content_sha256: str | None = None


@dataclass(frozen=True)
class StackSettings:
    """stackctl's own settings from the top-level ``x-stackctl`` key."""

    ignore: tuple[str, ...] = ()  # lint ids to silence, e.g. ("SC101",)


@dataclass(frozen=True)
class Stack:
    """A whole normalized stack. Keys of every mapping are sorted."""

    services: Mapping[str, Service] = field(default_factory=frozen_map)
    networks: Mapping[str, Network] = field(default_factory=frozen_map)
    volumes: Mapping[str, Volume] = field(default_factory=frozen_map)
    configs: Mapping[str, FileObject] = field(default_factory=frozen_map)
    secrets: Mapping[str, FileObject] = field(default_factory=frozen_map)
    settings: StackSettings = field(default_factory=StackSettings)
    source_files: tuple[str, ...] = ()  # absolute paths, in merge order ("-" for stdin)
    source_digest: str | None = None  # sha256 over the raw bytes of the source files
