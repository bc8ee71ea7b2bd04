"""Every engine field the conversion writes maps back to a key of the stack file."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stackctl.core.convert.convert import convert_stack
from stackctl.core.load.loading import load_stack
from stackctl.core.model.state import ResourceKind
from stackctl.core.plan.compose_keys import (
    compose_key,
    echoed_by,
    is_from_stack_name,
    join_compose,
    pattern_of,
)
from stackctl.core.plan.diff_tree import diff_tree

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
STACK = "s"


def _every_path(tree: Any, at: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every node of a diff tree below the root: keyed items and their fields, and leaves.

    The diff reports a change at any of these: a whole keyed item when it is added or
    removed, a field inside it when it changes, a leaf otherwise.
    """
    if isinstance(tree, dict) and (not at or at[-1].startswith("[") or tree):
        if at:
            yield at
        for key, value in tree.items():
            yield from _every_path(value, (*at, key))
    else:
        yield at


def _converted() -> list[tuple[ResourceKind, str, dict[str, Any]]]:
    loaded = load_stack([str(FIXTURES / "every-key.yml")], env=dict(os.environ), cwd=str(FIXTURES))
    state = convert_stack(loaded.stack, STACK)
    return [
        (s.kind, s.name, dict(s.spec))
        for kind in ResourceKind
        for s in state.of_kind(kind).values()
        if not s.external
    ]


def _intermediate(kind: ResourceKind, keys: tuple[str, ...]) -> bool:
    """A plain (non-keyed) map inside a spec: reported per leaf, never as a whole."""
    return not keys[-1].startswith("[") and any(
        other[: len(keys)] == keys and len(other) > len(keys) for other in _ALL_PATHS[kind]
    )


_RESOURCES = _converted()
_ALL_PATHS: dict[ResourceKind, set[tuple[str, ...]]] = {}
for _kind, _name, _spec in _RESOURCES:
    _ALL_PATHS.setdefault(_kind, set()).update(_every_path(diff_tree(_kind, _spec)))


def test_the_fixture_converts_to_every_kind() -> None:
    assert {kind for kind, _, _ in _RESOURCES} == set(ResourceKind)
    assert len(_ALL_PATHS[ResourceKind.SERVICE]) > 100


@pytest.mark.parametrize(("kind", "name", "spec"), _RESOURCES, ids=[n for _, n, _ in _RESOURCES])
def test_every_converted_field_has_a_compose_key(
    kind: ResourceKind, name: str, spec: dict[str, Any]
) -> None:
    unmapped = []
    for keys in sorted(set(_every_path(diff_tree(kind, spec)))):
        if _intermediate(kind, keys) and not keys[-1].startswith("["):
            continue
        if is_from_stack_name(keys):
            continue
        found = compose_key(kind, name, keys, stack=STACK, spec=spec)
        if found is None or found[0] not in (
            "services",
            "networks",
            "configs",
            "secrets",
            "volumes",
        ):
            unmapped.append(".".join(pattern_of(keys)))
    assert unmapped == [], f"engine fields with no compose key in compose_keys.py: {unmapped}"


def test_examples_read_like_the_file() -> None:
    web = next(spec for kind, name, spec in _RESOURCES if name == f"{STACK}_web")

    def key(*keys: str) -> str | None:
        found = compose_key(ResourceKind.SERVICE, f"{STACK}_web", keys, stack=STACK, spec=web)
        return None if found is None else join_compose(found)

    assert key("TaskTemplate", "ContainerSpec", "Image") == "services.web.image"
    assert key("Labels", "[com.docker.stack.image]") == "services.web.image"
    assert (
        key("Labels", "[com.example.service]") == "services.web.deploy.labels[com.example.service]"
    )
    assert key("Mode", "Replicated", "Replicas") == "services.web.deploy.replicas"
    assert (
        key("TaskTemplate", "ContainerSpec", "Env", "[A_VAR]") == "services.web.environment[A_VAR]"
    )
    assert key("EndpointSpec", "Ports", "[8080/tcp]", "PublishedPort") == (
        "services.web.ports[8080/tcp].published"
    )
    assert key("TaskTemplate", "Networks", "[s_front]", "Aliases", "[www]") == (
        "services.web.networks.front.aliases[www]"
    )
    assert key(
        "TaskTemplate", "ContainerSpec", "Mounts", "[/data]", "VolumeOptions", "Labels", "[x]"
    ) == ("volumes.data.labels[x]")
    assert key("UpdateConfig", "Order") == "services.web.deploy.update_config.order"
    # Set by the engine or by hand, never by the file: no compose key.
    assert key("TaskTemplate", "Placement", "Platforms", "[linux/amd64]") is None
    assert key("TaskTemplate", "ContainerSpec", "Privileges", "SELinuxContext", "User") is None


def test_echoes_and_stack_name_fields_are_declared() -> None:
    assert echoed_by(("TaskTemplate", "ContainerSpec", "Image")) == (
        "Labels",
        "[com.docker.stack.image]",
    )
    assert is_from_stack_name(("Labels", "[com.docker.stack.namespace]"))
    assert not is_from_stack_name(("Labels", "[team]"))


def test_configs_are_named_by_their_file_key() -> None:
    config = next((name, spec) for kind, name, spec in _RESOURCES if kind is ResourceKind.CONFIG)
    found = compose_key(
        ResourceKind.CONFIG, config[0], ("content_sha256",), stack=STACK, spec=config[1]
    )
    assert found is not None and found[0] == "configs" and found[2] == "file"
    assert found[1] in ("app_conf", "extra_conf", "cred_spec")
