"""Render a normalized Stack back to a stack file, like ``docker stack config``.

Long syntax everywhere, durations as Go strings (``1m0s``), memory as a byte
count string, CPUs as a decimal string. Config and secret *contents* are never
rendered: only their file paths and names.
"""

from __future__ import annotations

from typing import Any

import yaml

from stackctl.core.model.model import (
    FileObject,
    FileReference,
    Healthcheck,
    Mount,
    Network,
    Port,
    ResourceLimits,
    Service,
    ServiceMode,
    Stack,
    UpdateConfig,
    Volume,
)
from stackctl.core.model.units import format_cpus, format_duration
from stackctl.core.plan.plan_model import SENSITIVE


def stack_to_document(stack: Stack) -> dict[str, Any]:
    """The stack as a plain document (what ``stackctl config`` prints)."""
    doc: dict[str, Any] = {
        "services": {name: _service(s) for name, s in stack.services.items()},
    }
    if stack.networks:
        doc["networks"] = {name: _network(n) for name, n in stack.networks.items()}
    if stack.volumes:
        doc["volumes"] = {name: _volume(v) for name, v in stack.volumes.items()}
    if stack.secrets:
        doc["secrets"] = {name: _file_object(o) for name, o in stack.secrets.items()}
    if stack.configs:
        doc["configs"] = {name: _file_object(o) for name, o in stack.configs.items()}
    if stack.settings.ignore:
        doc["x-stackctl"] = {"ignore": list(stack.settings.ignore)}
    return doc


def render_stack_yaml(stack: Stack) -> str:
    """The stack as YAML text."""

    return yaml.safe_dump(
        stack_to_document(stack), sort_keys=False, default_flow_style=False, allow_unicode=True
    )


def _put(out: dict[str, Any], key: str, value: Any) -> None:
    """Set ``key`` unless the value is empty/None/False (docker omits those too)."""
    if value is None or value is False or value == () or value == {} or value == []:
        return
    out[key] = value


def _duration(ns: int | None) -> str | None:
    return None if ns is None else format_duration(ns)


def _service(s: Service) -> dict[str, Any]:
    out: dict[str, Any] = {}
    _put(out, "image", s.image or None)
    _put(out, "command", None if s.command is None else list(s.command))
    _put(out, "entrypoint", None if s.entrypoint is None else list(s.entrypoint))
    # Values decrypted from .age files are never printed (stackctl config output
    # gets pasted into tickets); other values are shown as docker stack config does.
    hidden = set(s.sensitive_env)
    _put(
        out,
        "environment",
        {k: SENSITIVE if k in hidden and v is not None else v for k, v in s.environment.items()},
    )
    _put(out, "labels", dict(s.labels))
    _put(out, "ports", [_port(p) for p in s.ports])
    _put(out, "volumes", [_mount(m) for m in s.volumes])
    _put(out, "networks", _service_networks(s))
    _put(out, "configs", [_file_ref(r) for r in s.configs])
    _put(out, "secrets", [_file_ref(r) for r in s.secrets])
    if s.healthcheck is not None:
        out["healthcheck"] = _healthcheck(s.healthcheck)
    _put(out, "deploy", _deploy(s))
    if s.depends_on:
        out["depends_on"] = {d.service: {"condition": d.condition} for d in s.depends_on}
    for key in ("user", "working_dir", "hostname", "stop_signal", "isolation"):
        _put(out, key, getattr(s, key))
    for key in ("dns", "dns_search", "dns_opt", "extra_hosts", "cap_add", "cap_drop", "group_add"):
        _put(out, key, list(getattr(s, key)))
    _put(out, "sysctls", dict(s.sysctls))
    _put(
        out,
        "ulimits",
        {
            u.name: u.soft if u.soft == u.hard else {"soft": u.soft, "hard": u.hard}
            for u in s.ulimits
        },
    )
    if s.init is not None:
        out["init"] = s.init
    for key in ("read_only", "tty", "stdin_open"):
        _put(out, key, getattr(s, key))
    _put(out, "stop_grace_period", _duration(s.stop_grace_period))
    if s.logging is not None:
        logging: dict[str, Any] = {}
        _put(logging, "driver", s.logging.driver)
        _put(logging, "options", dict(s.logging.options))
        out["logging"] = logging
    if s.credential_spec is not None:
        cred: dict[str, Any] = {}
        for key in ("config", "file", "registry"):
            _put(cred, key, getattr(s.credential_spec, key))
        out["credential_spec"] = cred
    _put(out, "oom_score_adj", s.oom_score_adj)
    out.update(s.extensions)
    return out


def _port(p: Port) -> dict[str, Any]:
    out: dict[str, Any] = {"mode": p.mode, "target": p.target}
    _put(out, "published", p.published)
    out["protocol"] = p.protocol
    return out


def _mount(m: Mount) -> dict[str, Any]:
    out: dict[str, Any] = {"type": m.type}
    _put(out, "source", m.source)
    out["target"] = m.target
    _put(out, "read_only", m.read_only)
    _put(out, "consistency", m.consistency)
    if m.bind_propagation:
        out["bind"] = {"propagation": m.bind_propagation}
    if m.volume_nocopy:
        out["volume"] = {"nocopy": True}
    tmpfs: dict[str, Any] = {}
    _put(tmpfs, "size", m.tmpfs_size)
    _put(tmpfs, "mode", m.tmpfs_mode)
    _put(out, "tmpfs", tmpfs)
    return out


def _service_networks(s: Service) -> dict[str, Any]:
    networks: dict[str, Any] = {}
    for n in s.networks:
        attachment: dict[str, Any] = {}
        _put(attachment, "aliases", list(n.aliases))
        _put(attachment, "ipv4_address", n.ipv4_address)
        _put(attachment, "ipv6_address", n.ipv6_address)
        _put(attachment, "driver_opts", dict(n.driver_opts))
        networks[n.name] = attachment or None
    return networks


def _file_ref(r: FileReference) -> dict[str, Any]:
    return {"source": r.source, "target": r.target, "uid": r.uid, "gid": r.gid, "mode": r.mode}


def _healthcheck(h: Healthcheck) -> dict[str, Any]:
    out: dict[str, Any] = {}
    _put(out, "test", None if h.test is None else list(h.test))
    _put(out, "timeout", _duration(h.timeout))
    _put(out, "interval", _duration(h.interval))
    _put(out, "retries", h.retries)
    _put(out, "start_period", _duration(h.start_period))
    _put(out, "start_interval", _duration(h.start_interval))
    _put(out, "disable", h.disable)
    return out


def _update(u: UpdateConfig | None) -> dict[str, Any] | None:
    if u is None:
        return None
    out: dict[str, Any] = {}
    if u.parallelism is not None:
        out["parallelism"] = u.parallelism
    _put(out, "delay", _duration(u.delay))
    _put(out, "failure_action", u.failure_action)
    _put(out, "monitor", _duration(u.monitor))
    if u.max_failure_ratio is not None:
        out["max_failure_ratio"] = u.max_failure_ratio
    _put(out, "order", u.order)
    return out


def _limits(limits: ResourceLimits | None) -> dict[str, Any] | None:
    if limits is None:
        return None
    out: dict[str, Any] = {}
    _put(out, "cpus", None if limits.nano_cpus is None else format_cpus(limits.nano_cpus))
    _put(out, "memory", None if limits.memory_bytes is None else str(limits.memory_bytes))
    _put(out, "pids", limits.pids)
    generic = []
    for g in limits.generic_resources:
        kind = "discrete_resource_spec" if g.discrete else "named_resource_spec"
        generic.append({kind: {"kind": g.kind, "value": g.value}})
    _put(out, "generic_resources", generic)
    return out


def _deploy(s: Service) -> dict[str, Any]:
    d = s.deploy
    out: dict[str, Any] = {}
    if d.mode is not ServiceMode.REPLICATED or d.replicas is not None:
        out["mode"] = d.mode.value
    if d.replicas is not None:
        out["replicas"] = d.replicas
    _put(out, "labels", dict(d.labels))
    # Present-but-empty sections are kept: {} and absent normalize differently.
    if d.update_config is not None:
        out["update_config"] = _update(d.update_config)
    if d.rollback_config is not None:
        out["rollback_config"] = _update(d.rollback_config)
    if d.resources is not None:
        resources: dict[str, Any] = {}
        for key, limits in (
            ("limits", d.resources.limits),
            ("reservations", d.resources.reservations),
        ):
            if limits is not None:
                resources[key] = _limits(limits)
        out["resources"] = resources
    if d.restart_policy is not None:
        r = d.restart_policy
        restart: dict[str, Any] = {}
        _put(restart, "condition", r.condition)
        _put(restart, "delay", _duration(r.delay))
        if r.max_attempts is not None:
            restart["max_attempts"] = r.max_attempts
        _put(restart, "window", _duration(r.window))
        out["restart_policy"] = restart
    if d.placement is not None:
        p = d.placement
        placement: dict[str, Any] = {}
        _put(placement, "constraints", list(p.constraints))
        _put(placement, "preferences", [{"spread": spread} for spread in p.preferences])
        _put(placement, "max_replicas_per_node", p.max_replicas_per_node)
        out["placement"] = placement
    _put(out, "endpoint_mode", d.endpoint_mode)
    return out


def _external(out: dict[str, Any], external: bool, name: str | None, key: str) -> None:
    if external:
        out["name"] = name or key
        out["external"] = True
    elif name:
        out["name"] = name


def _network(n: Network) -> dict[str, Any]:
    out: dict[str, Any] = {}
    _external(out, n.external, n.external_name, n.name)
    _put(out, "driver", n.driver)
    _put(out, "driver_opts", dict(n.driver_opts))
    if n.ipam_driver or n.ipam_config:
        ipam: dict[str, Any] = {}
        _put(ipam, "driver", n.ipam_driver)
        pools = []
        for pool in n.ipam_config:
            entry: dict[str, Any] = {}
            for key in ("subnet", "ip_range", "gateway"):
                _put(entry, key, getattr(pool, key))
            _put(entry, "aux_addresses", dict(pool.aux_addresses))
            pools.append(entry)
        _put(ipam, "config", pools)
        out["ipam"] = ipam
    _put(out, "internal", n.internal)
    _put(out, "attachable", n.attachable)
    _put(out, "labels", dict(n.labels))
    return out


def _volume(v: Volume) -> dict[str, Any]:
    out: dict[str, Any] = {}
    _external(out, v.external, v.external_name, v.name)
    _put(out, "driver", v.driver)
    _put(out, "driver_opts", dict(v.driver_opts))
    _put(out, "labels", dict(v.labels))
    return out


def _file_object(o: FileObject) -> dict[str, Any]:
    # Only where the content comes from, never the content itself.
    out: dict[str, Any] = {}
    _external(out, o.external, o.external_name, o.name)
    _put(out, "file", o.file)
    _put(out, "labels", dict(o.labels))
    _put(out, "template_driver", o.template_driver)
    _put(out, "driver", o.driver)
    _put(out, "driver_opts", dict(o.driver_opts))
    return out
