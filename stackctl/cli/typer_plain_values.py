"""Skip typer's pydantic coercion for option values that already have their plain type.

typer (0.29+) coerces every parameter value through a pydantic ``TypeAdapter``,
built when the parameter is first processed: importing pydantic and building one
adapter per parameter is about a tenth of a second of CPU on every command, more
than the rest of a no-op ``diff`` does with the file. Yet almost every value
stackctl's options receive needs no coercion at all: a ``str`` option gets a
``str`` from the command line, a flag gets a ``bool``, a default is already of its
type, a repeated option gets a tuple of ``str``.

``install()`` wraps typer's ``build_runtime_param`` so that such a value is returned
as it is (a repeated option's tuple as a list, as pydantic returns it), and
typer's own coercion, adapter and all, is built and used for any other value (an
``int`` typed as text, a choice, a path, ...): same results, same errors. When
typer's internals are not where this expects them, ``install()`` does nothing and
typer works as it always does. ``tests/unit/cli/test_typer_plain_values.py`` checks
both paths against typer's own coercion.
"""

from __future__ import annotations

import types
from typing import Any, Union, get_args, get_origin

try:  # typer's internals: another typer version may lack them (then install() does nothing)
    from typer import _coercion
    from typer import core as typer_core
except ImportError:
    _coercion = typer_core = None  # type: ignore[assignment]

_PLAIN = (str, bool, int, float)


def _plain_type(annotation: Any) -> type | None:
    """``str``/``bool``/``int``/``float``, also inside ``X | None``; else None."""
    if annotation in _PLAIN:
        return annotation  # type: ignore[no-any-return]
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1 and args[0] in _PLAIN:
            return args[0]  # type: ignore[no-any-return]
    return None


def _plain_value(annotation: Any, value: Any) -> tuple[bool, Any]:
    """(True, value) when ``value`` needs no coercion to ``annotation``."""
    plain = _plain_type(annotation)
    if plain is not None:
        # exact type: an int is not taken for a float, nor a bool for an int
        return (type(value) is plain, value)
    if get_origin(annotation) is list:
        (item,) = get_args(annotation) or (Any,)
        if (
            item in _PLAIN
            and isinstance(value, list | tuple)
            and all(type(v) is item for v in value)
        ):
            return True, list(value)
    return False, None


def _in_range(info: Any, value: Any) -> bool:
    """Within the option's ``min``/``max`` (typer leaves such a value as it is)."""
    low, high = getattr(info, "min", None), getattr(info, "max", None)
    if low is None and high is None:
        return True
    if not isinstance(value, int | float):
        return False
    return (low is None or value >= low) and (high is None or value <= high)


def _special(descriptor: Any) -> bool:
    """Parameters whose values typer checks beyond their type (files, paths,
    choices, custom parsers), or of a type this does not know: always typer's way."""
    annotation = descriptor.annotation
    if _plain_type(annotation) is None and get_origin(annotation) is not list:
        return True
    info = descriptor.parameter_info
    try:
        return bool(
            descriptor.file_annotation is not None
            or info.parser is not None
            or getattr(info, "click_type", None) is not None
            or descriptor.is_path
            or descriptor.is_choice
        )
    except AttributeError:  # a typer that describes parameters differently
        return True


def install() -> bool:
    """Make typer return plain values as they are; False when typer's internals differ."""
    if _coercion is None or typer_core is None:
        return False
    original: Any = getattr(typer_core, "build_runtime_param", None)
    base: Any = getattr(_coercion, "RuntimeParam", None)
    if original is None or base is None or getattr(original, "_stackctl_plain", False):
        return original is not None and base is not None

    class PlainFirst(base):  # type: ignore[misc]
        """typer's coercion, built only for a value that needs it."""

        def __init__(self, descriptor: Any) -> None:
            object.__setattr__(self, "_descriptor", descriptor)
            object.__setattr__(self, "_built", None)
            super().__init__(
                parameter_info=descriptor.parameter_info, annotation=descriptor.annotation
            )

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            plain, result = _plain_value(self.annotation, value)
            if plain and _in_range(self.parameter_info, result):
                return result
            if self._built is None:
                object.__setattr__(self, "_built", original(self._descriptor))
            return self._built._coerce_value(value, param=param, ctx=ctx)

    def build_runtime_param(descriptor: Any) -> Any:
        if _special(descriptor):
            return original(descriptor)
        return PlainFirst(descriptor)

    build_runtime_param._stackctl_plain = True  # type: ignore[attr-defined]
    build_runtime_param._stackctl_original = original  # type: ignore[attr-defined]
    setattr(typer_core, "build_runtime_param", build_runtime_param)  # noqa: B010
    return True
