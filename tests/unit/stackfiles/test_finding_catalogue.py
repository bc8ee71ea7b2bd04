"""The catalogue of finding codes covers every code the source emits, and its
examples produce their codes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from stackctl.core.load.loading import load_stack
from stackctl.core.validate.catalogue import CATALOGUE, Rule
from stackctl.errors import Finding, StackFileError

PACKAGE = Path(__file__).resolve().parents[3] / "stackctl"
CATALOGUE_FILE = PACKAGE / "core" / "validate" / "catalogue.py"
CODE = re.compile(r"\bSC\d{3}\b")
DEFAULT_CODE = "SC000"  # Finding's default; every emitted finding names its own code


def _codes_in_source() -> set[str]:
    found: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        if path != CATALOGUE_FILE:
            found |= set(CODE.findall(path.read_text(encoding="utf-8")))
    return found - {DEFAULT_CODE}


def test_every_code_in_the_source_is_catalogued() -> None:
    missing = sorted(_codes_in_source() - set(CATALOGUE))
    assert not missing, f"codes emitted but not in stackctl/core/validate/catalogue.py: {missing}"


def test_every_catalogued_code_is_emitted_somewhere() -> None:
    stale = sorted(set(CATALOGUE) - _codes_in_source())
    assert not stale, f"catalogued codes nothing emits: {stale}"


def test_titles_are_short_and_entries_complete() -> None:
    for code, entry in CATALOGUE.items():
        assert entry.code == code
        assert entry.severities, code
        assert 0 < len(entry.title) <= 40, f"{code}: title too long for an annotation"
        assert entry.explanation.endswith("."), code


def _findings(tmp_path: Path, text: str) -> list[Finding]:
    (tmp_path / "stack.yml").write_text(text, encoding="utf-8")
    try:
        return list(load_stack(["stack.yml"], env={}, cwd=str(tmp_path)).findings)
    except StackFileError as error:
        return list(error.findings)


EXAMPLES = [entry for entry in CATALOGUE.values() if entry.example is not None]


@pytest.mark.parametrize("entry", EXAMPLES, ids=[e.code for e in EXAMPLES])
def test_each_example_produces_its_code(tmp_path: Path, entry: Rule) -> None:
    assert entry.example is not None
    findings = _findings(tmp_path, entry.example)
    assert entry.code in {f.code for f in findings}, [(f.code, f.message) for f in findings]
