"""Parsers for the two kinds of env file a stack uses. Pure: text in, values out.

- **Variable files** (``.env`` beside the first stack file, ``--env-file``) supply
  values for ``${VAR}`` substitution. ``docker stack deploy`` does not read them
  at all; stackctl reads them the way ``docker compose`` reads ``.env``:
  ``KEY=VALUE``, ``export KEY=VALUE``, ``#`` comments (also after an unquoted
  value when preceded by a space), single quotes (literal) and double quotes
  (``\\n``, ``\\t``, ``\\"``, ``\\\\`` escapes). Values are not interpolated.
- **Service env files** (``env_file:`` under a service) become container
  environment, so they follow ``docker stack deploy`` exactly: ``KEY=VALUE``
  taken literally (quotes and ``#`` included), blank lines and lines starting
  with ``#`` skipped, leading whitespace dropped, a bare ``KEY`` takes its value
  from the environment (or is dropped when unset), whitespace in a name is an
  error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from stackctl.errors import Finding, Location, Severity

CODE_ENV_FILE = "SC043"

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "$": "$"}


@dataclass(frozen=True)
class EnvEntry:
    name: str
    value: str
    line: int


def _error(file: str, line: int, message: str, column: int | None = None) -> Finding:
    return Finding(
        Severity.ERROR,
        message,
        CODE_ENV_FILE,
        Location(file, line, column),
        hint="env file lines look like NAME=value",
    )


def decode_env_file(raw: bytes, file: str) -> tuple[str | None, list[Finding]]:
    """Bytes -> text (UTF-8, BOM dropped), or a located error."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        return None, [_error(file, line, "env file is not valid UTF-8 text")]
    return text.removeprefix("\ufeff"), []


def _unquote_double(body: str) -> tuple[str, int] | None:
    """Value of a double-quoted string starting after the quote; (value, end index)."""
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            out.append(_ESCAPES.get(body[i + 1], "\\" + body[i + 1]))
            i += 2
            continue
        if ch == '"':
            return "".join(out), i
        out.append(ch)
        i += 1
    return None


def parse_variable_file(text: str, file: str) -> tuple[dict[str, str], list[Finding]]:
    """A ``.env`` / ``--env-file`` file -> variables (later lines win) and findings."""
    values: dict[str, str] = {}
    findings: list[Finding] = []
    lines = text.split("\n")
    number = 0
    while number < len(lines):
        raw = lines[number].rstrip("\r")
        number += 1
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export ") or line.startswith("export\t"):
            line = line[7:].lstrip()
        name, eq, rest = line.partition("=")
        name = name.strip()
        if not eq:
            if _NAME.match(name):
                continue  # a bare name defines nothing (compose ignores it too)
            # the line is not quoted back: without '=' it may be a value (a secret)
            findings.append(_error(file, number, "line is not NAME=value (it has no '=')"))
            continue
        if not _NAME.match(name):
            findings.append(_error(file, number, f"{name!r} is not a valid variable name"))
            continue
        rest = rest.lstrip()
        if rest.startswith("'"):
            end = rest.find("'", 1)
            if end < 0:
                findings.append(_error(file, number, f"{name}: single quote is never closed"))
                continue
            values[name] = rest[1:end]
        elif rest.startswith('"'):
            # Double-quoted values may span lines.
            body = rest[1:]
            parsed = _unquote_double(body)
            start = number
            while parsed is None and number < len(lines):
                body += "\n" + lines[number].rstrip("\r")
                number += 1
                parsed = _unquote_double(body)
            if parsed is None:
                findings.append(_error(file, start, f"{name}: double quote is never closed"))
                continue
            values[name] = parsed[0]
        else:
            comment = re.search(r"\s#", rest)
            values[name] = (rest[: comment.start()] if comment else rest).rstrip()
    return values, findings


def parse_service_env_file(
    text: str, file: str, lookup: Mapping[str, str]
) -> tuple[list[EnvEntry], list[Finding]]:
    """A service ``env_file:`` -> entries in file order, read as docker stack deploy does."""
    entries: list[EnvEntry] = []
    findings: list[Finding] = []
    for number, raw in enumerate(text.split("\n"), start=1):
        stripped = raw.rstrip("\r")
        line = stripped.lstrip()
        indent = len(stripped) - len(line)
        if not line or line.startswith("#"):
            continue
        name, eq, value = line.partition("=")
        # Messages quote a name only when '=' ends it: the rest of a line, or a line
        # without '=', may be a value, and env files hold secrets (docs/secrets.md).
        if eq and not name:
            findings.append(_error(file, number, "no variable name before '='"))
            continue
        if any(ch.isspace() for ch in name):
            space = next(i for i, ch in enumerate(name) if ch.isspace())
            message = (
                f"variable name {name!r} contains whitespace"
                if eq
                else "line has no '=' and is not a variable name (it contains whitespace)"
            )
            findings.append(_error(file, number, message, indent + space + 1))
            continue
        if eq:
            entries.append(EnvEntry(name, value, number))
        elif name in lookup:
            entries.append(EnvEntry(name, lookup[name], number))
    return entries, findings
