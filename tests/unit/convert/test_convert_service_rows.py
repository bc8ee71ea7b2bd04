"""Rows of docs/conversion.md's services table that need a rule of their own:
image tagging like the Go client, ulimits, resources and placement."""

from __future__ import annotations

from typing import Any

from support.stack_builders import service, stack

from stackctl.core.convert.convert import convert_stack
from stackctl.core.model.model import (
    Deploy,
    GenericResource,
    Placement,
    ResourceLimits,
    Resources,
    Ulimit,
)


def _spec(svc: Any) -> dict[str, Any]:
    return dict(convert_stack(stack({svc.name: svc}), "st").services[f"st_{svc.name}"].spec)


def test_image_is_tagged_like_the_go_client_and_the_label_keeps_it_as_written() -> None:
    cases = {
        "nginx": "nginx:latest",
        "docker.io/library/nginx": "nginx:latest",
        "docker.io/library/nginx:1.25": "nginx:1.25",
        "docker.io/acme/web": "acme/web:latest",
        "registry:5000/web": "registry:5000/web:latest",
        "registry:5000/web:2": "registry:5000/web:2",
        "web@sha256:" + "a" * 64: "web@sha256:" + "a" * 64,
    }
    for written, sent in cases.items():
        spec = _spec(service("web", written))
        assert spec["TaskTemplate"]["ContainerSpec"]["Image"] == sent, written
        assert spec["Labels"]["com.docker.stack.image"] == written


def test_ulimits_are_sorted_by_name() -> None:
    svc = service("web", ulimits=(Ulimit("nproc", 10, 20), Ulimit("core", 0, 0)))
    ulimits = _spec(svc)["TaskTemplate"]["ContainerSpec"]["Ulimits"]
    assert ulimits == [
        {"Name": "core", "Hard": 0, "Soft": 0},
        {"Name": "nproc", "Hard": 20, "Soft": 10},
    ]


def test_resources_and_placement_are_empty_objects_when_absent() -> None:
    task = _spec(service("web"))["TaskTemplate"]
    assert task["Resources"] == {}
    assert task["Placement"] == {}


def test_resources_pids_only_in_limits_generic_resources_only_in_reservations() -> None:
    gpu = (GenericResource(kind="gpu", value=2),)
    limits = ResourceLimits(nano_cpus=500_000_000, memory_bytes=64 << 20, pids=100)
    reservations = ResourceLimits(memory_bytes=32 << 20, pids=5, generic_resources=gpu)
    svc = service("web", deploy=Deploy(resources=Resources(limits, reservations)))
    assert _spec(svc)["TaskTemplate"]["Resources"] == {
        "Limits": {"NanoCPUs": 500_000_000, "MemoryBytes": 64 << 20, "Pids": 100},
        "Reservations": {
            "MemoryBytes": 32 << 20,
            "GenericResources": [{"DiscreteResourceSpec": {"Kind": "gpu", "Value": 2}}],
        },
    }


def test_placement_constraints_spread_preferences_and_max_replicas() -> None:
    placement = Placement(
        constraints=("node.role==worker",), preferences=("node.labels.az",), max_replicas_per_node=2
    )
    svc = service("web", deploy=Deploy(placement=placement))
    assert _spec(svc)["TaskTemplate"]["Placement"] == {
        "Constraints": ["node.role==worker"],
        "Preferences": [{"Spread": {"SpreadDescriptor": "node.labels.az"}}],
        "MaxReplicas": 2,
    }
