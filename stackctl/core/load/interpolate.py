"""Variable substitution in stack-file values (``$VAR``, ``${VAR:-default}``, ...).

Pure: the environment comes in as a mapping. Forms, as in the Compose
Specification (docker's CLI knows all but ``+``/``:+`` and nesting):

====================  ===========================================================
``$VAR``, ``${VAR}``  the value; unset -> "" and a warning (an error with strict)
``${VAR:-default}``   default when VAR is unset or empty
``${VAR-default}``    default when VAR is unset
``${VAR:?message}``   error with the message when VAR is unset or empty
``${VAR?message}``    error with the message when VAR is unset
``${VAR:+alt}``       alt when VAR is set and not empty, else ""
``${VAR+alt}``        alt when VAR is set, else ""
``$$``                a literal ``$``
====================  ===========================================================

Defaults, messages and alternatives may themselves contain substitutions
(``${A:-${B:-x}}``); they are only evaluated when used, and any other ``$`` in
them is literal, as docker reads them. Only values are
interpolated, never keys, and everywhere except the top-level ``version``
(docker checks the version before it interpolates; ``x-`` fields are interpolated).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from stackctl.core.load.doc_paths import Path, dotted
from stackctl.errors import Finding, Location, Severity

NOT_INTERPOLATED = frozenset({"version"})

CODE_INVALID = "SC040"
CODE_REQUIRED = "SC041"
CODE_UNSET = "SC042"


class InterpolatedStr(str):
    """A string that variable substitution produced.

    Only such values are cast to the type the schema expects (docker casts a
    value only when interpolation changed it); the marker survives merging.
    """

    __slots__ = ()


class InterpolationError(Exception):
    """A template that cannot be evaluated; ``code`` tells which kind."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class _Scan:
    text: str
    env: Mapping[str, str]
    unset: list[str] = field(default_factory=list)
    used: set[str] = field(default_factory=set)  # every variable looked at


def _is_name_start(ch: str) -> bool:
    return ch == "_" or ("a" <= ch.lower() <= "z" and ch.isascii())


def _is_name_char(ch: str) -> bool:
    return _is_name_start(ch) or ("0" <= ch <= "9")


_INVALID_HINT = "write $$ for a literal $ (docker: you may need to escape any $ with another $)"


def _invalid(text: str) -> InterpolationError:
    return InterpolationError(CODE_INVALID, f'invalid interpolation format in "{text}"')


def _braced_end(text: str, start: int, whole: str) -> int:
    """Index of the ``}`` closing a ``${`` whose body starts at ``start``."""
    depth = 1
    i = start
    while i < len(text):
        ch = text[i]
        if ch == "$" and i + 1 < len(text) and text[i + 1] in "${":
            if text[i + 1] == "{":
                depth += 1
            i += 2
            continue
        if ch == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise _invalid(whole)


def _substitute(text: str, scan: _Scan, depth: int = 0, *, nested: bool = False) -> str:
    """Evaluate ``text``. In a default/message/alternative (``nested``) only ``${...}``
    is substituted and any other ``$`` is literal, so defaults docker takes verbatim
    (``${PASS:-$2y$05$hash}``) keep their meaning."""
    if depth > 20:
        raise InterpolationError(CODE_INVALID, "substitutions nest more than 20 levels deep")
    if "$" not in text:
        return text
    out: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch != "$":
            j = text.find("$", i)
            j = n if j < 0 else j
            out.append(text[i:j])
            i = j
            continue
        nxt = text[i + 1] if i + 1 < n else ""
        if nested and nxt != "{":
            out.append("$")
            i += 1
        elif nxt == "$":
            out.append("$")
            i += 2
        elif nxt == "{":
            end = _braced_end(text, i + 2, scan.text)
            out.append(_braced(text[i + 2 : end], scan, depth))
            i = end + 1
        elif nxt and _is_name_start(nxt):
            j = i + 1
            while j < n and _is_name_char(text[j]):
                j += 1
            out.append(_lookup(text[i + 1 : j], scan))
            i = j
        else:
            raise _invalid(scan.text)
    return "".join(out)


def _lookup(name: str, scan: _Scan) -> str:
    scan.used.add(name)
    value = scan.env.get(name)
    if value is None:
        scan.unset.append(name)
        return ""
    return value


def _braced(body: str, scan: _Scan, depth: int) -> str:
    if not body or not _is_name_start(body[0]):
        raise _invalid(scan.text)
    j = 1
    while j < len(body) and _is_name_char(body[j]):
        j += 1
    name, rest = body[:j], body[j:]
    if not rest:
        return _lookup(name, scan)
    colon = rest.startswith(":")
    op_text = rest[1:] if colon else rest
    if not op_text or op_text[0] not in "-?+":
        raise _invalid(scan.text)
    op, arg = op_text[0], op_text[1:]
    scan.used.add(name)
    value = scan.env.get(name)
    missing = value is None or (colon and value == "")
    if op == "-":
        return _substitute(arg, scan, depth + 1, nested=True) if missing else str(value)
    if op == "+":
        return "" if missing else _substitute(arg, scan, depth + 1, nested=True)
    if missing:
        message = _substitute(arg, scan, depth + 1, nested=True) if arg else ""
        what = "is not set" if value is None else "is empty"
        raise InterpolationError(
            CODE_REQUIRED,
            f"required variable {name} {what}" + (f": {message}" if message else ""),
        )
    return str(value)


def substitute(text: str, env: Mapping[str, str]) -> tuple[str, list[str]]:
    """Evaluate one template. Returns the result and the unset variables it used.

    Raises InterpolationError for malformed templates and failed ``?`` checks.
    """
    scan = _Scan(text, env)
    return _substitute(text, scan), scan.unset


@dataclass
class InterpolationResult:
    data: dict[str, Any]
    findings: list[Finding]
    failed_paths: set[str] = field(default_factory=set)
    """Dotted paths whose value could not be interpolated (left as written)."""
    sensitive_paths: list[Path] = field(default_factory=list)
    """Paths whose template used one of the ``sensitive`` variables."""


# Leaf types walk() returns unchanged (a str only when it holds no "$").
_PLAIN_LEAVES = frozenset({str, int, float, bool, type(None)})


def interpolate_document(
    data: Mapping[str, Any],
    env: Mapping[str, str],
    locate: Callable[[Path], Location],
    *,
    strict: bool = False,
    sensitive: frozenset[str] = frozenset(),
) -> InterpolationResult:
    """Substitute variables in every value of the interpolated sections.

    Changed strings come back as ``InterpolatedStr``. Every problem is a located
    finding: malformed templates and failed ``?`` checks are errors, unset
    variables are warnings (errors when ``strict``). Values whose template
    looks at a ``sensitive`` variable (one from an encrypted env file) are listed
    in ``sensitive_paths``, so the loader can keep them out of every output.
    The result shares with ``data`` every mapping and list that holds no change.
    """
    findings: list[Finding] = []
    failed: set[str] = set()
    sensitive_paths: list[Path] = []
    # A template inside an anchor is reached once per alias: report it once.
    seen: set[tuple[str, str, Location]] = set()

    def report(finding: Finding) -> None:
        key = (finding.code, finding.message, finding.location)
        if key not in seen:
            seen.add(key)
            findings.append(finding)

    def walk(value: Any, path: Path) -> Any:
        if isinstance(value, str):
            if "$" not in value:
                return value
            scan = _Scan(value, env)
            try:
                result, unset = _substitute(value, scan), scan.unset
            except InterpolationError as exc:
                hint = _INVALID_HINT if exc.code == CODE_INVALID else None
                failed.add(dotted(path))
                report(
                    Finding(Severity.ERROR, exc.message, exc.code, locate(path), dotted(path), hint)
                )
                return value
            finally:
                if scan.used & sensitive:
                    sensitive_paths.append(path)
            for name in dict.fromkeys(unset):
                report(
                    Finding(
                        Severity.ERROR if strict else Severity.WARNING,
                        f"variable {name} is not set; it is replaced by an empty string",
                        CODE_UNSET,
                        locate(path),
                        dotted(path),
                        f"set {name} in the environment, a .env file or --env-file, "
                        f"or give a default: ${{{name}:-value}}",
                    )
                )
            return value if result == value else InterpolatedStr(result)
        # Only containers and strings with a "$" need a visit (and a path); every
        # other item is kept as it is, which skips most of the document's leaves.
        # A mapping or list is copied only when something in it changes.
        if isinstance(value, dict):
            out: dict[str, Any] | None = None
            for key, item in value.items():
                if type(item) in _PLAIN_LEAVES and not (type(item) is str and "$" in item):
                    continue
                new = walk(item, (*path, key))
                if new is not item:
                    if out is None:
                        out = dict(value)
                    out[key] = new
            return value if out is None else out
        if isinstance(value, list):
            copied: list[Any] | None = None
            for index, item in enumerate(value):
                if type(item) in _PLAIN_LEAVES and not (type(item) is str and "$" in item):
                    continue
                new = walk(item, (*path, index))
                if new is not item:
                    if copied is None:
                        copied = list(value)
                    copied[index] = new
            return value if copied is None else copied
        return value

    out = {
        key: value if key in NOT_INTERPOLATED else walk(value, (key,))
        for key, value in data.items()
    }
    return InterpolationResult(out, findings, failed, sensitive_paths)
