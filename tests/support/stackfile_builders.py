"""Helpers for the stack-file tests."""

from __future__ import annotations

import pytest

from stackctl.core.load.yaml_source import SourceDocument, parse_document
from stackctl.errors import Finding, Severity, StackFileError


def parse(text: str, file: str = "stack.yml") -> SourceDocument:
    return parse_document(text, file)


def parse_error(text: str, file: str = "stack.yml") -> Finding:
    """The single error finding parsing ``text`` produces."""
    with pytest.raises(StackFileError) as caught:
        parse_document(text, file)
    errors = [f for f in caught.value.findings if f.severity is Severity.ERROR]
    assert len(errors) == 1, errors
    return errors[0]


def errors_of(exc: StackFileError) -> list[Finding]:
    return [f for f in exc.findings if f.severity is Severity.ERROR]
