"""Semantic checks (SC2xx) that need the whole document, not one value.

They run on the plain document after schema validation, and guard every
access with isinstance checks: a value of the wrong type has already been
reported by the schema pass and is simply skipped here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from stackctl.core.model.shortsyntax import ShortSyntaxError, parse_port, parse_volume
from stackctl.core.validate.schema_errors import DocPath, SchemaErrorTranslator, dotted, suggest
from stackctl.errors import Finding, Severity

CODE_UNSUPPORTED_VERSION = "SC021"
CODE_NO_SERVICES = "SC200"
CODE_UNDEFINED_NETWORK = "SC201"
CODE_UNDEFINED_CONFIG = "SC202"
CODE_UNDEFINED_SECRET = "SC203"
CODE_UNDEFINED_VOLUME = "SC204"
CODE_DUPLICATE_PORT = "SC205"
CODE_BAD_CONSTRAINT = "SC209"
CODE_MODE_CONFLICT = "SC210"
CODE_EXTERNAL_WITH_CONTENT = "SC211"
CODE_NAME_TOO_LONG = "SC212"
CODE_BAD_PORT = "SC213"
CODE_BAD_VOLUME = "SC214"
CODE_BAD_DEPENDENCY = "SC215"
CODE_HEALTHCHECK_CONFLICT = "SC217"
CODE_CREDENTIAL_SPEC = "SC218"
CODE_BAD_RESTART = "SC219"
CODE_NO_IMAGE = "SC220"
CODE_NO_CONTENT = "SC221"
CODE_BAD_NETWORK_NAME = "SC222"
CODE_LOCAL_NETWORK_DRIVER = "SC223"
CODE_HOST_IP_IGNORED = "SC302"
CODE_DEPRECATED_EXTERNAL_NAME = "SC303"
CODE_UNUSED_NETWORK = "SC304"

# Swarm limits object names to 63 characters; services are named <stack>_<service>.
SWARM_NAME_MAX = 63
_VERSION = re.compile(r"^3(\.\d+)?$")
_CONSTRAINT = re.compile(r"^\s*([^=!\s]+)\s*(==|!=)\s*(\S.*?)\s*$")
_CONSTRAINT_KEYS = (
    "node.id",
    "node.hostname",
    "node.role",
    "node.platform.os",
    "node.platform.arch",
)
_CONSTRAINT_PREFIXES = ("node.labels.", "engine.labels.")
# The part a key contributes to "<stack>_<key>", which the engine requires to be a
# DNS name component (swarmkit's isValidDNSName: ^[a-zA-Z0-9](?:[-_]*[A-Za-z0-9]+)*$).
_DNS_KEY = re.compile(r"[-_a-zA-Z0-9]*[a-zA-Z0-9]")
_DNS_NAME = re.compile(r"[a-zA-Z0-9](?:[-_]*[A-Za-z0-9]+)*")
DNS_RULE_TEXT = (
    "the engine requires a valid DNS name component: letters and digits, "
    "with '-' or '_' only between them"
)
# Drivers whose networks exist on one node only: the engine refuses to attach a
# service to them ("Only networks scoped to the swarm can be used").
LOCAL_SCOPE_DRIVERS = frozenset({"bridge", "host", "none", "null", "macvlan", "ipvlan"})
_RESTART = re.compile(r"^(no|always|unless-stopped|on-failure(:\d+)?)$")


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


class _Checker:
    def __init__(self, data: Mapping[str, Any], translator: SchemaErrorTranslator) -> None:
        self.data = data
        self.t = translator
        self.findings: list[Finding] = []
        self.defined = {
            kind: set(_mapping(data.get(kind)))
            for kind in ("networks", "volumes", "configs", "secrets")
        }
        self.services = _mapping(data.get("services"))
        # (published, protocol) -> path of the first ingress port using it
        self.published: dict[tuple[int, str], DocPath] = {}
        # service -> first port published through the ingress routing mesh
        self.ingress_ports: dict[str, DocPath] = {}

    def error(self, path: DocPath, message: str, code: str, hint: str | None = None) -> None:
        self.findings.append(self.t.finding(path, message, code, hint))

    def warn(self, path: DocPath, message: str, code: str, hint: str | None = None) -> None:
        self.findings.append(self.t.finding(path, message, code, hint, Severity.WARNING))

    def run(self) -> list[Finding]:
        self.check_version()
        raw_services = self.data.get("services")
        if raw_services is None or raw_services == {}:
            # (A services: of the wrong type was already reported by the schema.)
            where: DocPath = ("services",) if "services" in self.data else ()
            self.error(where, "the stack defines no services", CODE_NO_SERVICES)
        for name, service in self.services.items():
            if isinstance(service, Mapping):
                self.check_service(str(name), service)
        self.check_dependency_cycles()
        self.check_unused_networks()
        self.check_network_names_and_drivers()
        for kind in ("networks", "volumes", "configs", "secrets"):
            for name, obj in _mapping(self.data.get(kind)).items():
                if isinstance(obj, Mapping):
                    self.check_top_level(kind, str(name), obj)
        return self.findings

    def check_version(self) -> None:
        version = self.data.get("version")
        if version is None:
            return
        if not _VERSION.match(str(version)):
            self.error(
                ("version",),
                f"Compose file format version '{version}' is not supported",
                CODE_UNSUPPORTED_VERSION,
                "docker stack deploy reads format 3.x: use version: '3.8' or remove version:",
            )

    # -- services -------------------------------------------------------------------------

    def check_service(self, name: str, service: Mapping[str, Any]) -> None:
        base: DocPath = ("services", name)
        limit = SWARM_NAME_MAX - 2  # at least "<one letter>_"
        if len(name) > limit:
            self.error(
                base,
                f"service name '{name}' is {len(name)} characters long; "
                f"Swarm allows at most {SWARM_NAME_MAX} for '<stack>_{name[:8]}...'",
                CODE_NAME_TOO_LONG,
                "shorten the service name",
            )
        if "image" not in service:
            hint = (
                "Swarm cannot build images: build and push the image, then set image:"
                if "build" in service
                else "add image: with the image to run"
            )
            # docker stack config accepts this; the deploy itself fails.
            self.warn(
                base, f"service '{name}' has no image; deploying it will fail", CODE_NO_IMAGE, hint
            )
        self.check_service_networks(base, service.get("networks"))
        for kind, code in (("configs", CODE_UNDEFINED_CONFIG), ("secrets", CODE_UNDEFINED_SECRET)):
            for index, ref in enumerate(_list(service.get(kind))):
                source = ref if isinstance(ref, str) else _mapping(ref).get("source")
                if isinstance(source, str) and source not in self.defined[kind]:
                    self.undefined((*base, kind, index), kind, source, code)
        cred = _mapping(service.get("credential_spec"))
        given = [k for k in ("config", "file", "registry") if cred.get(k)]
        if len(given) > 1:
            self.error(
                (*base, "credential_spec"),
                f"credential_spec sets {' and '.join(given)}; give only one",
                CODE_CREDENTIAL_SPEC,
            )
        config_ref = cred.get("config")
        if isinstance(config_ref, str) and config_ref not in self.defined["configs"]:
            self.undefined(
                (*base, "credential_spec", "config"), "configs", config_ref, CODE_UNDEFINED_CONFIG
            )
        self.check_volumes(base, service.get("volumes"))
        self.check_ports(base, name, service.get("ports"))
        deploy = _mapping(service.get("deploy"))
        self.check_deploy(base, deploy)
        if deploy.get("endpoint_mode") == "dnsrr" and name in self.ingress_ports:
            self.error(
                (*base, "deploy", "endpoint_mode"),
                "endpoint_mode: dnsrr cannot be used with ports published in ingress mode "
                f"({dotted(self.ingress_ports[name])})",
                CODE_MODE_CONFLICT,
                "publish the ports with mode: host, or use endpoint_mode: vip",
            )
        self.check_depends_on(base, name, service.get("depends_on"))
        health = _mapping(service.get("healthcheck"))
        if health.get("disable") is True and health.get("test"):
            self.error(
                (*base, "healthcheck"),
                "healthcheck sets both disable: true and test",
                CODE_HEALTHCHECK_CONFLICT,
                "remove test, or remove disable",
            )
        restart = service.get("restart")
        if isinstance(restart, str) and not _RESTART.match(restart):
            self.error(
                (*base, "restart"),
                f"'{restart}' is not a restart policy",
                CODE_BAD_RESTART,
                "use no, always, on-failure[:N] or unless-stopped (or deploy.restart_policy)",
            )

    def undefined(self, path: DocPath, kind: str, name: str, code: str) -> None:
        singular = kind[:-1]
        known = sorted(self.defined[kind])

        guess = suggest(name, known)
        if guess:
            hint = f"did you mean '{guess}'?"
        else:
            hint = f"declare it under top-level {kind}:" + (
                f" (defined: {', '.join(known)})" if known else ""
            )
        self.error(path, f"{singular} '{name}' is not defined", code, hint)

    def check_service_networks(self, base: DocPath, networks: Any) -> None:
        names: list[tuple[str, DocPath]] = []
        if isinstance(networks, list):
            names = [
                (n, (*base, "networks", i)) for i, n in enumerate(networks) if isinstance(n, str)
            ]
        elif isinstance(networks, Mapping):
            names = [(str(n), (*base, "networks", str(n))) for n in networks]
        for network, path in names:
            # "default" is the stack's implicit network and need not be declared.
            if network != "default" and network not in self.defined["networks"]:
                self.undefined(path, "networks", network, CODE_UNDEFINED_NETWORK)

    def check_volumes(self, base: DocPath, volumes: Any) -> None:
        for index, entry in enumerate(_list(volumes)):
            path = (*base, "volumes", index)
            mount: Mapping[str, Any]
            if isinstance(entry, str):
                try:
                    mount = parse_volume(entry)
                except ShortSyntaxError as exc:
                    self.error(path, str(exc), CODE_BAD_VOLUME, "use [SOURCE:]TARGET[:ro]")
                    continue
            elif isinstance(entry, Mapping):
                mount = entry
            else:
                continue
            source = mount.get("source")
            kind = mount.get("type")
            if kind == "volume" and isinstance(source, str) and source:
                if source not in self.defined["volumes"]:
                    self.undefined(path, "volumes", source, CODE_UNDEFINED_VOLUME)
            elif kind == "bind" and not source:
                self.error(path, "a bind mount needs a source path", CODE_BAD_VOLUME)
            elif kind == "tmpfs" and source:
                self.error(path, "a tmpfs mount cannot have a source", CODE_BAD_VOLUME)

    def check_ports(self, base: DocPath, service: str, ports: Any) -> None:
        for index, entry in enumerate(_list(ports)):
            path = (*base, "ports", index)
            expanded: Sequence[Mapping[str, Any]]
            if isinstance(entry, str | int | float) and not isinstance(entry, bool):
                try:
                    expanded, host_ip = parse_port(entry)
                except ShortSyntaxError as exc:
                    self.error(path, str(exc), CODE_BAD_PORT, "use [PUBLISHED:]TARGET[/PROTOCOL]")
                    continue
                if host_ip:
                    self.warn(
                        path,
                        f"host IP {host_ip} is ignored: Swarm publishes on all addresses",
                        CODE_HOST_IP_IGNORED,
                    )
            elif isinstance(entry, Mapping):
                published = entry.get("published")
                if isinstance(published, str):
                    try:
                        start, end = _range(published)
                    except ValueError:
                        self.error(path, f"'{published}' is not a published port", CODE_BAD_PORT)
                        continue
                    expanded = [{**entry, "published": p} for p in range(start, end + 1)]
                else:
                    expanded = [entry]
            else:
                continue
            for port in expanded:
                self.claim_port(path, service, port)

    def claim_port(self, path: DocPath, service: str, port: Mapping[str, Any]) -> None:
        if port.get("mode", "ingress") == "ingress":
            self.ingress_ports.setdefault(service, path)
        published = port.get("published")
        if not isinstance(published, int) or port.get("mode", "ingress") != "ingress":
            return
        key = (published, str(port.get("protocol", "tcp")))
        first = self.published.get(key)
        if first is None:
            self.published[key] = path
            return
        other = first[1] if len(first) > 1 else "?"
        where = "this service" if other == service else f"service '{other}'"
        self.error(
            path,
            f"published port {key[0]}/{key[1]} is already used by {where} ({dotted(first)})",
            CODE_DUPLICATE_PORT,
            "each published ingress port can be used once per swarm",
        )

    def check_deploy(self, base: DocPath, deploy: Mapping[str, Any]) -> None:
        path = (*base, "deploy")
        mode = deploy.get("mode", "replicated")
        if mode in ("global", "global-job"):
            if "replicas" in deploy:
                self.error(
                    (*path, "replicas"),
                    f"replicas cannot be used with mode: {mode}",
                    CODE_MODE_CONFLICT,
                    "global services run one task per node; remove replicas",
                )
            max_per_node = _mapping(deploy.get("placement")).get("max_replicas_per_node")
            if max_per_node is not None:
                self.error(
                    (*path, "placement", "max_replicas_per_node"),
                    f"max_replicas_per_node cannot be used with mode: {mode}",
                    CODE_MODE_CONFLICT,
                )
        for index, constraint in enumerate(
            _list(_mapping(deploy.get("placement")).get("constraints"))
        ):
            if isinstance(constraint, str):
                self.check_constraint((*path, "placement", "constraints", index), constraint)

    def check_constraint(self, path: DocPath, constraint: str) -> None:
        match = _CONSTRAINT.match(constraint)
        example = "write it as 'node.role == manager' or 'node.labels.zone != b'"
        if not match:
            self.error(
                path, f"'{constraint}' is not a placement constraint", CODE_BAD_CONSTRAINT, example
            )
            return
        key, _op, value = match.groups()
        lowered = key.lower()
        if lowered not in _CONSTRAINT_KEYS and not lowered.startswith(_CONSTRAINT_PREFIXES):
            guess = suggest(lowered, _CONSTRAINT_KEYS)
            hint = (
                f"did you mean '{guess}'?"
                if guess
                else (
                    "use node.id, node.hostname, node.role, node.platform.os, "
                    "node.platform.arch, node.labels.<label> or engine.labels.<label>"
                )
            )
            self.error(path, f"unknown constraint attribute '{key}'", CODE_BAD_CONSTRAINT, hint)
        elif lowered == "node.role" and value.lower() not in ("manager", "worker"):
            self.error(
                path,
                f"node.role can be manager or worker, not '{value}'",
                CODE_BAD_CONSTRAINT,
            )

    def check_depends_on(self, base: DocPath, name: str, depends_on: Any) -> None:
        if isinstance(depends_on, list):
            refs = [
                (d, (*base, "depends_on", i))
                for i, d in enumerate(depends_on)
                if isinstance(d, str)
            ]
        elif isinstance(depends_on, Mapping):
            refs = [(str(d), (*base, "depends_on", str(d))) for d in depends_on]
        else:
            return
        for dependency, path in refs:
            if dependency == name:
                self.error(path, f"service '{name}' depends on itself", CODE_BAD_DEPENDENCY)
            elif dependency not in self.services:
                guess = suggest(dependency, [str(s) for s in self.services])
                hint = (
                    f"did you mean '{guess}'?"
                    if guess
                    else "stackctl ignores it when ordering waves"
                )
                # Swarm itself ignores depends_on, so this cannot break a deploy: a warning.
                self.warn(path, f"service '{dependency}' is not defined", CODE_BAD_DEPENDENCY, hint)

    def check_dependency_cycles(self) -> None:
        graph: dict[str, list[str]] = {}
        for name, service in self.services.items():
            deps = _mapping(service).get("depends_on")
            if isinstance(deps, list):
                graph[str(name)] = [
                    d for d in deps if isinstance(d, str) and d in self.services and d != name
                ]
            elif isinstance(deps, Mapping):
                graph[str(name)] = [str(d) for d in deps if d in self.services and d != name]
        state: dict[str, int] = {}
        reported: set[frozenset[str]] = set()

        def visit(node: str, stack: list[str]) -> None:
            state[node] = 1
            for dep in graph.get(node, []):
                if state.get(dep) == 1:
                    cycle = [*stack[stack.index(dep) :], dep]
                    if frozenset(cycle) not in reported:
                        reported.add(frozenset(cycle))
                        self.error(
                            ("services", node, "depends_on"),
                            "services depend on each other in a cycle: " + " -> ".join(cycle),
                            CODE_BAD_DEPENDENCY,
                            "stackctl orders rollout waves by depends_on; break the cycle",
                        )
                elif state.get(dep) is None:
                    visit(dep, [*stack, dep])
            state[node] = 2

        for node in graph:
            if node not in state:
                visit(node, [node])

    def check_unused_networks(self) -> None:
        """Like docker stack deploy, stackctl creates only networks some service joins."""
        used = self.used_networks()
        for name, spec in _mapping(self.data.get("networks")).items():
            if str(name) in used or (isinstance(spec, Mapping) and spec.get("external")):
                continue
            self.warn(
                ("networks", str(name)),
                f"network '{name}' is not used by any service, so it will not be created",
                CODE_UNUSED_NETWORK,
                "attach a service to it, or remove it",
            )

    def check_network_names_and_drivers(self) -> None:
        """What the engine refuses in the networks the stack creates (the used ones)."""
        used = self.used_networks()
        for key, spec in _mapping(self.data.get("networks")).items():
            name = str(key)
            network = _mapping(spec)
            if name not in used or network.get("external"):
                continue
            explicit = network.get("name")
            if isinstance(explicit, str):
                if not _DNS_NAME.fullmatch(explicit):
                    self.error(
                        ("networks", name, "name"),
                        f"network name '{explicit}' is not valid: {DNS_RULE_TEXT}",
                        CODE_BAD_NETWORK_NAME,
                        "e.g. replace '.' with '-' or '_'",
                    )
            elif not _DNS_KEY.fullmatch(name):
                self.error(
                    ("networks", name),
                    f"network '{name}' would be created as '<stack>_{name}', which is not "
                    f"valid: {DNS_RULE_TEXT}",
                    CODE_BAD_NETWORK_NAME,
                    "rename the key (e.g. replace '.' with '-' or '_'), or set name:",
                )
            driver = network.get("driver")
            if isinstance(driver, str) and driver in LOCAL_SCOPE_DRIVERS:
                self.error(
                    ("networks", name, "driver"),
                    f"network '{name}' uses driver '{driver}', which creates a network local "
                    "to one node; the engine attaches services only to swarm-scoped networks "
                    "(docker stack deploy fails the same way)",
                    CODE_LOCAL_NETWORK_DRIVER,
                    "use driver: overlay (the default), or remove driver:",
                )

    def used_networks(self) -> set[str]:
        used: set[str] = set()
        for service in self.services.values():
            networks = _mapping(service).get("networks")
            if isinstance(networks, list):
                used.update(n for n in networks if isinstance(n, str))
            elif isinstance(networks, Mapping):
                used.update(str(n) for n in networks)
            elif networks is None:
                used.add("default")
        return used

    # -- top-level objects --------------------------------------------------------------------

    def check_top_level(self, kind: str, name: str, obj: Mapping[str, Any]) -> None:
        path = (kind, name)
        singular = kind[:-1]
        external = obj.get("external")
        if isinstance(external, Mapping) and "name" in external:
            self.warn(
                (*path, "external", "name"),
                f"external.name is deprecated for {kind}",
                CODE_DEPRECATED_EXTERNAL_NAME,
                "use name: <existing name> with external: true",
            )
            if "name" in obj and obj.get("name") != external.get("name"):
                self.error(
                    (*path, "name"),
                    f"{singular} '{name}' sets name: and external.name to different values",
                    CODE_EXTERNAL_WITH_CONTENT,
                )
        if external:
            content_keys = [
                key
                for key in (
                    "file",
                    "driver",
                    "driver_opts",
                    "ipam",
                    "labels",
                    "template_driver",
                    "internal",
                    "attachable",
                )
                if key in obj
            ]
            if content_keys:
                self.error(
                    (*path, content_keys[0]),
                    f"external {singular} '{name}' cannot also set {', '.join(content_keys)}",
                    CODE_EXTERNAL_WITH_CONTENT,
                    "an external object already exists; remove these keys or external:",
                )
        elif (
            kind in ("configs", "secrets")
            and "file" not in obj
            and not any(k in obj for k in ("content", "environment"))
        ):
            self.warn(
                path,
                f"{singular} '{name}' has neither file: nor external: true; deploying it will fail",
                CODE_NO_CONTENT,
                "add file: <path>, or external: true if it already exists",
            )
        real_name = obj.get("name")
        if isinstance(real_name, str) and len(real_name) > SWARM_NAME_MAX:
            self.error(
                (*path, "name"),
                f"{singular} name is {len(real_name)} characters long; "
                f"Swarm allows {SWARM_NAME_MAX}",
                CODE_NAME_TOO_LONG,
            )


def _range(text: str) -> tuple[int, int]:
    start_text, _, end_text = text.partition("-")
    start = int(start_text)
    end = int(end_text) if end_text else start
    if end < start:
        raise ValueError(text)
    return start, end


def semantic_findings(data: Mapping[str, Any], translator: SchemaErrorTranslator) -> list[Finding]:
    """All SC2xx (and located SC3xx) findings of a document."""
    return _Checker(data, translator).run()


def stack_name_findings(service_names: list[str], stack_name: str) -> list[Finding]:
    """Names too long once prefixed with the stack name (for the CLI, when it is known)."""
    findings = []
    for service in service_names:
        full = f"{stack_name}_{service}"
        if len(full) > SWARM_NAME_MAX:
            findings.append(
                Finding(
                    severity=Severity.ERROR,
                    code=CODE_NAME_TOO_LONG,
                    message=f"service name '{full}' is {len(full)} characters long; "
                    f"Swarm allows at most {SWARM_NAME_MAX}",
                    path=f"services.{service}",
                    hint="use a shorter stack or service name",
                )
            )
    return findings
