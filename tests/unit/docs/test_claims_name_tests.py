"""The pages that list guarantees name the tests behind them: every test and test
file they name exists, so a renamed or deleted test cannot leave a claim unbacked."""

from __future__ import annotations

import re

import pytest
from support.testkit import REPO_ROOT as REPO

PAGES = ["docs/reliability.md", "docs/conversion.md"]
_TEST_NAME = re.compile(r"\btest_\w+")
_TEST_FILE = re.compile(r"\btests/[\w/.-]+\.py\b")


def _defined_tests() -> set[str]:
    names: set[str] = set()
    for path in (REPO / "tests").rglob("*.py"):
        names.update(re.findall(r"^\s*(?:async )?def (test_\w+)", path.read_text(), re.M))
    return names


@pytest.mark.parametrize("page", PAGES)
def test_every_test_a_page_names_exists(page: str) -> None:
    text = (REPO / page).read_text(encoding="utf-8")
    files = set(_TEST_FILE.findall(text))
    names = {n for n in _TEST_NAME.findall(text) if not n.endswith(".py")}
    names -= {f.rsplit("/", 1)[-1].removesuffix(".py") for f in files}  # file stems
    assert files or names, f"{page} names no test at all"
    missing_files = sorted(f for f in files if not (REPO / f).is_file())
    missing_tests = sorted(names - _defined_tests())
    assert not missing_files, f"{page} names test files that do not exist: {missing_files}"
    assert not missing_tests, f"{page} names tests that do not exist: {missing_tests}"
