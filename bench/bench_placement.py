"""In-process timing of the placement preflight (stackctl.core.plan.placement) on a
large synthetic plan: 200 services with two constraints, a reservation, a per-node
limit and a host-mode port each, against 100 nodes and 1,000 host-port uses.

    .venv/bin/python bench/bench_placement.py [RUNS]

Prints the best of RUNS (default 5). No engine: the snapshot is hand-made, so this
measures the checks alone (the engine side is one node list, plus one task list and
one service list when a written service publishes a host-mode port).
"""

from __future__ import annotations

import sys
import time
from types import MappingProxyType
from typing import Any

from stackctl.core.model.state import ClusterState, ResourceKind, ResourceState
from stackctl.core.plan.diff import plan_changes
from stackctl.core.plan.placement import ClusterNodes, NodeInfo, PortUse, placement_findings

SERVICES, NODES, PORT_USES = 200, 100, 1000


def _spec(i: int) -> dict[str, Any]:
    return {
        "Name": f"s_svc{i}",
        "Labels": {},
        "TaskTemplate": {
            "ContainerSpec": {"Image": "x"},
            "Placement": {
                "Constraints": [f"node.labels.zone==z{i % 7}", "node.role==worker"],
                "MaxReplicas": 2,
            },
            "Resources": {"Reservations": {"NanoCPUs": 500_000_000, "MemoryBytes": 1 << 28}},
        },
        "Mode": {"Replicated": {"Replicas": 3}},
        "EndpointSpec": {
            "Ports": [
                {"TargetPort": 80, "PublishedPort": 10000 + i, "Protocol": "tcp"}
                | {"PublishMode": "host"}
            ]
        },
    }


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    services = {
        f"s_svc{i}": ResourceState(ResourceKind.SERVICE, f"s_svc{i}", _spec(i))
        for i in range(SERVICES)
    }
    plan = plan_changes(ClusterState("s", services=services), ClusterState("s"))
    nodes = tuple(
        NodeInfo(
            f"n{i}",
            f"h{i}",
            labels=MappingProxyType({"zone": f"z{i % 7}"}),
            nano_cpus=4_000_000_000,
            memory_bytes=8 << 30,
        )
        for i in range(NODES)
    )
    uses = tuple(
        PortUse(f"n{i % NODES}", 10000 + i % SERVICES, "tcp", "other") for i in range(PORT_USES)
    )
    cluster = ClusterNodes(nodes, uses)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        placement_findings(plan, cluster)
        times.append(time.perf_counter() - started)
    print(
        f"placement preflight, {SERVICES} services x {NODES} nodes x {PORT_USES} "
        f"host-port uses: best {min(times) * 1000:.1f} ms of {runs}"
    )


if __name__ == "__main__":
    main()
