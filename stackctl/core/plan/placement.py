"""Placement preflight: can the cluster's nodes run what the plan writes? (pure)

Swarm accepts a service whose tasks can never be scheduled (a constraint no node
matches, more replicas than ``max_replicas_per_node`` allows, a reservation larger
than any node) and leaves its tasks pending forever. Before anything is written,
``placement_findings`` checks every service the plan creates or updates against a
snapshot of the nodes (``ClusterNodes``, read by ``stackctl.engine.nodes``):

- SC401 constraints (``node.id``, ``node.hostname``, ``node.role``,
  ``node.platform.os|arch``, ``node.labels.*``, ``engine.labels.*``; ``==``/``!=``,
  case-insensitive values as swarmkit compares them) that no node matches;
- SC402 ``max_replicas_per_node`` x eligible nodes below ``replicas``;
- SC403 CPU/memory reservations larger than the node's total resources;
- SC404 a host-mode published port that running tasks of other services hold
  on every eligible node (or on so many that not all replicas find one).

Severity, one rule throughout: **error** when no node of the cluster, whatever
its state, could ever run the service as declared (only changing the file or the
nodes helps); **warning** when nodes that are down, drained or paused could, but
no ready, active one can now. A port held by another service is an error when it
is held on every eligible node (no task of the service could start), a warning
when only some replicas would stay pending. A constraint on a key this module
does not know is left to the engine (it neither matches nor excludes a node
here). Reservations are compared with each node's *total* CPUs and memory, not
with what other tasks leave free. docs/placement.md says the same for users.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from stackctl.core.model.state import ResourceKind, ResourceState
from stackctl.core.plan.compose_keys import compose_key
from stackctl.core.plan.plan_model import Effect, Plan, PlanFinding
from stackctl.errors import Severity, StackFileError

CONSTRAINTS = "SC401"
MAX_REPLICAS = "SC402"
RESERVATIONS = "SC403"
HOST_PORT = "SC404"

_WRITES = (Effect.CREATE, Effect.ROLLING, Effect.IN_PLACE, Effect.REPLACE)
_NANO = 1_000_000_000
# Architectures docker reports (uname) and the names images use: a constraint
# written with either must not be reported as matching no node.
_ARCH_ALIASES = {
    "x86_64": "amd64",
    "amd64": "x86_64",
    "aarch64": "arm64",
    "arm64": "aarch64",
}


def _empty() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True)
class NodeInfo:
    """One Swarm node, as much of it as placement needs."""

    id: str
    hostname: str
    role: str = "worker"  # manager | worker
    availability: str = "active"  # active | pause | drain
    state: str = "ready"  # ready | down | unknown | disconnected
    labels: Mapping[str, str] = field(default_factory=_empty)
    engine_labels: Mapping[str, str] = field(default_factory=_empty)
    os: str = ""
    arch: str = ""
    nano_cpus: int = 0  # total; 0 = not reported (then not checked)
    memory_bytes: int = 0

    @property
    def ready(self) -> bool:
        """Swarm schedules new tasks here."""
        return self.state == "ready" and self.availability == "active"

    @property
    def condition(self) -> str:
        """Why it takes no new tasks, in the words ``docker node ls`` uses."""
        if self.state != "ready":
            return self.state
        return {"drain": "drained", "pause": "paused"}.get(self.availability, self.availability)


@dataclass(frozen=True)
class PortUse:
    """A host-mode port bound on a node by a running task of some service."""

    node_id: str
    port: int
    protocol: str
    service: str  # the engine name of the service whose task holds it


@dataclass(frozen=True)
class ClusterNodes:
    """The snapshot the preflight checks against."""

    nodes: tuple[NodeInfo, ...]
    host_ports: tuple[PortUse, ...] = ()  # from running tasks (Status.PortStatus)


@dataclass(frozen=True)
class Constraint:
    text: str
    key: str
    equal: bool
    value: str


def parse_constraint(text: str) -> Constraint | None:
    """``node.labels.zone == eu`` -> Constraint; None when it is not ``key==value`` or
    ``key!=value`` (the engine refuses those itself; validation reports them)."""
    for operator in ("==", "!="):
        key, found, value = text.partition(operator)
        if found:
            key, value = key.strip(), value.strip()
            if not key or not value:
                return None
            return Constraint(text, key, operator == "==", value)
    return None


def _node_values(node: NodeInfo, key: str) -> list[str] | None:
    """The node's values for a constraint key, or None for a key not known here."""
    lowered = key.lower()
    if lowered == "node.id":
        return [node.id]
    if lowered == "node.hostname":
        return [node.hostname]
    if lowered == "node.role":
        return [node.role]
    if lowered == "node.platform.os":
        return [node.os]
    if lowered == "node.platform.arch":
        return [node.arch, _ARCH_ALIASES.get(node.arch.lower(), node.arch)]
    # the prefix is case-insensitive, the label name is not (as swarmkit does);
    # a node without the label has the empty value
    if lowered.startswith("node.labels."):
        return [node.labels.get(key[len("node.labels.") :], "")]
    if lowered.startswith("engine.labels."):
        return [node.engine_labels.get(key[len("engine.labels.") :], "")]
    return None


def matches(constraint: Constraint, node: NodeInfo) -> bool:
    """Whether ``node`` satisfies ``constraint`` (an unknown key: it does)."""
    values = _node_values(node, constraint.key)
    if values is None:
        return True
    hit = any(v.lower() == constraint.value.lower() for v in values)
    return hit if constraint.equal else not hit


@dataclass(frozen=True)
class _Service:
    """What placement needs of one service spec."""

    name: str
    spec: Mapping[str, Any]
    constraints: tuple[Constraint, ...]
    replicas: int | None  # None: global or a job (no replica count to place)
    max_per_node: int
    nano_cpus: int
    memory_bytes: int
    host_ports: tuple[tuple[int, str, int], ...]  # (published, protocol, target)


def _service(state: ResourceState) -> _Service:
    spec = state.spec
    task = spec.get("TaskTemplate") or {}
    placement = task.get("Placement") or {}
    parsed = (parse_constraint(str(text)) for text in placement.get("Constraints") or [])
    mode = spec.get("Mode") or {}
    replicas = None
    if "Replicated" in mode:
        replicas = int((mode.get("Replicated") or {}).get("Replicas", 1))
    reservations = (task.get("Resources") or {}).get("Reservations") or {}
    ports = tuple(
        (int(port["PublishedPort"]), str(port.get("Protocol") or "tcp"), int(port["TargetPort"]))
        for port in (spec.get("EndpointSpec") or {}).get("Ports") or []
        if port.get("PublishMode") == "host" and port.get("PublishedPort")
    )
    return _Service(
        name=state.name,
        spec=spec,
        constraints=tuple(c for c in parsed if c is not None),
        replicas=replicas,
        max_per_node=int(placement.get("MaxReplicas") or 0),
        nano_cpus=int(reservations.get("NanoCPUs") or 0),
        memory_bytes=int(reservations.get("MemoryBytes") or 0),
        host_ports=ports,
    )


def written_services(plan: Plan) -> list[ResourceState]:
    """The services the plan creates or updates: the ones placement is checked for."""
    return [
        change.desired
        for change in plan.changes
        if change.kind is ResourceKind.SERVICE
        and change.effect in _WRITES
        and change.desired is not None
    ]


def publishes_host_ports(plan: Plan) -> bool:
    """Whether any written service publishes a host-mode port (the engine reads
    the running tasks only then)."""
    return any(_service(state).host_ports for state in written_services(plan))


def placement_findings(plan: Plan, cluster: ClusterNodes) -> tuple[PlanFinding, ...]:
    """The preflight's findings for every service ``plan`` writes (see the module doc)."""
    if not cluster.nodes:
        return ()  # no node list (not a manager's view): nothing to check against
    removed = {c.name for c in plan.changes if c.effect is Effect.DELETE}
    # (port, protocol) -> the uses, indexed once: each service looks up only its ports
    ports: dict[tuple[int, str], list[PortUse]] = {}
    for use in cluster.host_ports:
        if use.service not in removed:
            ports.setdefault((use.port, use.protocol), []).append(use)
    # constraint -> the IDs of the nodes it matches: services often share constraints
    matched: dict[Constraint, frozenset[str]] = {}
    findings: list[PlanFinding] = []
    for state in written_services(plan):
        service = _service(state)
        if service.replicas == 0:
            continue  # nothing will be scheduled
        check = _Check(service, plan.stack, cluster.nodes, ports, matched)
        findings += check.run()
    return tuple(findings)


def with_placement_findings(plan: Plan, cluster: ClusterNodes) -> Plan:
    return replace(plan, findings=placement_findings(plan, cluster))


class _Check:
    """The checks of one service, in order; each narrows the nodes the next sees."""

    def __init__(
        self,
        service: _Service,
        stack: str,
        nodes: Sequence[NodeInfo],
        ports: Mapping[tuple[int, str], Sequence[PortUse]],
        matched: dict[Constraint, frozenset[str]],
    ) -> None:
        self.service = service
        self.matched = matched
        self.stack = stack
        self.nodes = nodes
        self.ports = ports  # host-mode ports held, services the plan removes left out
        self.findings: list[PlanFinding] = []

    def run(self) -> list[PlanFinding]:
        candidates = self._constraints(list(self.nodes))
        if candidates is None:
            return self.findings
        candidates = self._reservations(candidates)
        if candidates is None:
            return self.findings
        self._max_replicas(candidates)
        self._host_ports([n for n in candidates if n.ready])
        return self.findings

    def _add(
        self, severity: Severity, code: str, message: str, keys: Sequence[str], hint: str
    ) -> None:
        parts = compose_key(
            ResourceKind.SERVICE, self.service.name, keys, stack=self.stack, spec=self.service.spec
        )
        self.findings.append(
            PlanFinding(severity, code, message, self.service.name, parts, hint=hint)
        )

    # --- constraints ---------------------------------------------------------------

    def _hit(self, constraint: Constraint, node: NodeInfo) -> bool:
        ids = self.matched.get(constraint)
        if ids is None:
            ids = frozenset(n.id for n in self.nodes if matches(constraint, n))
            self.matched[constraint] = ids
        return node.id in ids

    def _constraints(self, nodes: list[NodeInfo]) -> list[NodeInfo] | None:
        """The nodes that match every constraint (any state), or None after an error
        or when no ready node is left (the later checks would only repeat it)."""
        constraints = self.service.constraints
        matching = [n for n in nodes if all(self._hit(c, n) for c in constraints)]
        if not matching:
            alone = [c for c in constraints if not any(self._hit(c, n) for n in nodes)]
            blamed = alone[0] if alone else constraints[-1]
            if alone:
                what = ", ".join(c.text for c in alone)
                message = (
                    f"placement constraint {what} matches no node of the "
                    f"cluster ({_count(nodes)}); its tasks would never start"
                )
            else:
                message = (
                    f"no node of the cluster ({_count(nodes)}) matches all "
                    f"its placement constraints together "
                    f"({', '.join(c.text for c in constraints)}); its tasks would never start"
                )
            self._add(
                Severity.ERROR,
                CONSTRAINTS,
                message,
                _constraint_keys(blamed),
                "fix the constraint, or label a node: "
                "`docker node update --label-add KEY=VALUE NODE`",
            )
            return None
        ready = [n for n in matching if n.ready]
        if not ready:
            up = [n for n in nodes if n.ready]
            # blame the constraint that turns the ready nodes away
            excluding = [c for c in constraints if up and not any(self._hit(c, n) for n in up)]
            gone = excluding[0] if excluding else (constraints[0] if constraints else None)
            scope = "match its placement constraints" if constraints else "exist"
            self._add(
                Severity.WARNING,
                CONSTRAINTS,
                f"only nodes that take no new tasks {scope} ({_nodes(matching)}); its "
                "tasks stay pending until one is ready and active again",
                _constraint_keys(gone) if gone else ("TaskTemplate", "Placement"),
                "bring a node back (`docker node update --availability active NODE`) "
                "or widen the constraints",
            )
            return None
        return matching

    # --- reservations --------------------------------------------------------------

    def _fits(self, node: NodeInfo) -> bool:
        cpu, memory = self.service.nano_cpus, self.service.memory_bytes
        cpu_ok = not cpu or not node.nano_cpus or node.nano_cpus >= cpu
        memory_ok = not memory or not node.memory_bytes or node.memory_bytes >= memory
        return cpu_ok and memory_ok

    def _reservations(self, matching: list[NodeInfo]) -> list[NodeInfo] | None:
        service = self.service
        if not service.nano_cpus and not service.memory_bytes:
            return matching
        fitting = [n for n in matching if self._fits(n)]
        if fitting and any(n.ready for n in fitting):
            return fitting
        wanted = _reservation_text(service.nano_cpus, service.memory_bytes)
        # blame memory unless it alone would fit somewhere (then the CPUs are the problem)
        memory_fits = not service.memory_bytes or any(
            not n.memory_bytes or n.memory_bytes >= service.memory_bytes for n in matching
        )
        blamed = "NanoCPUs" if service.nano_cpus and memory_fits else "MemoryBytes"
        key = ("TaskTemplate", "Resources", "Reservations", blamed)
        if not any(self._fits(n) for n in matching):
            largest = max(matching, key=lambda n: (n.nano_cpus, n.memory_bytes))
            self._add(
                Severity.ERROR,
                RESERVATIONS,
                f"reserves {wanted} per task, more than any node it may run "
                f"on has in total (the largest: {largest.hostname} with "
                f"{_reservation_text(largest.nano_cpus, largest.memory_bytes)}); "
                "its tasks would never start",
                key,
                "lower deploy.resources.reservations or add a larger node",
            )
        else:
            self._add(
                Severity.WARNING,
                RESERVATIONS,
                f"reserves {wanted} per task; only nodes that take no new "
                f"tasks have that much ({_nodes(fitting)}); its tasks stay pending",
                key,
                "bring such a node back or lower deploy.resources.reservations",
            )
        return None

    # --- max_replicas_per_node -----------------------------------------------------

    def _max_replicas(self, eligible: list[NodeInfo]) -> None:
        service = self.service
        if not service.max_per_node or service.replicas is None:
            return
        ready = [n for n in eligible if n.ready]
        cap_all = service.max_per_node * len(eligible)
        cap_ready = service.max_per_node * len(ready)
        if cap_ready >= service.replicas:
            return
        shortfall = (
            f"{service.replicas} replicas, at most {service.max_per_node} "
            "per node (max_replicas_per_node)"
        )
        keys = ("TaskTemplate", "Placement", "MaxReplicas")
        if cap_all < service.replicas:
            self._add(
                Severity.ERROR,
                MAX_REPLICAS,
                f"{shortfall}, on {_count(eligible)} it may run on: at most {cap_all} can "
                f"run, {service.replicas - cap_all} would stay pending",
                keys,
                "lower deploy.replicas, raise max_replicas_per_node or add nodes",
            )
        else:
            self._add(
                Severity.WARNING,
                MAX_REPLICAS,
                f"{shortfall}: only {_count(ready)} of the {len(eligible)} it may run on "
                f"take tasks now, so {service.replicas - cap_ready} would stay pending "
                f"until {_nodes([n for n in eligible if not n.ready])} come back",
                keys,
                "bring the nodes back, or lower deploy.replicas",
            )

    # --- host-mode ports -----------------------------------------------------------

    def _host_ports(self, ready: list[NodeInfo]) -> None:
        service = self.service
        if not ready:
            return
        for published, protocol, target in service.host_ports:
            holders = {
                use.node_id: use.service
                for use in self.ports.get((published, protocol), ())
                if use.service != service.name
            }
            free = [n for n in ready if n.id not in holders]
            taken = [n for n in ready if n.id in holders]
            keys = ("EndpointSpec", "Ports", f"[{target}/{protocol}]", "PublishedPort")
            port = f"{published}/{protocol}"
            if not free:
                self._add(
                    Severity.ERROR,
                    HOST_PORT,
                    f"host-mode port {port} is already taken on every node "
                    f"it may run on ({_holders(taken, holders)}); its tasks would never start",
                    keys,
                    "publish another port, or remove the other service's port first",
                )
            elif service.replicas is None and taken:
                self._add(
                    Severity.WARNING,
                    HOST_PORT,
                    f"host-mode port {port} is taken on "
                    f"{_holders(taken, holders)}; no task of it starts there",
                    keys,
                    "publish another port, or constrain the service away from those nodes",
                )
            elif service.replicas is not None and service.replicas > len(free):
                where = f" ({_holders(taken, holders)} hold it)" if taken else ""
                self._add(
                    Severity.WARNING,
                    HOST_PORT,
                    f"host-mode port {port} allows one task per node and "
                    f"is free on {_count(free)}{where}: {service.replicas - len(free)} of "
                    f"{service.replicas} replicas would stay pending",
                    keys,
                    "use ingress mode (the default), fewer replicas, or mode: global",
                )


def _constraint_keys(constraint: Constraint) -> tuple[str, ...]:
    return ("TaskTemplate", "Placement", "Constraints", f"[{constraint.text}]")


def _count(nodes: Sequence[NodeInfo]) -> str:
    return f"{len(nodes)} node{'' if len(nodes) == 1 else 's'}"


def _nodes(nodes: Iterable[NodeInfo]) -> str:
    return ", ".join(f"{n.hostname} ({n.condition})" for n in nodes)


def _holders(nodes: Iterable[NodeInfo], holders: Mapping[str, str]) -> str:
    return ", ".join(f"{n.hostname} by {holders[n.id]}" for n in nodes)


def _reservation_text(nano_cpus: int, memory_bytes: int) -> str:
    parts = []
    if nano_cpus:
        parts.append(f"{nano_cpus / _NANO:g} CPU")
    if memory_bytes:
        parts.append(_bytes(memory_bytes))
    return " and ".join(parts) or "nothing"


def _bytes(value: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if value >= size:
            return f"{value / size:.1f} {unit}".replace(".0 ", " ")
    return f"{value} B"


def refuse_placement_errors(plan: Plan) -> None:
    """Raise (exit 1, before anything is written) when the preflight found errors."""
    if plan.errors:
        # printed like invalid stack files: one located line per error, exit 1
        raise StackFileError([finding.to_finding() for finding in plan.errors])
