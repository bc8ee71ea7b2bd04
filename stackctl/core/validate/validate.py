"""Validation of a merged, interpolated, coerced stack document.

Three passes, all reported at once:

1. the JSON Schema (types, allowed keys, enums), translated to plain language;
2. a walk guided by the schema's shape index: keys Swarm ignores (warnings,
   SC3xx), Compose-Specification-only keys docker stack deploy rejects
   (errors), and values with a unit (durations, byte sizes, CPUs);
3. semantic checks across the document (references, ports, placement, ...).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from stackctl.core.model.units import (
    UnitError,
    parse_bytes,
    parse_cpus,
    parse_duration,
    parse_file_mode,
)
from stackctl.core.validate.schema import (
    SWARM_IGNORED,
    SWARM_UNSUPPORTED,
    Shape,
    conforms,
    load_schema,
    root_shape,
    stack_validator,
)
from stackctl.core.validate.schema_errors import DocPath, SchemaErrorTranslator, dotted
from stackctl.core.validate.semantic import semantic_findings
from stackctl.errors import Finding, Location, Severity

CODE_UNSUPPORTED = "SC020"
CODE_KEY_NOT_STRING = "SC017"
CODE_IGNORED = "SC301"
CODE_BAD_DURATION = "SC206"
CODE_BAD_BYTES = "SC207"
CODE_BAD_CPUS = "SC208"
CODE_BAD_MODE = "SC216"

_FORMAT_CHECKS: dict[str, tuple[Callable[[Any], int], str, str]] = {
    "duration": (parse_duration, CODE_BAD_DURATION, "use a Go duration such as 10s, 1m30s, 500ms"),
    "bytes": (parse_bytes, CODE_BAD_BYTES, "use bytes or a size with a unit such as 512m or 1g"),
    "cpus": (parse_cpus, CODE_BAD_CPUS, "use a decimal number of CPUs such as 0.5 or 2"),
    "mode": (parse_file_mode, CODE_BAD_MODE, "use octal permission bits such as 0440"),
}


# Values that are neither mappings nor lists (exact types, as the parser makes them).
_LEAVES = frozenset({str, int, float, bool, type(None)})
_UNCHECKED = object()


def validate_document(
    data: Mapping[str, Any], locate: Callable[[tuple[str | int, ...]], Location]
) -> list[Finding]:
    """Every problem in ``data`` (errors and warnings), sorted by position."""

    if not isinstance(data, Mapping):
        return [
            Finding(
                severity=Severity.ERROR,
                code="SC011",
                message="a stack file must be a mapping with a services: key",
                location=locate(()),
            )
        ]
    schema = load_schema()

    def resolve(ref: str) -> Any:
        target: Any = schema
        for part in ref.lstrip("#/").split("/"):
            target = target[part]
        return target

    translator = SchemaErrorTranslator(locate, resolve)
    findings: list[Finding] = []
    checked: Any = data
    if not conforms(data, root_shape()):
        # jsonschema needs string keys; YAML allows others (1: x, true: y).
        checked, odd_keys = _string_keys(data, ())
        for path in odd_keys:
            findings.append(
                translator.finding(
                    path,
                    f"the key {path[-1]!r} must be a string",
                    CODE_KEY_NOT_STRING,
                    f"put it in quotes: '{path[-1]}'",
                )
            )
        for error in stack_validator().iter_errors(checked):
            findings.extend(translator.translate(error))
    _walk(checked, root_shape(), (), translator, findings, {})
    findings.extend(semantic_findings(checked, translator))
    return sort_findings(findings)


def _string_keys(value: Any, path: DocPath) -> tuple[Any, list[DocPath]]:
    """A copy with every mapping key as a string, and the paths of keys that were not."""
    odd: list[DocPath] = []
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            text = key if isinstance(key, str) else str(key)
            if not isinstance(key, str):
                odd.append((*path, text))
            out[text], found = _string_keys(item, (*path, text))
            odd.extend(found)
        return out, odd
    if isinstance(value, list):
        items = []
        for index, item in enumerate(value):
            checked, found = _string_keys(item, (*path, index))
            items.append(checked)
            odd.extend(found)
        return items, odd
    return value, odd


def sort_findings(findings: list[Finding]) -> list[Finding]:
    """Deduplicate and order findings by file, line, column, path."""
    unique = list(dict.fromkeys(findings))
    return sorted(
        unique,
        key=lambda f: (
            f.location.file or "",
            f.location.line or 0,
            f.location.column or 0,
            f.path,
            f.code,
        ),
    )


def _walk(
    value: Any,
    shape: Shape,
    path: DocPath,
    translator: SchemaErrorTranslator,
    findings: list[Finding],
    problems: dict[tuple[str, type, Any], object],
) -> None:
    """Annotations and unit formats, following the shape index, added to ``findings``."""
    kind = type(value)
    if kind is dict or (kind not in _LEAVES and kind is not list and isinstance(value, Mapping)):
        for key, item in value.items():
            if not isinstance(key, str):
                continue
            child = shape.child(key)
            if child is None or not child.annotated:
                continue
            # A leaf whose shape has no unit format (and no Swarm note): nothing to check.
            if child.swarm is None and child.format not in _FORMAT_CHECKS and type(item) in _LEAVES:
                continue
            key_path = (*path, key)
            if child.swarm == SWARM_IGNORED:
                findings.append(
                    translator.finding(
                        key_path,
                        f"'{key}' is ignored by Swarm",
                        CODE_IGNORED,
                        child.swarm_note,
                        Severity.WARNING,
                    )
                )
                continue
            if child.swarm == SWARM_UNSUPPORTED:
                findings.append(
                    translator.finding(
                        key_path,
                        f"'{key}' is a Compose Specification feature "
                        "that docker stack deploy does not support",
                        CODE_UNSUPPORTED,
                        child.swarm_note,
                    )
                )
                continue
            _walk(item, child, key_path, translator, findings, problems)
    elif isinstance(value, list):
        if shape.items is not None and shape.items.annotated:
            for index, item in enumerate(value):
                _walk(item, shape.items, (*path, index), translator, findings, problems)
    elif shape.format in _FORMAT_CHECKS and isinstance(value, str | int | float):
        if isinstance(value, bool):
            return
        parse, code, hint = _FORMAT_CHECKS[shape.format]
        if shape.format == "duration" and not isinstance(value, str):
            return  # the schema already reports the type
        # The parsers are pure: a value repeated across services is parsed once.
        memo_key = (shape.format, type(value), value)
        problem = problems.get(memo_key, _UNCHECKED)
        if problem is _UNCHECKED:
            try:
                parse(value)
                problem = None
            except UnitError as exc:
                problem = str(exc)
            problems[memo_key] = problem
        if problem is not None:
            findings.append(translator.finding(path, str(problem), code, hint))


__all__ = ["dotted", "sort_findings", "validate_document"]
