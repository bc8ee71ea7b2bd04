"""Small value conversions shared by normalization and config output."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stackctl.core.model.units import parse_duration


def scalar_text(value: Any) -> str:
    """A YAML scalar as the string docker would use (Go's formatting of numbers/bools)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def key_value_map(value: Any) -> dict[str, str | None]:
    """``environment``/``labels``/``sysctls`` in either form -> mapping.

    List entries are ``KEY=value``; a bare ``KEY`` maps to None (for environment:
    "take the value from the environment", as docker stack config shows ``KEY: null``).
    """
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return {str(k): None if v is None else scalar_text(v) for k, v in value.items()}
    result: dict[str, str | None] = {}
    for entry in value:
        key, sep, text = str(entry).partition("=")
        result[key] = text if sep else None
    return result


def string_list(value: Any) -> tuple[str, ...]:
    """A string-or-list value as a tuple of strings."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


def optional_int(value: Any) -> int | None:
    """Integers may arrive as 2.0 (the schema's "integer" admits them)."""
    return None if value is None else int(value)


def optional_duration(value: Any) -> int | None:
    return None if value is None else parse_duration(str(value))
