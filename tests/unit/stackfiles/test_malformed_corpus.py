"""``stackctl validate`` on every malformed file: exit 1, a located message, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from support.testkit import MeasuredRun, run_measuring_peak_rss

# one module-scoped run of every case serves all tests here: keep them on one worker
pytestmark = pytest.mark.xdist_group("malformed-corpus")

CORPUS = Path(__file__).parent / "malformed"
CASES = sorted(p.stem for p in CORPUS.glob("*.expect"))


def _clean_env() -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/root", "NO_COLOR": "1"}


def _validate(name: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stackctl", "validate", "-c", f"{name}.yml"],
        cwd=CORPUS,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def results() -> dict[str, subprocess.CompletedProcess[str]]:
    """Run every case once, a few at a time (each is a separate stackctl process)."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(CASES, pool.map(_validate, CASES), strict=True))


def test_the_corpus_is_big_enough() -> None:
    assert len(CASES) >= 100
    for name in CASES:
        assert (CORPUS / f"{name}.yml").is_file(), name


@pytest.mark.parametrize("name", CASES)
def test_malformed_file_is_rejected_with_a_located_message(
    name: str, results: dict[str, subprocess.CompletedProcess[str]]
) -> None:
    where, fragment = (CORPUS / f"{name}.expect").read_text().split("\n")[:2]
    run = results[name]
    output = run.stdout + run.stderr
    assert run.returncode == 1, output
    assert "Traceback" not in output
    matching = [
        line
        for line in run.stderr.splitlines()
        if line.startswith(where + ":") and " error " in line and fragment in line
    ]
    assert matching, f"expected '{where}: error ...{fragment}...' in:\n{run.stderr}"


def test_fifty_megabyte_file_is_refused_without_being_read_into_memory(tmp_path: Path) -> None:
    small, big = tmp_path / "small.yml", tmp_path / "big.yml"
    head = b"services:\n  web:\n    image: nginx:1.25\n"
    small.write_bytes(head)
    line = b"# " + b"x" * 1021 + b"\n"
    with open(big, "wb") as handle:
        handle.write(head)
        for _ in range(50 * 1024):
            handle.write(line)

    def validate(path: Path) -> MeasuredRun:
        argv = [sys.executable, "-m", "stackctl", "validate", "-c", str(path)]
        return run_measuring_peak_rss(argv, env=_clean_env())

    baseline, run = validate(small), validate(big)
    assert baseline.returncode == 0, baseline.stderr
    assert run.returncode == 1
    assert "Traceback" not in run.stdout + run.stderr
    assert "limit is 20 MB" in run.stderr
    # refused from its size: reading the 50 MB (or even the first 20 MB) into memory
    # would show in the process's peak RSS; refusing it costs next to nothing
    grown = run.peak_rss_bytes - baseline.peak_rss_bytes
    assert grown < 10 * 1024 * 1024, f"peak RSS grew by {grown / 2**20:.1f} MiB"
