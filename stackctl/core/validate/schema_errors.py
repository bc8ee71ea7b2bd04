"""jsonschema errors, translated into plain-language findings.

jsonschema's own messages ("Additional properties are not allowed ('replica'
was unexpected)", "... is not valid under any of the given schemas") are
written for schema authors. Every error here becomes a :class:`Finding` that
says what is wrong in the user's terms, where (path and file:line:col), and
what to do ("did you mean 'replicas'?").
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from stackctl.core.model.coerce import cast_string
from stackctl.core.validate.schema import key_homes, shape_at
from stackctl.errors import Finding, Location, Severity

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError

Locate = Callable[[tuple[str | int, ...]], Location]
DocPath = tuple[str | int, ...]

CODE_UNKNOWN_KEY = "SC010"
CODE_WRONG_TYPE = "SC011"
CODE_BAD_VALUE = "SC012"
CODE_MISSING_KEY = "SC013"
CODE_DUPLICATE_ITEM = "SC014"
CODE_OUT_OF_RANGE = "SC015"
CODE_INVALID = "SC016"

_TYPE_WORDS = {
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "object": "a mapping",
    "array": "a list",
    "null": "empty",
}


def dotted(path: Iterable[str | int]) -> str:
    """``("services", "web", "ports", 0)`` -> ``services.web.ports[0]``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def describe_value(value: Any) -> str:
    """A short phrase for what the user wrote: ``the string '3'``, ``a list``."""
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the string '{shown}'"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__}"


def describe_types(types: Iterable[str]) -> str:
    words = [_TYPE_WORDS.get(t, t) for t in dict.fromkeys(types)]
    if len(words) <= 1:
        return words[0] if words else "something else"
    return ", ".join(words[:-1]) + " or " + words[-1]


def _schema_types(schema: Mapping[str, Any]) -> list[str]:
    declared = schema.get("type")
    if declared is None:
        return []
    return [declared] if isinstance(declared, str) else list(declared)


def _branch_types(schema: Mapping[str, Any], resolve: Callable[[str], Any]) -> list[str]:
    if "$ref" in schema:
        schema = resolve(schema["$ref"])
    if "oneOf" in schema or "anyOf" in schema:
        out: list[str] = []
        for branch in schema.get("oneOf", schema.get("anyOf", [])):
            out.extend(_branch_types(branch, resolve))
        return out
    return _schema_types(schema)


def suggest(word: str, candidates: Iterable[str]) -> str | None:
    """The closest allowed spelling of ``word``, if one is close enough."""
    pool = [c for c in candidates if not c.startswith("x-")]
    lowered = {c.lower(): c for c in pool}
    if word.lower() in lowered:
        return lowered[word.lower()]
    matches = difflib.get_close_matches(word, pool, n=1, cutoff=0.6)
    if not matches:
        alt = word.replace("-", "_")
        matches = difflib.get_close_matches(alt, pool, n=1, cutoff=0.6)
    return matches[0] if matches else None


def _casts_to(text: str, expected: list[str]) -> bool:
    return cast_string(text, set(expected) - {"string"}) is not text


class SchemaErrorTranslator:
    """Turns jsonschema ValidationErrors into findings."""

    def __init__(self, locate: Locate, resolve: Callable[[str], Any]) -> None:
        self.locate = locate
        self.resolve = resolve

    def finding(
        self,
        path: DocPath,
        message: str,
        code: str,
        hint: str | None = None,
        severity: Severity = Severity.ERROR,
    ) -> Finding:
        return Finding(
            severity=severity,
            message=message,
            code=code,
            location=self.locate(path),
            path=dotted(path),
            hint=hint,
        )

    def translate(self, error: ValidationError) -> list[Finding]:
        path: DocPath = tuple(error.absolute_path)
        kind = error.validator
        instance = error.instance
        rule: Any = error.validator_value
        schema = error.schema if isinstance(error.schema, Mapping) else {}
        if kind == "additionalProperties" and isinstance(instance, Mapping):
            return self._unknown_keys(path, instance, schema)
        if kind == "type":
            return [self._wrong_type(path, instance, _schema_types(schema))]
        if kind in ("oneOf", "anyOf"):
            return self._alternatives(error, path)
        if kind == "enum":
            allowed = [str(v) for v in rule]
            guess = suggest(str(instance), allowed) if isinstance(instance, str) else None
            hint = f"did you mean '{guess}'?" if guess else None
            return [
                self.finding(
                    path,
                    f"{describe_value(instance)} is not allowed here; "
                    f"use one of: {', '.join(allowed)}",
                    CODE_BAD_VALUE,
                    hint,
                )
            ]
        if kind == "required" and isinstance(instance, Mapping):
            missing = [k for k in rule if k not in instance]
            return [
                self.finding(path, f"required key '{key}' is missing", CODE_MISSING_KEY)
                for key in missing
            ]
        if kind == "uniqueItems" and isinstance(instance, list):
            return [self._duplicates(path, instance)]
        if kind in ("minimum", "exclusiveMinimum"):
            return [
                self.finding(
                    path,
                    f"{describe_value(instance)} is too small; "
                    f"it must be at least {error.validator_value}",
                    CODE_OUT_OF_RANGE,
                )
            ]
        if kind in ("maximum", "exclusiveMaximum"):
            return [
                self.finding(
                    path,
                    f"{describe_value(instance)} is too large; "
                    f"it must be at most {error.validator_value}",
                    CODE_OUT_OF_RANGE,
                )
            ]
        if kind == "pattern":
            return [
                self.finding(
                    path,
                    f"{describe_value(instance)} does not have the expected form",
                    CODE_BAD_VALUE,
                    f"expected something matching {error.validator_value}",
                )
            ]
        return [self.finding(path, "this value is not valid here", CODE_INVALID)]

    def _unknown_keys(
        self, path: DocPath, instance: Mapping[str, Any], schema: Mapping[str, Any]
    ) -> list[Finding]:
        properties = schema.get("properties", {})
        patterns = [re.compile(p) for p in schema.get("patternProperties", {})]
        findings = []
        for key in instance:
            text = str(key)
            if text in properties or any(p.search(text) for p in patterns):
                continue
            findings.append(self._unknown_key(path, text, list(properties), bool(patterns)))
        return findings

    def _unknown_key(
        self, path: DocPath, key: str, allowed: list[str], has_patterns: bool
    ) -> Finding:
        key_path = (*path, key)
        if not allowed and has_patterns:
            # A name (service, network, ...) with characters Swarm does not allow.
            return self.finding(
                key_path,
                f"'{key}' is not a valid name",
                CODE_UNKNOWN_KEY,
                "names may contain only letters, digits, '.', '_' and '-'",
            )
        where = f"in {dotted(path)}" if path else "at the top level"
        guess = suggest(key, allowed)
        hint: str | None
        if guess:
            hint = f"did you mean '{guess}'?"
        else:
            homes = [h for h in key_homes().get(key, ()) if not h.startswith(dotted(path))]
            if homes:
                hint = f"'{key}' belongs at {homes[0]}"
            else:
                shown = ", ".join(sorted(allowed)[:12])
                more = ", ..." if len(allowed) > 12 else ""
                hint = f"allowed keys here: {shown}{more}" if allowed else None
        return self.finding(key_path, f"unknown key '{key}' {where}", CODE_UNKNOWN_KEY, hint)

    def _wrong_type(self, path: DocPath, instance: Any, expected: list[str]) -> Finding:
        hint = None
        shape = shape_at(path)
        wanted = describe_types(expected)
        if shape is not None and shape.format == "duration":
            wanted = "a duration such as 10s"
        if isinstance(instance, bool) and "string" in expected:
            hint = "put it in quotes: YAML reads yes/no/true/false/on/off as booleans"
        elif shape is not None and shape.format == "duration" and not isinstance(instance, str):
            hint = "write a duration with a unit, e.g. '10s' or '1m30s'"
        elif isinstance(instance, int | float) and "string" in expected:
            hint = f"put it in quotes: '{instance}'"
        elif instance is None:
            hint = "the key has no value; remove it or give it one"
        elif isinstance(instance, str) and _casts_to(instance, expected):
            hint = "remove the quotes: a quoted value is a string"
        return self.finding(
            path,
            f"must be {wanted}, not {describe_value(instance)}",
            CODE_WRONG_TYPE,
            hint,
        )

    def _alternatives(self, error: ValidationError, path: DocPath) -> list[Finding]:
        """oneOf/anyOf: explain the branch that matches the value's type, if any."""
        # lazy: jsonschema (~0.1 s) only when a document is validated
        from jsonschema import Draft7Validator  # noqa: PLC0415

        type_checker = Draft7Validator.TYPE_CHECKER
        by_branch: dict[int, list[ValidationError]] = {}
        for sub in error.context or []:
            by_branch.setdefault(int(sub.relative_schema_path[0]), []).append(sub)
        branches: list[Any] = list(error.validator_value)  # type: ignore[arg-type]
        matching = []
        for index, branch in enumerate(branches):
            types = _branch_types(branch, self.resolve)
            if types and any(type_checker.is_type(error.instance, t) for t in types):
                matching.append(index)
        if len(matching) == 1 and by_branch.get(matching[0]):
            findings: list[Finding] = []
            for sub in by_branch[matching[0]]:
                findings.extend(self.translate(sub))
            return findings
        expected: list[str] = []
        for branch in branches:
            expected.extend(_branch_types(branch, self.resolve))
        if len(matching) > 1:
            return [self.finding(path, "this value is ambiguous here", CODE_INVALID)]
        return [self._wrong_type(path, error.instance, expected)]

    def _duplicates(self, path: DocPath, items: list[Any]) -> Finding:
        seen: list[Any] = []
        for index, item in enumerate(items):
            if item in seen:
                return self.finding(
                    (*path, index),
                    f"duplicate entry {describe_value(item)}",
                    CODE_DUPLICATE_ITEM,
                    "remove the repeated entry",
                )
            seen.append(item)
        return self.finding(path, "the list contains duplicate entries", CODE_DUPLICATE_ITEM)
