"""The shipped JSON Schema: loadable as package data, documented, and annotated."""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator
from support.testkit import impossible_here_unless

from stackctl.core.model.coerce import coerce_types
from stackctl.core.validate.schema import (
    SWARM_IGNORED,
    SWARM_UNSUPPORTED,
    conforms,
    load_schema,
    root_shape,
    shape_at,
    stack_validator,
)

REPO = Path(__file__).resolve().parents[3]


def test_schema_ships_as_package_data_and_matches_the_repo_copy() -> None:
    packaged = (resources.files("stackctl.schemas") / "stack.schema.json").read_text()
    assert json.loads(packaged) == json.loads((REPO / "schemas" / "stack.schema.json").read_text())
    Draft7Validator.check_schema(load_schema())


def _properties(node: Any, where: str = "") -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(node, dict):
        for key, sub in (node.get("properties") or {}).items():
            found.append((f"{where}.{key}", sub))
        for key, sub in node.items():
            found += _properties(sub, f"{where}.{key}" if key != "properties" else where)
    elif isinstance(node, list):
        for index, sub in enumerate(node):
            found += _properties(sub, f"{where}[{index}]")
    return found


def test_every_key_has_a_description_for_the_reference_docs() -> None:
    missing = [where for where, sub in _properties(load_schema()) if not sub.get("description")]
    assert missing == []


def test_swarm_annotations_carry_a_note() -> None:
    annotated = [
        (where, sub) for where, sub in _properties(load_schema()) if sub.get("x-swarm") is not None
    ]
    assert len(annotated) > 20
    for where, sub in annotated:
        assert sub["x-swarm"] in (SWARM_IGNORED, SWARM_UNSUPPORTED), where
        assert sub.get("x-swarm-note"), where


@pytest.mark.parametrize(
    ("path", "swarm"),
    [
        (("services", "web", "build"), SWARM_IGNORED),
        (("services", "web", "container_name"), SWARM_IGNORED),
        (("services", "web", "privileged"), SWARM_IGNORED),
        (("services", "web", "network_mode"), SWARM_IGNORED),
        (("services", "web", "platform"), SWARM_UNSUPPORTED),
        (("name",), SWARM_UNSUPPORTED),
        (("configs", "c", "content"), SWARM_UNSUPPORTED),
        (("services", "web", "image"), None),
        (("services", "web", "depends_on"), None),
    ],
)
def test_key_annotations(path: tuple[str, ...], swarm: str | None) -> None:
    shape = shape_at(path)
    assert shape is not None
    assert shape.swarm == swarm


def test_extension_fields_are_allowed_everywhere_objects_are_open_to_them() -> None:
    data: dict[str, Any] = {
        "x-top": 1,
        "services": {"web": {"image": "a:1", "x-svc": {"any": ["thing"]}}},
        "networks": {"n": {"x-net": True}},
        "volumes": {"v": {"x-vol": None}},
        "configs": {"c": {"external": True, "x-c": 1}},
        "secrets": {"s": {"external": True, "x-s": 1}},
    }
    assert stack_validator().is_valid(data)


def _corpus_documents() -> list[Path]:
    shared = Path(os.environ.get("STACKCTL_SHARED", REPO / ".." / "shared"))
    corpus = (shared / "corpus").resolve()
    if not (corpus / "sources.json").is_file():
        return []
    entries = json.loads((corpus / "sources.json").read_text())
    return [corpus / e["local"] for e in entries]


@impossible_here_unless(
    bool(_corpus_documents()), "the public stack-file corpus (../shared/corpus) is not in this repo"
)
@pytest.mark.parametrize("path", _corpus_documents(), ids=lambda p: p.name)
def test_fast_precheck_agrees_with_jsonschema_on_the_corpus(path: Path) -> None:
    raw = path.read_bytes()
    text = raw.decode("utf-16") if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else raw.decode()
    data = coerce_types(yaml.safe_load(text))
    assert conforms(data, root_shape()) == stack_validator().is_valid(data)
