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


def coerce_marked(data: dict[str, Any], marked: type[str]) -> dict[str, Any]:
    """``data`` where only strings of type ``marked`` are cast, and become ``str``.

    ``marked`` is the type of the strings interpolation produced: docker casts
    only those, and every other string stays as written. The result equals
    turning each ``marked`` string of ``coerce_types(data)`` back into a plain
    ``str`` and every other string back into the original, in one walk. Mappings
    and lists with nothing to change are not copied: the result shares them.
    """
    return _coerce_marked(data, root_shape(), marked)  # type: ignore[no-any-return]


def _coerce_marked(value: Any, shape: Shape | None, marked: type[str]) -> Any:
    kind = type(value)
    if kind is dict:
        out: dict[Any, Any] | None = None
        for key, item in value.items():
            item_kind = type(item)
            # Plain leaves are kept as they are without looking up their shape.
            if item_kind is str or item_kind is int or item is None or item_kind is bool:
                continue
            child = shape.child(key) if shape is not None and isinstance(key, str) else None
            new = _coerce_marked(item, child, marked)
            if new is not item:
                if out is None:
                    out = dict(value)
                out[key] = new
        return value if out is None else out
    if kind is list:
        items = shape.items if shape is not None else None
        copied: list[Any] | None = None
        for index, item in enumerate(value):
            if type(item) is str:
                continue
            new = _coerce_marked(item, items, marked)
            if new is not item:
                if copied is None:
                    copied = list(value)
                copied[index] = new
        return value if copied is None else copied
    if kind is marked:
        if shape is not None and shape.types and "string" not in shape.types:
            cast = cast_string(value, shape.types)
            return str(cast) if isinstance(cast, str) else cast
        return str(value)
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
