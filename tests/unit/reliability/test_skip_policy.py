"""The skip policy (tests/conftest.py, support/testkit.py): under CI a skipped guarantee
fails, a documented impossible skip stays a skip, and the run ends with the counts.

Checked on a throwaway test file run by a real pytest in a subprocess, with this
repository's own hooks; plus a scan that no test skips around the helpers.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[2]

HOOKS = f"""
import importlib.util, sys
sys.path.insert(0, {str(TESTS)!r})
spec = importlib.util.spec_from_file_location("project_conftest", {str(TESTS / "conftest.py")!r})
project = importlib.util.module_from_spec(spec)
spec.loader.exec_module(project)
pytest_runtest_makereport = project.pytest_runtest_makereport
pytest_terminal_summary = project.pytest_terminal_summary
"""

CASES = """
import pytest
from support.testkit import skip_guarantee, skip_impossible_here

def test_guarantee():
    skip_guarantee("needs a thing ./dev installs")

def test_impossible():
    skip_impossible_here("no such hardware here")

def test_bare_skip():
    pytest.skip("quietly")

def test_passes():
    pass
"""


def run_cases(tmp_path: Path, ci: str | None) -> subprocess.CompletedProcess[str]:
    (tmp_path / "conftest.py").write_text(HOOKS)
    (tmp_path / "test_cases.py").write_text(CASES)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_under_ci_a_skipped_guarantee_fails_and_a_documented_skip_does_not(
    tmp_path: Path,
) -> None:
    run = run_cases(tmp_path, "true")
    out = run.stdout
    assert run.returncode == 1, out
    assert "2 failed, 1 passed, 1 skipped" in out, out
    assert "CI: a guarantee was not checked: needs a thing ./dev installs" in out
    assert "CI: a guarantee was skipped, which CI counts as a failure: quietly" in out
    assert "skipped guarantees: 0 (a failure under CI=true); skipped as impossible" in out
    assert "test_cases.py::test_impossible: impossible on this machine: no such hardware" in out


@pytest.mark.parametrize("ci", [None, "false"])
def test_off_ci_skips_are_counted_by_kind_with_their_reasons(
    tmp_path: Path, ci: str | None
) -> None:
    run = run_cases(tmp_path, ci)
    out = run.stdout
    assert run.returncode == 0, out
    assert "1 passed, 3 skipped" in out, out
    assert (
        "skipped guarantees: 2 (a failure under CI=true); "
        "skipped as impossible on this machine: 1" in out
    ), out
    assert "test_cases.py::test_bare_skip: quietly" in out


BARE = re.compile(r"pytest\.skip\(|importorskip\(|mark\.skipif|pytest\.xfail\(|mark\.xfail")


def test_no_test_skips_around_the_helpers() -> None:
    allowed = {TESTS / "support" / "testkit.py", TESTS / "conftest.py", Path(__file__).resolve()}
    offenders = [
        f"{path.relative_to(TESTS)}:{number}"
        for path in sorted(TESTS.rglob("*.py"))
        if path not in allowed
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if BARE.search(line)
    ]
    assert not offenders, f"use support.testkit's skip helpers instead: {offenders}"
