"""The stack-file JSON Schema: loading, the compiled validator, and a shape index.

The schema (``schemas/stack.schema.json``, shipped as ``stackctl.schemas``) is the
single description of what a stack file may contain. jsonschema validates
against it; the *shape index* built here walks it once into a tree of
:class:`Shape` nodes so the other stages can ask, for any place in a document,
"which types are allowed here, which keys, is this key ignored by Swarm?"
without re-resolving ``$ref``/``oneOf`` for every service.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

SCHEMA_PACKAGE = "stackctl.schemas"
SCHEMA_FILE = "stack.schema.json"

# Annotation on a schema property: how Swarm treats the key.
SWARM_IGNORED = "ignored"  # accepted, warned about, has no effect
SWARM_UNSUPPORTED = "unsupported"  # Compose Specification only: rejected


@functools.cache
def load_schema() -> dict[str, Any]:
    """The stack-file schema as a dict (read once per process)."""
    text = (resources.files(SCHEMA_PACKAGE) / SCHEMA_FILE).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@functools.cache
def stack_validator() -> Validator:
    """A compiled jsonschema validator for stack files (built once, reused)."""
    # lazy: jsonschema (~0.1 s) only when a document is validated
    from jsonschema import Draft7Validator  # noqa: PLC0415

    return Draft7Validator(load_schema())


@dataclass(eq=False)
class Shape:
    """What the schema allows at one place in a document (all branches merged)."""

    types: set[str] = field(default_factory=set)
    description: str | None = None
    properties: dict[str, Shape] = field(default_factory=dict)
    patterns: list[tuple[re.Pattern[str], Shape]] = field(default_factory=list)
    items: Shape | None = None
    enum: list[Any] | None = None
    format: str | None = None
    swarm: str | None = None  # SWARM_IGNORED / SWARM_UNSUPPORTED
    swarm_note: str | None = None
    closed: bool = False  # additionalProperties: false
    required: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    unique: bool = False
    pattern: re.Pattern[str] | None = None
    # True when this node or anything below it carries a Swarm annotation or a
    # unit format: the annotation walk skips every other subtree.
    annotated: bool = False
    # The Python types ``types`` certainly accepts, by exact type (filled in by
    # ``root_shape``): ``conforms`` asks ``_type_ok`` only about the others.
    accepted: frozenset[type] = frozenset()
    # The leaf types whose values conform here whatever they are (no enum, pattern
    # or bound applies to them): ``conforms`` skips such values.
    free: frozenset[type] = frozenset()

    def child(self, key: str | int) -> Shape | None:
        """The shape of ``value[key]``, or None when the schema says nothing."""
        if isinstance(key, int):
            return self.items
        found = self.properties.get(key)
        if found is not None:
            return found
        for pattern, shape in self.patterns:
            if pattern.search(key):
                return shape
        return None

    def allows_key(self, key: str) -> bool:
        if key in self.properties:
            return True
        return any(pattern.search(key) for pattern, _ in self.patterns)


def _types_of(node: dict[str, Any]) -> set[str]:
    declared = node.get("type")
    if declared is None:
        return set()
    return {declared} if isinstance(declared, str) else set(declared)


class _ShapeBuilder:
    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        self.done: dict[str, Shape] = {}

    def resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            ref = node["$ref"]
            if not ref.startswith("#/"):
                raise ValueError(f"only local $ref supported, got {ref}")
            target: Any = self.schema
            for part in ref[2:].split("/"):
                target = target[part]
            node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return node

    def build(self, node: dict[str, Any]) -> Shape:
        node = self.resolve(node)
        shape = Shape(
            types=_types_of(node),
            description=node.get("description"),
            enum=node.get("enum"),
            format=node.get("format"),
            swarm=node.get("x-swarm"),
            swarm_note=node.get("x-swarm-note"),
            closed=node.get("additionalProperties") is False,
            required=tuple(node.get("required", ())),
            minimum=node.get("minimum"),
            maximum=node.get("maximum"),
            unique=bool(node.get("uniqueItems", False)),
            pattern=re.compile(node["pattern"]) if "pattern" in node else None,
        )
        for key, sub in node.get("properties", {}).items():
            shape.properties[key] = self.build(sub)
        for pattern, sub in node.get("patternProperties", {}).items():
            shape.patterns.append((re.compile(pattern), self.build(sub)))
        if isinstance(node.get("items"), dict):
            shape.items = self.build(node["items"])
        for branch in [*node.get("oneOf", []), *node.get("anyOf", [])]:
            _merge_into(shape, self.build(branch))
        return shape


def _merge_into(target: Shape, other: Shape) -> None:
    """Fold one oneOf branch into the merged shape."""
    target.types |= other.types
    target.format = target.format or other.format
    target.closed = target.closed or other.closed
    # Branches of every oneOf in the schema have disjoint types, so per-type
    # constraints (required for objects, uniqueItems for arrays, ...) never clash.
    target.required = (*target.required, *other.required)
    target.minimum = target.minimum if target.minimum is not None else other.minimum
    target.maximum = target.maximum if target.maximum is not None else other.maximum
    target.unique = target.unique or other.unique
    target.pattern = target.pattern or other.pattern
    if other.enum:
        target.enum = [*(target.enum or []), *other.enum]
    for key, sub in other.properties.items():
        if key in target.properties:
            _merge_into(target.properties[key], sub)
        else:
            target.properties[key] = sub
    target.patterns.extend(other.patterns)
    if other.items is not None:
        if target.items is None:
            target.items = other.items
        else:
            merged = Shape()
            _merge_into(merged, target.items)
            _merge_into(merged, other.items)
            target.items = merged


_ACCEPTED = {
    "boolean": (bool,),
    "integer": (int,),
    "number": (int, float),
    "string": (str,),
    "null": (type(None),),
    "object": (dict,),
    "array": (list,),
}


def _mark_accepted(shape: Shape, seen: set[int]) -> None:
    if id(shape) in seen:
        return
    seen.add(id(shape))
    shape.accepted = frozenset(kind for name in shape.types for kind in _ACCEPTED.get(name, ()))
    unbounded = shape.minimum is None and shape.maximum is None
    shape.free = frozenset(
        kind
        for kind in shape.accepted
        if kind in (bool, type(None))
        or (kind is str and shape.enum is None and shape.pattern is None)
        or (kind in (int, float) and unbounded)
    )
    for child in [*shape.properties.values(), *(s for _, s in shape.patterns)]:
        _mark_accepted(child, seen)
    if shape.items is not None:
        _mark_accepted(shape.items, seen)


def _mark_annotated(shape: Shape) -> bool:
    children = [*shape.properties.values(), *(s for _, s in shape.patterns)]
    if shape.items is not None:
        children.append(shape.items)
    below = [_mark_annotated(child) for child in children]
    shape.annotated = shape.swarm is not None or shape.format is not None or any(below)
    return shape.annotated


@functools.cache
def root_shape() -> Shape:
    """The shape index of the whole schema (built once)."""
    shape = _ShapeBuilder(load_schema()).build(load_schema())
    _mark_annotated(shape)
    _mark_accepted(shape, set())
    return shape


def shape_at(path: tuple[str | int, ...]) -> Shape | None:
    """The shape at a document path (``("services", "web", "deploy")``), if any."""
    shape: Shape | None = root_shape()
    for part in path:
        if shape is None:
            return None
        shape = shape.child(part)
    return shape


@functools.cache
def key_homes() -> dict[str, tuple[str, ...]]:
    """For each property name, the generic paths where the schema allows it.

    Used for hints like "replicas belongs under deploy" when a key is valid
    somewhere else in the document.
    """
    homes: dict[str, list[str]] = {}

    def visit(shape: Shape, where: str, depth: int) -> None:
        if depth > 8:
            return
        for key, sub in shape.properties.items():
            homes.setdefault(key, []).append(f"{where}.{key}" if where else key)
            visit(sub, f"{where}.{key}" if where else key, depth + 1)
        for pattern, sub in shape.patterns:
            if pattern.pattern == "^x-":
                continue
            visit(sub, f"{where}.<name>" if where else "<name>", depth + 1)
        if shape.items is not None:
            visit(shape.items, f"{where}[]", depth + 1)

    visit(root_shape(), "", 0)
    return {key: tuple(dict.fromkeys(paths)) for key, paths in homes.items()}


def _type_ok(value: Any, types: set[str]) -> bool:
    if isinstance(value, bool):
        return "boolean" in types
    if isinstance(value, int):
        return "integer" in types or "number" in types
    if isinstance(value, float):
        return "number" in types or ("integer" in types and value.is_integer())
    if isinstance(value, str):
        return "string" in types
    if value is None:
        return "null" in types
    if isinstance(value, dict):
        return "object" in types
    if isinstance(value, list):
        return "array" in types
    return False


def _all_unique(items: list[Any]) -> bool:
    try:
        return len(set(items)) == len(items)
    except TypeError:
        return all(items[i] != items[j] for i in range(len(items)) for j in range(i))


def conforms(value: Any, shape: Shape) -> bool:
    """Fast check against the shape index: True only if the value is certainly valid.

    Walking the merged shape tree is several times faster than jsonschema's
    generic oneOf handling; when this says True there is nothing to report and
    jsonschema is skipped. When it says False, jsonschema runs to explain why.
    It must never be more permissive than the schema (a unit test checks both
    agree on the corpus and on the malformed-file collection).
    """
    kind = type(value)
    if shape.types and kind not in shape.accepted and not _type_ok(value, shape.types):
        return False
    if kind is dict or isinstance(value, dict):
        for key in shape.required:
            if key not in value:
                return False
        properties = shape.properties
        for key, item in value.items():
            if not isinstance(key, str):
                return False
            child = properties.get(key) or shape.child(key)
            if child is None:
                if shape.closed:
                    return False
                continue
            if type(item) in child.free:
                continue
            if not conforms(item, child):
                return False
    elif isinstance(value, list):
        if shape.unique and not _all_unique(value):
            return False
        items = shape.items
        if items is not None:
            free = items.free
            return all(type(item) in free or conforms(item, items) for item in value)
    elif isinstance(value, str):
        if shape.enum is not None and value not in shape.enum:
            return False
        if shape.pattern is not None and not shape.pattern.search(value):
            return False
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if shape.minimum is not None and value < shape.minimum:
            return False
        if shape.maximum is not None and value > shape.maximum:
            return False
    return True
