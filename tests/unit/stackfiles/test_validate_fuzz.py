"""Property tests: any document gets findings, never an exception, and the fast
pre-check never accepts what the JSON Schema rejects."""

from __future__ import annotations

import copy
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stackctl.core.convert.config_output import render_stack_yaml
from stackctl.core.model.coerce import coerce_types
from stackctl.core.model.normalize import normalize_document
from stackctl.core.validate.lint import lint_stack
from stackctl.core.validate.schema import conforms, root_shape, stack_validator
from stackctl.core.validate.validate import validate_document
from stackctl.errors import Location, Severity, StackFileError

BASE: dict[str, Any] = {
    "version": "3.8",
    "services": {
        "web": {
            "image": "nginx:1.25",
            "command": ["nginx", "-g", "daemon off;"],
            "environment": {"A": "1"},
            "ports": ["8080:80", {"target": 443, "published": 8443, "mode": "host"}],
            "volumes": ["data:/data", "/etc/localtime:/etc/localtime:ro"],
            "networks": {"front": {"aliases": ["www"]}},
            "secrets": ["token"],
            "configs": [{"source": "conf", "target": "/etc/app.conf", "mode": 0o440}],
            "healthcheck": {"test": ["CMD", "true"], "interval": "5s", "retries": 3},
            "deploy": {
                "replicas": 2,
                "update_config": {"order": "start-first", "monitor": "30s"},
                "resources": {"limits": {"cpus": "0.5", "memory": "64m"}},
                "placement": {"constraints": ["node.role == worker"]},
            },
            "depends_on": {"db": {"condition": "service_healthy"}},
        },
        "db": {"image": "postgres:16", "ulimits": {"nofile": {"soft": 1, "hard": 2}}},
    },
    "networks": {"front": {"driver": "overlay"}},
    "volumes": {"data": None},
    "secrets": {"token": {"file": "./token"}},
    "configs": {"conf": {"external": True}},
}

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(["10s", "1m", "512m", "0.5", "host", "x-y", "node.role == manager", "a:b:c"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.one_of(st.text(max_size=8), st.integers(0, 3)), inner, max_size=3),
    ),
    max_leaves=8,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


ALL_PATHS = _paths(BASE)[1:]


@st.composite
def mutated_documents(draw: st.DrawFn) -> Any:
    doc = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(ALL_PATHS))
        parent: Any = doc
        try:
            for part in path[:-1]:
                parent = parent[part]
            if draw(st.booleans()) and isinstance(parent, dict):
                parent[draw(st.text(max_size=8))] = draw(values)
            else:
                parent[path[-1]] = draw(values)
        except (KeyError, IndexError, TypeError):
            continue
    return doc


def locate(path: tuple[str | int, ...]) -> Location:
    return Location("stack.yml", len(path) + 1, 1)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_documents())
def test_any_document_gets_findings_never_an_exception(doc: Any) -> None:
    data = coerce_types(doc)
    found = validate_document(data, locate)
    assert all(f.message and f.code for f in found)
    if any(f.severity is Severity.ERROR for f in found):
        return
    try:
        stack = normalize_document(data, read_file=lambda path: b"x")
    except StackFileError:
        return
    lint_stack(stack, data, locate)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_documents())
def test_fast_precheck_is_never_more_permissive_than_the_schema(doc: Any) -> None:
    data = coerce_types(doc)
    if conforms(data, root_shape()):
        assert stack_validator().is_valid(data)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_documents())
def test_config_output_normalizes_back_to_the_same_stack(doc: Any) -> None:
    data = coerce_types(doc)
    if any(f.severity is Severity.ERROR for f in validate_document(data, locate)):
        return
    try:
        stack = normalize_document(data, read_file=lambda path: b"x")
    except StackFileError:
        return
    rendered = yaml.safe_load(render_stack_yaml(stack))
    again = normalize_document(coerce_types(rendered), read_file=lambda path: b"x")
    assert again == stack


def test_base_document_is_valid() -> None:
    assert not [
        f for f in validate_document(coerce_types(BASE), locate) if f.severity is Severity.ERROR
    ]
