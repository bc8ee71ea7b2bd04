"""Turning a stack file's bytes into text, and YAML errors into located findings.

Helpers of ``yaml_source``: decoding (UTF-8, or UTF-16/32 with a byte-order mark as
docker accepts; binary and invalid UTF-8 refused with a position) and plain-language
messages for libyaml's syntax errors.
"""

from __future__ import annotations

from typing import Any

import yaml

from stackctl.errors import Finding, Location, Severity, StackFileError


def error(
    message: str, file: str, line: int | None = None, column: int | None = None, **kw: Any
) -> Finding:
    """A located error finding (SC001: the file cannot be read as YAML)."""
    return Finding(
        severity=Severity.ERROR,
        message=message,
        code=kw.pop("code", "SC001"),
        location=Location(file, line, column),
        **kw,
    )


def decode_source(raw: bytes, file: str) -> str:
    """Bytes -> text. UTF-8 (BOM optional); UTF-16/32 only with a BOM, as docker reads them."""
    boms = (
        (b"\xff\xfe\x00\x00", "utf-32-le"),
        (b"\x00\x00\xfe\xff", "utf-32-be"),
        (b"\xef\xbb\xbf", "utf-8"),
        (b"\xff\xfe", "utf-16-le"),
        (b"\xfe\xff", "utf-16-be"),
    )
    for bom, encoding in boms:
        if raw.startswith(bom):
            try:
                return raw[len(bom) :].decode(encoding)
            except UnicodeDecodeError as exc:
                raise StackFileError(
                    [
                        error(
                            f"file starts with a {encoding} byte-order mark but is not valid "
                            f"{encoding} (byte offset {exc.start})",
                            file,
                        )
                    ]
                ) from None
    nul = raw.find(b"\x00")
    if nul >= 0:
        line = raw.count(b"\n", 0, nul) + 1
        raise StackFileError(
            [
                error(
                    "this is not a text file: it contains NUL bytes (binary data, or UTF-16 "
                    "without a byte-order mark)",
                    file,
                    line,
                    hint="save the stack file as UTF-8 text",
                )
            ]
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise StackFileError(
            [
                error(
                    f"file is not valid UTF-8: byte 0x{raw[exc.start]:02x} cannot be decoded",
                    file,
                    line,
                    column,
                    hint="save the stack file as UTF-8 text",
                )
            ]
        ) from None


# libyaml's words for common mistakes, and what usually fixes them.
_SYNTAX_HINTS = (
    ("mapping values are not allowed", "a value that contains ': ' must be quoted"),
    ("did not find expected key", "check the indentation of this line and the ones above it"),
    ("found unexpected end of stream", "a quoted string is never closed"),
    ("did not find expected ',' or", "a [ or { is never closed, or an item lacks a comma"),
    ("found undefined tag handle", "quote the value if the ! is meant literally"),
    ("found character that cannot start any token", "quote the value"),
)


def yaml_error(exc: yaml.MarkedYAMLError, file: str, text: str) -> Finding:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark is not None else None
    column = mark.column + 1 if mark is not None else None
    problem = exc.problem or exc.context or "invalid YAML"
    message = f"invalid YAML: {problem}"
    if exc.context and exc.problem and exc.context_mark is not None:
        message += f" ({exc.context} at line {exc.context_mark.line + 1})"
    hint = next((h for key, h in _SYNTAX_HINTS if key in problem), None)
    if mark is not None:
        lines = text.splitlines()
        current = lines[mark.line] if mark.line < len(lines) else ""
        if "\t" in current[: max(mark.column, 0) + 1] or "'\\t'" in problem:
            message = "a tab character is used for indentation; YAML allows only spaces there"
            hint = "replace the tabs at the start of the line with spaces"
            tab = current.find("\t")
            column = tab + 1 if tab >= 0 else column
    return error(message, file, line, column, hint=hint)
