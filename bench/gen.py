"""Generated benchmark stacks: N health-checked web services on one overlay network.

One ``StackShape`` yields both a compose document (for stackctl and `docker stack
deploy`) and the equivalent Engine API specs (for the floor), so every contender
deploys the same thing.

The health check is declared in the file (the same command as the demo image's
HEALTHCHECK: GET /health on port 8080, which the `broken` tag never serves), so the
file says everything the rollout depends on.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

NAMESPACE_LABEL = "com.docker.stack.namespace"
IMAGE_LABEL = "com.docker.stack.image"
NETWORK = "net"

SECOND_NS = 1_000_000_000

# Timing shared by the compose document and the Engine API specs (nanoseconds).
HEALTH_TEST = [
    "CMD-SHELL",
    "timeout 2 wget -q -O /dev/null http://127.0.0.1:8080/health || exit 1",
]
# Every check is an exec into the container (~20 ms of CPU across dockerd, containerd
# and runc here): 1 s checks on 100 containers would keep a 2-core machine busy and
# the bench would measure health-check load, so the default interval is 2 s.
DEFAULT_HEALTH_INTERVAL_NS = 2 * SECOND_NS
HEALTH_TIMEOUT_NS = 3 * SECOND_NS
HEALTH_RETRIES = 2
STOP_GRACE_NS = 2 * SECOND_NS
UPDATE_DELAY_NS = SECOND_NS // 2


def _compose_duration(ns: int) -> str:
    """Nanoseconds as a compose duration string ("500ms", "2s")."""
    if ns % SECOND_NS == 0:
        return f"{ns // SECOND_NS}s"
    return f"{ns // 1_000_000}ms"


@dataclass(frozen=True)
class StackShape:
    """What a generated stack looks like; ``images`` overrides the image per service index."""

    services: int
    image: str
    replicas: int = 2
    images: Mapping[int, str] = field(default_factory=dict)
    health_interval_ns: int = DEFAULT_HEALTH_INTERVAL_NS

    @property
    def monitor_ns(self) -> int:
        """Swarm's update monitor window: long enough for the health check to fail once
        (interval x retries), as stackctl's lint SC103 asks."""
        return self.health_interval_ns * HEALTH_RETRIES

    def image_of(self, index: int) -> str:
        return self.images.get(index, self.image)

    def with_image(self, image: str) -> StackShape:
        """Every service on ``image`` (per-service overrides dropped)."""
        return replace(self, image=image, images={})

    def with_service_image(self, index: int, image: str) -> StackShape:
        """Same shape, one service on another image."""
        return replace(self, images={**self.images, index: image})


def service_names(count: int) -> list[str]:
    """Service keys in the file: ``svc001``, ``svc002``, ... (sorted order == index order)."""
    return [f"svc{i + 1:03d}" for i in range(count)]


def compose_document(shape: StackShape) -> dict[str, Any]:
    """The stack file as a mapping, ready for YAML."""
    services: dict[str, Any] = {}
    for index, name in enumerate(service_names(shape.services)):
        services[name] = {
            "image": shape.image_of(index),
            "init": True,
            "stop_grace_period": _compose_duration(STOP_GRACE_NS),
            "healthcheck": {
                "test": list(HEALTH_TEST),
                "interval": _compose_duration(shape.health_interval_ns),
                "timeout": _compose_duration(HEALTH_TIMEOUT_NS),
                "retries": HEALTH_RETRIES,
            },
            "networks": [NETWORK],
            "deploy": {
                "replicas": shape.replicas,
                "endpoint_mode": "dnsrr",
                "update_config": {
                    "parallelism": 1,
                    "delay": _compose_duration(UPDATE_DELAY_NS),
                    "order": "start-first",
                    "failure_action": "rollback",
                    "monitor": _compose_duration(shape.monitor_ns),
                },
                "rollback_config": {
                    "parallelism": 0,
                    "order": "stop-first",
                    "monitor": _compose_duration(shape.monitor_ns),
                },
            },
        }
    return {"services": services, "networks": {NETWORK: {"driver": "overlay"}}}


def render_yaml(shape: StackShape) -> str:
    return yaml.safe_dump(compose_document(shape), sort_keys=False)


def write_stack_file(shape: StackShape, directory: Path, filename: str) -> Path:
    """Write the stack file into ``directory`` and return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / filename
    path.write_text(render_yaml(shape), encoding="utf-8")
    return path


def network_spec(stack: str) -> dict[str, Any]:
    """``POST /networks/create`` body for the stack's overlay network."""
    return {
        "Name": f"{stack}_{NETWORK}",
        "Driver": "overlay",
        "Labels": {NAMESPACE_LABEL: stack},
        "CheckDuplicate": True,
    }


def service_specs(shape: StackShape, stack: str, network_id: str) -> list[dict[str, Any]]:
    """``POST /services/create`` bodies, field for field what `docker stack deploy` sends."""
    specs: list[dict[str, Any]] = []
    for index, name in enumerate(service_names(shape.services)):
        image = shape.image_of(index)
        specs.append(
            {
                "Name": f"{stack}_{name}",
                "Labels": {NAMESPACE_LABEL: stack, IMAGE_LABEL: image},
                "TaskTemplate": {
                    "ContainerSpec": {
                        "Image": image,
                        "Labels": {NAMESPACE_LABEL: stack},
                        "Init": True,
                        "StopGracePeriod": STOP_GRACE_NS,
                        "Healthcheck": {
                            "Test": list(HEALTH_TEST),
                            "Interval": shape.health_interval_ns,
                            "Timeout": HEALTH_TIMEOUT_NS,
                            "Retries": HEALTH_RETRIES,
                        },
                    },
                    "Networks": [{"Target": network_id, "Aliases": [name]}],
                    "Resources": {},
                    "Placement": {},
                },
                "Mode": {"Replicated": {"Replicas": shape.replicas}},
                "UpdateConfig": {
                    "Parallelism": 1,
                    "Delay": UPDATE_DELAY_NS,
                    "FailureAction": "rollback",
                    "Monitor": shape.monitor_ns,
                    "MaxFailureRatio": 0,
                    "Order": "start-first",
                },
                "RollbackConfig": {
                    "Parallelism": 0,
                    "FailureAction": "pause",
                    "Monitor": shape.monitor_ns,
                    "MaxFailureRatio": 0,
                    "Order": "stop-first",
                },
                "EndpointSpec": {"Mode": "dnsrr"},
            }
        )
    return specs


def main(argv: list[str] | None = None) -> int:
    """Print a generated stack file (handy for eyeballing what the bench deploys)."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("services", type=int)
    parser.add_argument("--image", default="stackctl-demo/web:1")
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--health-interval", type=float, default=DEFAULT_HEALTH_INTERVAL_NS / 1e9)
    args = parser.parse_args(argv)
    interval = int(args.health_interval * SECOND_NS)
    shape = StackShape(args.services, args.image, args.replicas, health_interval_ns=interval)
    sys.stdout.write(render_yaml(shape))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
