"""Read the cluster's nodes (and the host-mode ports running tasks hold) for the
placement preflight (``stackctl.core.plan.placement``).

A constant number of calls, whatever the stack or cluster size: one node list;
when a service the plan writes publishes a host-mode port, one list of running
tasks; and when some of those tasks hold host-mode ports, one service list
(filtered by the IDs) to name their services. A plan that writes no service
makes no call.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from stackctl.core.plan.placement import (
    ClusterNodes,
    NodeInfo,
    PortUse,
    publishes_host_ports,
    with_placement_findings,
    written_services,
)
from stackctl.core.plan.plan_model import Plan
from stackctl.engine.client import EngineClient, engine_errors


def node_info(raw: Mapping[str, Any]) -> NodeInfo:
    """One node as ``GET /nodes`` lists it -> ``NodeInfo``."""
    spec = raw.get("Spec") or {}
    description = raw.get("Description") or {}
    platform = description.get("Platform") or {}
    resources = description.get("Resources") or {}
    return NodeInfo(
        id=str(raw.get("ID", "")),
        hostname=str(description.get("Hostname") or raw.get("ID", "")),
        role=str(spec.get("Role") or "worker"),
        availability=str(spec.get("Availability") or "active"),
        state=str((raw.get("Status") or {}).get("State") or "unknown"),
        labels=MappingProxyType(dict(spec.get("Labels") or {})),
        engine_labels=MappingProxyType(dict((description.get("Engine") or {}).get("Labels") or {})),
        os=str(platform.get("OS") or ""),
        arch=str(platform.get("Architecture") or ""),
        nano_cpus=int(resources.get("NanoCPUs") or 0),
        memory_bytes=int(resources.get("MemoryBytes") or 0),
    )


def _host_ports(client: EngineClient) -> tuple[PortUse, ...]:
    with engine_errors(client.endpoint, "list running tasks"):
        tasks = client.api.tasks(filters={"desired-state": "running"})
    bound = [
        (str(task.get("NodeID") or ""), str(task.get("ServiceID") or ""), port)
        for task in tasks
        for port in ((task.get("Status") or {}).get("PortStatus") or {}).get("Ports") or []
        if port.get("PublishMode") == "host" and port.get("PublishedPort")
    ]
    if not bound:
        return ()
    ids = sorted({service_id for _, service_id, _ in bound})
    with engine_errors(client.endpoint, "list the services holding host ports"):
        services = client.api.services(filters={"id": ids})
    names = {s.get("ID"): (s.get("Spec") or {}).get("Name") for s in services}
    return tuple(
        PortUse(
            node_id=node_id,
            port=int(port["PublishedPort"]),
            protocol=str(port.get("Protocol") or "tcp"),
            service=str(names.get(service_id) or service_id),
        )
        for node_id, service_id, port in bound
    )


def cluster_nodes(client: EngineClient, *, with_ports: bool) -> ClusterNodes:
    """The nodes, and (``with_ports``) the host-mode ports running tasks hold."""
    with engine_errors(client.endpoint, "list the swarm's nodes"):
        raw = client.api.nodes()
    nodes = tuple(sorted((node_info(n) for n in raw), key=lambda n: (n.hostname, n.id)))
    return ClusterNodes(nodes, _host_ports(client) if with_ports else ())


def placement_preflight(client: EngineClient, plan: Plan) -> Plan:
    """``plan`` with the placement findings on the services it writes (no call when
    it writes none)."""
    if not written_services(plan):
        return plan
    snapshot = cluster_nodes(client, with_ports=publishes_host_ports(plan))
    return with_placement_findings(plan, snapshot)
