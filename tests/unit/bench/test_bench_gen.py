"""The generated benchmark stacks: the file and the floor's API specs describe one thing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bench.gen import (
    HEALTH_RETRIES,
    SECOND_NS,
    StackShape,
    compose_document,
    network_spec,
    service_names,
    service_specs,
    write_stack_file,
)
from bench.scenarios import Images, deploy_steps
from stackctl.core.convert.convert import convert_stack
from stackctl.core.load.loading import load_stack


def _subset_mismatches(expected: Any, actual: Any, path: str = "") -> list[str]:
    """Paths where ``expected`` (a subset) differs from ``actual``."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: {actual!r} is not a mapping"]
        out: list[str] = []
        for key, value in expected.items():
            out += _subset_mismatches(value, actual.get(key), f"{path}.{key}")
        return out
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{path}: {actual!r} != {expected!r}"]
        return [
            m
            for i, (e, a) in enumerate(zip(expected, actual, strict=True))
            for m in _subset_mismatches(e, a, f"{path}[{i}]")
        ]
    return [] if expected == actual else [f"{path}: {actual!r} != {expected!r}"]


def test_service_names_sort_in_index_order() -> None:
    names = service_names(120)
    assert names[0] == "svc001"
    assert names[-1] == "svc120"
    assert names == sorted(names)


def test_compose_document_has_every_service_health_checked_with_two_replicas() -> None:
    doc = compose_document(StackShape(7, "repo/web:1"))
    assert list(doc["networks"]) == ["net"]
    assert len(doc["services"]) == 7
    for service in doc["services"].values():
        assert service["image"] == "repo/web:1"
        assert service["init"] is True
        assert service["deploy"]["replicas"] == 2
        assert service["deploy"]["endpoint_mode"] == "dnsrr"
        assert service["healthcheck"]["test"][0] == "CMD-SHELL"
        assert service["deploy"]["update_config"]["failure_action"] == "rollback"
        assert "ports" not in service


def test_monitor_window_covers_a_failing_health_check() -> None:
    shape = StackShape(1, "x", health_interval_ns=3 * SECOND_NS)
    doc = compose_document(shape)["services"]["svc001"]
    assert doc["healthcheck"]["interval"] == "3s"
    assert doc["deploy"]["update_config"]["monitor"] == f"{3 * HEALTH_RETRIES}s"


def test_one_service_override_changes_only_that_service() -> None:
    shape = StackShape(4, "repo/web:2").with_service_image(2, "repo/web:broken")
    images = [s["image"] for s in compose_document(shape)["services"].values()]
    assert images == ["repo/web:2", "repo/web:2", "repo/web:broken", "repo/web:2"]
    assert shape.with_image("repo/web:1").images == {}


def test_floor_specs_follow_the_shape() -> None:
    shape = StackShape(3, "repo/web:1", replicas=0).with_service_image(0, "repo/web:2")
    specs = service_specs(shape, "st", "net-id")
    assert [s["Name"] for s in specs] == ["st_svc001", "st_svc002", "st_svc003"]
    assert [s["TaskTemplate"]["ContainerSpec"]["Image"] for s in specs] == [
        "repo/web:2",
        "repo/web:1",
        "repo/web:1",
    ]
    assert all(s["Mode"]["Replicated"]["Replicas"] == 0 for s in specs)
    assert specs[0]["TaskTemplate"]["Networks"] == [{"Target": "net-id", "Aliases": ["svc001"]}]
    assert network_spec("st")["Labels"] == {"com.docker.stack.namespace": "st"}


def test_floor_specs_match_what_stackctl_converts_from_the_file(tmp_path: Path) -> None:
    """The floor must deploy exactly what the file says, or it is not a fair floor."""
    shape = StackShape(3, "repo/web:1").with_service_image(1, "repo/web:2")
    path = write_stack_file(shape, tmp_path, "stack.yml")
    assert yaml.safe_load(path.read_text()) == compose_document(shape)
    loaded = load_stack([str(path)], env={})
    assert loaded.findings == ()  # no lint warnings: the bench stack is a well-made one
    desired = convert_stack(loaded.stack, "st")
    # Converted specs name the network; the floor passes the ID it created.
    for spec in service_specs(shape, "st", "st_net"):
        converted = dict(desired.services[spec["Name"]].spec)
        assert _subset_mismatches(spec, converted) == []
    assert (
        _subset_mismatches(
            {k: v for k, v in network_spec("st").items() if k != "CheckDuplicate"},
            dict(desired.networks["st_net"].spec),
        )
        == []
    )


def _images_of(shape: StackShape) -> list[str]:
    return [shape.image_of(i) for i in range(shape.services)]


def test_deploy_chain_steps_each_start_from_the_previous_state() -> None:
    images = Images("w:1", "w:2", "w:broken")
    steps = deploy_steps(
        3, images, with_updates=True, with_single_service_ops=True, health_interval_ns=SECOND_NS
    )
    assert [s.op for s in steps] == ["deploy", "redeploy", "update_all", "update_one", "broken"]
    assert _images_of(steps[2].shape) == ["w:2", "w:2", "w:2"]
    assert _images_of(steps[3].shape) == ["w:1", "w:2", "w:2"]  # one service changes
    assert _images_of(steps[4].shape) == ["w:broken", "w:2", "w:2"]
    assert steps[4].expected == steps[3].shape  # a broken release must leave things as before


def test_deploy_chain_without_update_one_breaks_from_the_full_update() -> None:
    images = Images("w:1", "w:2", "w:broken")
    steps = deploy_steps(
        2,
        images,
        with_updates=True,
        with_single_service_ops=True,
        health_interval_ns=SECOND_NS,
        skip_ops=["update_one", "deploy"],  # the first deploy cannot be left out
    )
    assert [s.op for s in steps] == ["deploy", "redeploy", "update_all", "broken"]
    assert steps[-1].expected == steps[2].shape
    assert _images_of(steps[-1].shape) == ["w:broken", "w:2"]
