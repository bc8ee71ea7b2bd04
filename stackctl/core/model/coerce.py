"""Schema-directed type casts after interpolation.

Interpolation always yields strings (``replicas: "${N}"`` becomes ``"3"``), so,
like ``docker stack deploy``, strings are cast to the type the schema expects
where the schema does not also accept a string. Values that do not look like
the expected type are left alone for validation to report.
"""

from __future__ import annotations

import re
from typing import Any

from stackctl.core.validate.schema import Shape, root_shape

_INT = re.compile(r"^[+-]?\d+$")
_FLOAT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
# The spellings docker's loader accepts for booleans (case-insensitive).
_TRUE = frozenset({"true", "yes", "y", "on"})
_FALSE = frozenset({"false", "no", "n", "off"})


def coerce_types(data: dict[str, Any]) -> dict[str, Any]:
    """Return a copy of ``data`` with strings cast to the schema's expected types."""
    result = _coerce(data, root_shape())
    return result if isinstance(result, dict) else data


def _coerce(value: Any, shape: Shape | None) -> Any:
    if shape is None:
        return value
    if isinstance(value, dict):
        return {key: _coerce(item, _child(shape, key)) for key, item in value.items()}
    if isinstance(value, list):
        return [_coerce(item, shape.items) for item in value]
    if isinstance(value, str) and "string" not in shape.types and shape.types:
        return cast_string(value, shape.types)
    return value


def _child(shape: Shape, key: object) -> Shape | None:
    return shape.child(key) if isinstance(key, str) else None


def cast_string(text: str, types: set[str]) -> Any:
    """Cast ``text`` to the first of integer/number/boolean it fits; else return it unchanged."""
    stripped = text.strip()
    if "integer" in types and _INT.match(stripped):
        return int(stripped)
    if "number" in types:
        if _INT.match(stripped):
            return int(stripped)
        if _FLOAT.match(stripped):
            return float(stripped)
    if "boolean" in types:
        lowered = stripped.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
    return text
