"""bench/bench_noop.py's page section: rendered from a results dict, put into the
benchmarks page, and kept when bench/report.py renders the page again."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import report
from bench.bench_noop import SECTION_BEGIN, SECTION_END, noop_section, render_section
from bench.bench_noop import write_section as put_section
from bench.results import Results

ROW = {
    "name": "diff (no changes), demo stack",
    "reference_name": "SDK floor",
    "target": "under 0.30 s",
    "target_seconds": 0.30,
    "stackctl_median": 0.25,
    "reference_median": 0.20,
    "stackctl_cpu_median": 0.2,
    "reference_cpu_median": 0.1,
    "before_median": 0.5,
    "before_cpu_median": 0.4,
}
RESULTS: dict[str, object] = {
    "command": "bench/bench_noop.py --runs 3",
    "date": "2026-01-01T00:00:00+00:00",
    "commit": "abc1234",
    "cpus": 2,
    "load_start": 1.0,
    "load_end": 2.0,
    "runs": 3,
    "replicas": 1,
    "before": "/tmp/before",
    "comparisons": [
        ROW,
        {**ROW, "name": "validate", "target_seconds": None, "stackctl_median": 0.3},
    ],
}


def test_section_gives_medians_ratios_and_verdicts() -> None:
    section = render_section(RESULTS)
    assert section.startswith(SECTION_BEGIN) and section.endswith(SECTION_END)
    assert "| diff (no changes), demo stack | 0.250 s | 0.200 s (SDK floor) | 1.25x |" in section
    assert "| 0.200 s | 0.100 s | 2.00x | under 0.30 s | met |" in section
    # no absolute target: met when faster than the reference
    assert "| validate | 0.300 s | 0.200 s (SDK floor) | 1.50x |" in section
    assert "| 0.200 s | 0.100 s | 2.00x | under 0.30 s | **not met** |" in section
    assert "| diff (no changes), demo stack | 0.500 s | 0.250 s | 0.400 s | 0.200 s | 0.50x |" in (
        section
    )


def test_section_replaces_the_old_one_and_survives_a_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = tmp_path / "docs" / "benchmarks.md"
    doc.parent.mkdir()
    doc.write_text("# Benchmarks\n\n## Targets\n\nx\n\n## Machine\n\ny\n")
    put_section(doc, render_section(RESULTS))
    put_section(doc, render_section({**RESULTS, "commit": "def5678"}))
    text = doc.read_text()
    assert text.count(SECTION_BEGIN) == 1 and "def5678" in text and "abc1234" not in text
    assert text.index(SECTION_BEGIN) < text.index("## Machine")
    kept = noop_section(text)
    assert kept is not None

    # bench/report.py renders the rest of the page anew (here: a stand-in page)
    monkeypatch.setattr(report, "plot_deploy", lambda *args: False)
    monkeypatch.setattr(report, "render_markdown", lambda *args: "# New\n\n## Machine\n\nz\n")
    results = Results(mode="quick", settings={}, machine={}, samples=[], unavailable={})
    report.render_all(results, tmp_path)
    text = doc.read_text()
    assert text.startswith("# New") and noop_section(text) == kept
    assert text.index(SECTION_BEGIN) < text.index("## Machine")
