"""The floor: the least any deployer can do through the Engine API.

``deploy`` creates the network and then every service in a tight loop; ``update``
reads the live services once and updates only those whose image differs. Both then
wait concurrently, polling the stack's services and running tasks, until every task
runs (which in Swarm means healthy, for a health-checked image) on the wanted image,
or Swarm has rolled the service back.

Run as a separate process by the harness so its time includes interpreter start-up,
like the other contenders. Prints one JSON line with what it did. Exit codes follow
stackctl's: 0 converged, 3 a service was rolled back, 4 a service paused, 5 timed out.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench.cluster import api_client, stack_filter, stack_progress
from bench.gen import SECOND_NS, StackShape, network_spec, service_specs

# Same rate as stackctl's watcher (stackctl/rollout/options.py): on a 2-core machine
# faster polling costs the engine more CPU than it saves in latency.
POLL_INTERVAL = 0.5


def _ensure_network(api: Any, stack: str) -> str:
    spec = network_spec(stack)
    for network in api.networks(names=[spec["Name"]]):
        if network["Name"] == spec["Name"]:
            return str(network["Id"])
    created = api._result(api._post_json(api._url("/networks/create"), data=spec), json=True)
    return str(created["Id"])


def _create_service(api: Any, spec: dict[str, Any]) -> None:
    api._raise_for_status(api._post_json(api._url("/services/create"), data=spec))


def deploy(api: Any, shape: StackShape, stack: str, workers: int) -> int:
    """Create the network and every service; returns how many services were created."""
    network_id = _ensure_network(api, stack)
    specs = service_specs(shape, stack, network_id)
    if workers <= 1:
        for spec in specs:
            _create_service(api, spec)
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(lambda s: _create_service(api, s), specs))
    return len(specs)


def _image(spec: dict[str, Any]) -> str:
    return str(spec["TaskTemplate"]["ContainerSpec"]["Image"])


def update(api: Any, shape: StackShape, stack: str) -> int:
    """Update the services whose image differs from ``shape``; returns how many."""
    network_id = _ensure_network(api, stack)
    live = {s["Spec"]["Name"]: s for s in api.services(filters=stack_filter(stack))}
    updated = 0
    for spec in service_specs(shape, stack, network_id):
        current = live.get(spec["Name"])
        if current is None:
            _create_service(api, spec)
            updated += 1
            continue
        if _image(current["Spec"]) == _image(spec):
            continue
        url = api._url("/services/{0}/update", current["ID"])
        params = {"version": current["Version"]["Index"]}
        api._raise_for_status(api._post_json(url, data=spec, params=params))
        updated += 1
    return updated


def wait(api: Any, shape: StackShape, stack: str, timeout: float) -> tuple[int, dict[str, int]]:
    """Poll until every service settled; returns (exit code, count of services per state)."""
    expected = {
        spec["Name"]: spec["TaskTemplate"]["ContainerSpec"]["Image"]
        for spec in service_specs(shape, stack, "")
    }
    deadline = time.monotonic() + timeout
    while True:
        progress = stack_progress(api, stack, expected)
        states: dict[str, int] = {}
        for name in expected:
            state = progress[name].state if name in progress else "pending"
            states[state] = states.get(state, 0) + 1
        if "pending" not in states:
            if "failed" in states:
                return 4, states
            return (3 if "rolled_back" in states else 0), states
        if time.monotonic() >= deadline:
            return 5, states
        time.sleep(POLL_INTERVAL)


def _parse_override(text: str) -> tuple[int, str]:
    index, _, image = text.partition("=")
    return int(index), image


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The floor contender (Engine API direct).")
    parser.add_argument("action", choices=["deploy", "update"])
    parser.add_argument("--stack", required=True)
    parser.add_argument("--services", type=int, required=True)
    parser.add_argument("--image", required=True)
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument(
        "--service-image",
        action="append",
        default=[],
        type=_parse_override,
        metavar="INDEX=IMAGE",
        help="put service INDEX (0-based) on IMAGE",
    )
    parser.add_argument("--health-interval", type=float, default=2.0, help="seconds")
    parser.add_argument("--workers", type=int, default=1, help="concurrent creates (setup)")
    parser.add_argument("--no-wait", action="store_true")
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args(argv)

    shape = StackShape(
        args.services,
        args.image,
        args.replicas,
        dict(args.service_image),
        health_interval_ns=int(args.health_interval * SECOND_NS),
    )
    started = time.perf_counter()
    api = api_client()
    if args.action == "deploy":
        written = deploy(api, shape, args.stack, args.workers)
    else:
        written = update(api, shape, args.stack)
    submitted = time.perf_counter() - started
    code, states = (0, {}) if args.no_wait else wait(api, shape, args.stack, args.timeout)
    report = {
        "services_written": written,
        "submit_seconds": round(submitted, 3),
        "seconds": round(time.perf_counter() - started, 3),
        "states": states,
        "exit_code": code,
    }
    sys.stdout.write(json.dumps(report) + "\n")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
