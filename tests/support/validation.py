"""Helpers for the validation / normalization / lint tests: YAML text in, results out.

They use the real YAML parser (for real line numbers) and the real stages,
without the file system.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping

from stackctl.core.load.doc_paths import make_locator
from stackctl.core.load.yaml_source import SourceDocument, parse_document
from stackctl.core.model.coerce import coerce_types
from stackctl.core.model.model import Stack
from stackctl.core.model.normalize import normalize_document
from stackctl.core.validate.lint import lint_stack
from stackctl.core.validate.validate import validate_document
from stackctl.errors import Finding, Location, Severity

FILE = "stack.yml"


def parsed(text: str) -> SourceDocument:
    return parse_document(textwrap.dedent(text), FILE)


def findings(text: str) -> list[Finding]:
    """Every validation finding for a stack given as YAML text."""
    doc = parsed(text)
    locate = make_locator(doc.locations, Location(FILE, 1, 1))
    return validate_document(coerce_types(doc.data), locate)


def errors(text: str) -> list[Finding]:
    return [f for f in findings(text) if f.severity is Severity.ERROR]


def warnings(text: str) -> list[Finding]:
    return [f for f in findings(text) if f.severity is Severity.WARNING]


def only_error(text: str) -> Finding:
    found = errors(text)
    assert len(found) == 1, [(f.code, f.path, f.message) for f in found]
    return found[0]


def normalized(text: str, files: Mapping[str, bytes] | None = None) -> Stack:
    """Validate (must have no errors) and normalize; ``files`` stands in for the disk."""
    doc = parsed(text)
    locate = make_locator(doc.locations, Location(FILE, 1, 1))
    data = coerce_types(doc.data)
    problems = [f for f in validate_document(data, locate) if f.severity is Severity.ERROR]
    assert not problems, [(f.code, f.path, f.message) for f in problems]
    contents = dict(files or {})

    def read_file(path: str) -> bytes:
        if path not in contents:
            raise FileNotFoundError(2, "No such file or directory", path)
        return contents[path]

    return normalize_document(data, read_file=read_file, working_dir="/stack", home_dir="/home/u")


def lints(text: str) -> list[Finding]:
    doc = parsed(text)
    locate = make_locator(doc.locations, Location(FILE, 1, 1))
    data = coerce_types(doc.data)
    stack = normalize_document(data, read_file=lambda path: b"x")
    return lint_stack(stack, data, locate)
