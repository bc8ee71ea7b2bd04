"""One service of the normalized stack -> the Engine API ``ServiceSpec`` the engine stores.

Mirrors docker/cli's ``cli/compose/convert/service.go`` (what ``docker stack
deploy`` sends) *plus* the defaults the engine (API 1.41) fills in when it
stores the spec, so that the converted spec equals the spec read back from a
stack that ``docker stack deploy`` created. Every "omit when zero" below is
there because the engine drops that zero; every default is one the engine
writes. ``docs/conversion.md`` lists the rules and the intentional differences.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from stackctl.core.convert.comparable import canonical_service_spec
from stackctl.core.model.model import (
    Deploy,
    FileReference,
    Healthcheck,
    Mount,
    Network,
    Port,
    ResourceLimits,
    Resources,
    RestartPolicy,
    Service,
    ServiceMode,
    Stack,
    Ulimit,
    UpdateConfig,
    Volume,
)
from stackctl.core.model.state import (
    LABEL_IGNORE_CHANGES,
    LABEL_IMAGE,
    LABEL_NAMESPACE,
    LABEL_SENSITIVE_ENV,
)

DEFAULT_NETWORK = "default"
# Network names the engine treats as built in: they take no aliases.
_NOT_USER_DEFINED = frozenset({"default", "bridge", "host", "none"})


def scoped(stack_name: str, name: str) -> str:
    """``<stack>_<name>``: how docker namespaces every stack resource."""
    return f"{stack_name}_{name}"


def network_engine_name(stack_name: str, key: str, network: Network | None) -> str:
    """Engine name of the network declared under ``networks.<key>``."""
    if network is not None and network.external_name:
        return network.external_name
    if network is not None and network.external:
        return key
    return scoped(stack_name, key)


def volume_engine_name(stack_name: str, key: str, volume: Volume | None) -> str:
    """Engine name of the volume declared under ``volumes.<key>``."""
    if volume is not None and volume.external_name:
        return volume.external_name
    if volume is not None and volume.external:
        return key
    return scoped(stack_name, key)


def with_namespace(stack_name: str, labels: Mapping[str, str]) -> dict[str, str]:
    out = dict(labels)
    out[LABEL_NAMESPACE] = stack_name
    return dict(sorted(out.items()))


def effective_capabilities(add: Sequence[str], drop: Sequence[str]) -> tuple[list[str], list[str]]:
    """Normalize like the docker CLI: upper case, ``CAP_`` prefix, ``ALL`` wins, add beats drop."""

    def normalize(cap: str) -> str:
        cap = cap.strip().upper()
        if cap in ("ALL", "RESET") or cap.startswith("CAP_"):
            return cap
        return "CAP_" + cap

    adds = {normalize(c) for c in add}
    drops = {normalize(c) for c in drop}
    if "ALL" in adds:
        adds = {"ALL"}
    if "ALL" in drops:
        drops = {"ALL"}
    return (
        sorted(c for c in adds if c != "RESET"),
        sorted(c for c in drops if c not in adds and c != "RESET"),
    )


def engine_image(image: str) -> str:
    """The image reference as the docker client sends it: tagged, in familiar form.

    The Go client adds ``:latest`` to an untagged, undigested image and shortens
    ``docker.io/library/x`` to ``x`` before ``POST /services/create``; the
    ``com.docker.stack.image`` label keeps the image as declared.
    """
    name = image
    for registry in ("docker.io/", "index.docker.io/"):
        if name.startswith(registry):
            name = name.removeprefix(registry).removeprefix("library/")
            break
    if "@" in name:
        return name
    last = name.rsplit("/", 1)[-1]
    return name if ":" in last else f"{name}:latest"


def _environment(env: Mapping[str, str | None]) -> list[str]:
    return sorted(key if value is None else f"{key}={value}" for key, value in env.items())


def _extra_hosts(entries: Sequence[str]) -> list[str]:
    # Compose writes "host:ip" (or "host=ip"); SwarmKit wants "ip host".
    hosts = []
    for entry in entries:
        sep = "=" if "=" in entry else ":"
        host, found, ip = entry.partition(sep)
        if found:
            hosts.append(f"{ip} {host}")
    return hosts


def _healthcheck(check: Healthcheck) -> dict[str, Any]:
    if check.disable:
        return {"Test": ["NONE"]}
    out: dict[str, Any] = {}
    if check.test:
        out["Test"] = list(check.test)
    # StartInterval needs API 1.44; the 1.41 engine does not store it.
    for key, value in (
        ("Interval", check.interval),
        ("Timeout", check.timeout),
        ("StartPeriod", check.start_period),
        ("Retries", check.retries),
    ):
        if value:
            out[key] = value
    return out


def _mount(mount: Mount, stack: Stack, stack_name: str) -> dict[str, Any]:
    out: dict[str, Any] = {"Type": mount.type}
    if mount.source and mount.type != "tmpfs":
        out["Source"] = mount.source
    out["Target"] = mount.target
    if mount.read_only:
        out["ReadOnly"] = True
    # Consistency is accepted by the CLI but not stored by a Linux engine.
    if mount.type == "volume" and mount.source:
        volume: Volume | None = stack.volumes.get(mount.source)
        out["Source"] = volume_engine_name(stack_name, mount.source, volume)
        options: dict[str, Any] = {}
        if mount.volume_nocopy:
            options["NoCopy"] = True
        if volume is not None and not volume.external:
            options["Labels"] = with_namespace(stack_name, volume.labels)
            if volume.driver or volume.driver_opts:
                driver: dict[str, Any] = {"Name": volume.driver or ""}
                if volume.driver_opts:
                    driver["Options"] = dict(volume.driver_opts)
                options["DriverConfig"] = driver
        out["VolumeOptions"] = options
    elif mount.type in ("bind", "npipe") and mount.bind_propagation:
        out["BindOptions"] = {"Propagation": mount.bind_propagation}
    elif mount.type == "tmpfs" and (mount.tmpfs_size is not None or mount.tmpfs_mode is not None):
        # docker stack deploy passes the size only; the mode is dropped.
        out["TmpfsOptions"] = {"SizeBytes": mount.tmpfs_size} if mount.tmpfs_size else {}
    return out


def _file_refs(
    refs: Sequence[FileReference], engine_names: Mapping[str, str], name_key: str
) -> list[dict[str, Any]]:
    return [
        {
            "File": {"Name": ref.target, "UID": ref.uid, "GID": ref.gid, "Mode": ref.mode},
            name_key: engine_names.get(ref.source, ref.source),
        }
        for ref in refs
    ]


def _ulimits(ulimits: Sequence[Ulimit]) -> list[dict[str, Any]]:
    return [
        {"Name": u.name, "Hard": u.hard, "Soft": u.soft}
        for u in sorted(ulimits, key=lambda u: u.name)
    ]


def _limits(limits: ResourceLimits, *, reservation: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if limits.nano_cpus:
        out["NanoCPUs"] = limits.nano_cpus
    if limits.memory_bytes:
        out["MemoryBytes"] = limits.memory_bytes
    if limits.pids and not reservation:
        out["Pids"] = limits.pids
    if reservation and limits.generic_resources:
        out["GenericResources"] = [
            {"DiscreteResourceSpec": {"Kind": g.kind, "Value": g.value}}
            if g.discrete
            else {"NamedResourceSpec": {"Kind": g.kind, "Value": g.value}}
            for g in limits.generic_resources
        ]
    return out


def _resources(resources: Resources | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if resources is None:
        return out
    if resources.limits is not None:
        out["Limits"] = _limits(resources.limits, reservation=False)
    if resources.reservations is not None:
        out["Reservations"] = _limits(resources.reservations, reservation=True)
    return out


def _restart_policy(policy: RestartPolicy) -> dict[str, Any]:
    # Delay and Window are pointers in the API: an explicit 0 is stored.
    out: dict[str, Any] = {"Condition": policy.condition or "any"}
    if policy.delay is not None:
        out["Delay"] = policy.delay
    out["MaxAttempts"] = policy.max_attempts or 0
    if policy.window is not None:
        out["Window"] = policy.window
    return out


def _update_config(config: UpdateConfig) -> dict[str, Any]:
    out: dict[str, Any] = {"Parallelism": 1 if config.parallelism is None else config.parallelism}
    if config.delay:
        out["Delay"] = config.delay
    out["FailureAction"] = config.failure_action or "pause"
    if config.monitor:
        out["Monitor"] = config.monitor
    out["MaxFailureRatio"] = config.max_failure_ratio or 0
    out["Order"] = config.order or "stop-first"
    return out


def _mode(deploy: Deploy) -> dict[str, Any]:
    replicas = deploy.replicas
    if deploy.mode is ServiceMode.GLOBAL:
        return {"Global": {}}
    if deploy.mode is ServiceMode.GLOBAL_JOB:
        return {"GlobalJob": {}}
    if deploy.mode is ServiceMode.REPLICATED_JOB:
        count = 1 if replicas is None else replicas
        return {"ReplicatedJob": {"MaxConcurrent": count, "TotalCompletions": count}}
    return {"Replicated": {"Replicas": 1 if replicas is None else replicas}}


def _port(port: Port) -> dict[str, Any]:
    out: dict[str, Any] = {"Protocol": port.protocol, "TargetPort": port.target}
    if port.published:
        out["PublishedPort"] = port.published
    out["PublishMode"] = port.mode
    return out


def _networks(service: Service, stack: Stack, stack_name: str) -> list[dict[str, Any]]:
    attachments = []
    declared = service.networks or ()
    keys = [(n.name, n.aliases) for n in declared] or [(DEFAULT_NETWORK, ())]
    for key, aliases in keys:
        target = network_engine_name(stack_name, key, stack.networks.get(key))
        names = list(aliases)
        if target not in _NOT_USER_DEFINED and not target.startswith("container:"):
            names.append(service.name)
        attachment: dict[str, Any] = {"Target": target}
        if names:
            attachment["Aliases"] = names
        attachments.append(attachment)
    return attachments


def _container_spec(
    service: Service,
    stack: Stack,
    stack_name: str,
    config_names: Mapping[str, str],
    secret_names: Mapping[str, str],
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "Image": engine_image(service.image),
        "Labels": with_namespace(stack_name, service.labels),
    }
    if service.entrypoint:
        spec["Command"] = list(service.entrypoint)
    if service.command:
        spec["Args"] = list(service.command)
    if service.hostname:
        spec["Hostname"] = service.hostname
    if service.environment:
        spec["Env"] = _environment(service.environment)
    if service.working_dir:
        spec["Dir"] = service.working_dir
    if service.user:
        spec["User"] = service.user
    spec["Privileges"] = {
        "CredentialSpec": _credential_spec(service, config_names),
        "SELinuxContext": None,
    }
    if service.init is not None:
        spec["Init"] = service.init
    if service.stop_signal:
        spec["StopSignal"] = service.stop_signal
    if service.tty:
        spec["TTY"] = True
    if service.stdin_open:
        spec["OpenStdin"] = True
    if service.read_only:
        spec["ReadOnly"] = True
    if service.volumes:
        spec["Mounts"] = [_mount(m, stack, stack_name) for m in service.volumes]
    if service.stop_grace_period is not None:
        spec["StopGracePeriod"] = service.stop_grace_period
    if service.healthcheck is not None:
        spec["Healthcheck"] = _healthcheck(service.healthcheck)
    hosts = _extra_hosts(service.extra_hosts)
    if hosts:
        spec["Hosts"] = hosts
    if service.dns or service.dns_search:
        dns: dict[str, Any] = {}
        if service.dns:
            dns["Nameservers"] = list(service.dns)
        if service.dns_search:
            dns["Search"] = list(service.dns_search)
        spec["DNSConfig"] = dns
    if service.secrets:
        spec["Secrets"] = _file_refs(service.secrets, secret_names, "SecretName")
    configs = _file_refs(service.configs, config_names, "ConfigName")
    credential = service.credential_spec
    if credential is not None and credential.config:
        configs.append(
            {"Runtime": {}, "ConfigName": config_names.get(credential.config, credential.config)}
        )
    if configs:
        spec["Configs"] = configs
    spec["Isolation"] = service.isolation or "default"
    if service.sysctls:
        spec["Sysctls"] = {k: str(v) for k, v in service.sysctls.items()}
    cap_add, cap_drop = effective_capabilities(service.cap_add, service.cap_drop)
    if cap_add:
        spec["CapabilityAdd"] = cap_add
    if cap_drop:
        spec["CapabilityDrop"] = cap_drop
    if service.ulimits:
        spec["Ulimits"] = _ulimits(service.ulimits)
    return spec


def _credential_spec(service: Service, config_names: Mapping[str, str]) -> dict[str, str] | None:
    credential = service.credential_spec
    if credential is None or not (credential.config or credential.file or credential.registry):
        return None
    # The engine stores the config's ID here; the comparable form holds its name.
    config = config_names.get(credential.config, credential.config) if credential.config else ""
    return {"Config": config, "File": credential.file or "", "Registry": credential.registry or ""}


def convert_service(
    service: Service,
    stack: Stack,
    stack_name: str,
    *,
    config_names: Mapping[str, str],
    secret_names: Mapping[str, str],
) -> dict[str, Any]:
    """The comparable ``ServiceSpec`` for one service.

    ``config_names`` / ``secret_names`` map the keys under top-level
    ``configs:``/``secrets:`` to engine object names.
    """
    deploy = service.deploy
    task: dict[str, Any] = {
        "ContainerSpec": _container_spec(service, stack, stack_name, config_names, secret_names),
        "Resources": _resources(deploy.resources),
    }
    if deploy.restart_policy is not None:
        task["RestartPolicy"] = _restart_policy(deploy.restart_policy)
    placement: dict[str, Any] = {}
    if deploy.placement is not None:
        if deploy.placement.constraints:
            placement["Constraints"] = list(deploy.placement.constraints)
        if deploy.placement.preferences:
            placement["Preferences"] = [
                {"Spread": {"SpreadDescriptor": p}} for p in deploy.placement.preferences
            ]
        if deploy.placement.max_replicas_per_node:
            placement["MaxReplicas"] = deploy.placement.max_replicas_per_node
    task["Placement"] = placement
    task["Networks"] = _networks(service, stack, stack_name)
    if service.logging is not None:
        log_driver: dict[str, Any] = {}
        if service.logging.driver:
            log_driver["Name"] = service.logging.driver
        if service.logging.options:
            log_driver["Options"] = dict(service.logging.options)
        task["LogDriver"] = log_driver
    task["ForceUpdate"] = 0
    task["Runtime"] = "container"

    labels = with_namespace(stack_name, deploy.labels)
    labels[LABEL_IMAGE] = service.image
    if service.ignore_changes:
        # Recorded on the service itself, so every plan (and a rollback's) honours it.
        labels[LABEL_IGNORE_CHANGES] = ",".join(service.ignore_changes)
    if service.sensitive_env:
        # Kept on the service (names only) so that every later reader of this spec
        # (plans, revisions, status, rollback) hides those values too.
        labels[LABEL_SENSITIVE_ENV] = ",".join(service.sensitive_env)
    spec: dict[str, Any] = {
        "Name": scoped(stack_name, service.name),
        "Labels": dict(sorted(labels.items())),
        "TaskTemplate": task,
        "Mode": _mode(deploy),
    }
    if deploy.update_config is not None:
        spec["UpdateConfig"] = _update_config(deploy.update_config)
    if deploy.rollback_config is not None:
        spec["RollbackConfig"] = _update_config(deploy.rollback_config)
    endpoint: dict[str, Any] = {"Mode": (deploy.endpoint_mode or "vip").lower()}
    if service.ports:
        endpoint["Ports"] = [_port(p) for p in service.ports]
    spec["EndpointSpec"] = endpoint
    return canonical_service_spec(spec)
