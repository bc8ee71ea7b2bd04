"""The report renderer: medians, ratios and target verdicts come from the samples given."""

from __future__ import annotations

import json
from pathlib import Path

from support.testkit import require_module

from bench.report import render_all, render_markdown
from bench.results import Results, Sample, summarize
from bench.table import Table, fmt_seconds

MACHINE = {
    "date": "2026-01-01T00:00:00+00:00",
    "cpu_model": "Test CPU",
    "cpu_cores": 2,
    "memory_gib": 4.0,
    "kernel": "6.0",
    "os": "Debian",
    "python": "3.11.7",
    "docker_engine": "20.10.24",
    "docker_api": "1.41",
    "docker_cli": "28.2.2",
    "swarm_nodes": 1,
    "stackctl_commit": "abc1234",
    "stackctl_tree_dirty": False,
}
SETTINGS = {
    "sizes": [20],
    "runs": 3,
    "update_sizes": [20],
    "single_service_sizes": [],
    "diff_sizes": [500],
    "diff_runs": 3,
    "help_runs": 3,
    "image_repo": "demo/web",
    "health_interval": 2.0,
    "count_calls": True,
    "commands": {"docker": "docker stack deploy ..."},
}


def _sample(op: str, size: int, contender: str, run: int, seconds: float, **kw: object) -> Sample:
    fields: dict[str, object] = {"exit_code": 0, "ok": True}
    fields.update(kw)
    return Sample(op, size, contender, run, seconds, **fields)  # type: ignore[arg-type]


def _results(samples: list[Sample], unavailable: dict[str, str] | None = None) -> Results:
    return Results(
        mode="quick",
        settings=SETTINGS,
        machine=MACHINE,
        samples=samples,
        unavailable=unavailable or {},
        finished="2026-01-01T00:10:00+00:00",
    )


def _section(markdown: str, heading: str) -> str:
    """The text under one ``## heading``, up to the next one."""
    after = markdown.split(f"\n## {heading}\n", 1)[1]
    return after.split("\n## ", 1)[0]


def _row(markdown: str, starts: str, heading: str | None = None) -> str:
    text = markdown if heading is None else _section(markdown, heading)
    rows = [line for line in text.splitlines() if line.startswith(starts)]
    assert len(rows) == 1, rows
    return rows[0]


def _deploy_row(markdown: str, starts: str) -> str:
    return _row(markdown, starts, "Deploy and update")


def test_summary_takes_the_median_of_good_samples_only() -> None:
    summary = summarize(
        [
            _sample("deploy", 20, "floor", 1, 10.0),
            _sample("deploy", 20, "floor", 2, 30.0),
            _sample("deploy", 20, "floor", 3, 12.0),
            _sample("deploy", 20, "floor", 4, 1.0, ok=False, exit_code=1),
        ]
    )
    assert summary.median == 12.0
    assert (summary.low, summary.high, summary.runs, summary.failed) == (10.0, 30.0, 3, 1)


def test_deploy_row_shows_medians_and_ratios() -> None:
    times = {"stackctl": [11, 12, 13], "docker": [48, 50, 70], "floor": [9, 10, 40]}
    samples = [
        _sample("deploy", 20, c, r, t)
        for c, runs in times.items()
        for r, t in enumerate(runs, start=1)
    ]
    markdown = render_markdown(_results(samples), "r.json", None)
    row = _deploy_row(markdown, "| first deploy (wait for convergence) | 20 |")
    assert "12.0 s (3)" in row and "50.0 s (3)" in row and "10.0 s (3)" in row
    assert "| 1.20x | 0.24x | 5.00x |" in row  # 12/10, 12/50, 50/10
    assert _row(markdown, "| First deploy with waiting within 1.2x").endswith("| met |")
    assert "docker / stackctl = 4.167x" in _row(markdown, "| First deploy with waiting at least 3x")


def test_targets_that_are_missed_or_not_measured_say_so() -> None:
    samples = [
        _sample("deploy", 20, "stackctl", 1, 20.0),
        _sample("deploy", 20, "floor", 1, 10.0),
        _sample("redeploy", 20, "stackctl", 1, 0.4, services_changed=0),
        _sample("redeploy", 20, "docker", 1, 40.0, services_changed=20),
        _sample("help", 0, "stackctl", 1, 0.5),
    ]
    markdown = render_markdown(_results(samples), "r.json", None)
    assert _row(markdown, "| First deploy with waiting within 1.2x").endswith("| **not met** |")
    noop = _row(markdown, "| Unchanged redeploy under 1 s")
    assert "0.40 s, 0 services touched (docker touched 20)" in noop and noop.endswith("| met |")
    assert "100.000x" in _row(markdown, "| Unchanged redeploy at least 20x")
    assert _row(markdown, "| `stackctl --help` under 0.3 s").endswith("| **not met** |")
    assert _row(markdown, "| diff of 500 services under 2 s").endswith("| not measured |")


def test_unavailable_contender_is_marked_not_faked() -> None:
    samples = [_sample("deploy", 5, "docker", 1, 15.0), _sample("deploy", 5, "floor", 1, 8.0)]
    reason = "`stackctl apply` is not available yet"
    results = _results(samples, {"stackctl deploy": reason})
    markdown = render_markdown(results, "r.json", None)
    row = _deploy_row(markdown, "| first deploy (wait for convergence) | 5 |")
    assert "| not available |" in row
    assert reason in _row(markdown, "| First deploy with waiting within 1.2x")
    assert Table.of(results).median("deploy", 5, "stackctl") is None


def test_failed_samples_are_listed_and_left_out() -> None:
    samples = [
        _sample("update_all", 20, "stackctl", 1, 99.0, ok=False, exit_code=5, note="timed out"),
        _sample("update_all", 20, "floor", 1, 20.0),
    ]
    markdown = render_markdown(_results(samples), "r.json", None)
    assert "failed (1)" in _deploy_row(markdown, "| image update, every service | 20 |")
    assert "- update_all, 20 services, stackctl, run 1: timed out" in markdown


def test_render_all_writes_page_and_plot_from_a_results_file(tmp_path: Path) -> None:
    require_module("matplotlib", "the plot needs matplotlib (a dev dependency)")
    samples = [
        _sample("deploy", n, c, 1, n * k)
        for n in (5, 20)
        for c, k in (("stackctl", 0.6), ("docker", 2.5), ("floor", 0.5))
    ]
    path = tmp_path / "results.json"
    path.write_text(json.dumps(_results(samples).to_json()))
    written = render_all(Results.load_file(path), tmp_path)
    page = (tmp_path / "docs" / "benchmarks.md").read_text()
    png = tmp_path / "docs" / "img" / "bench-deploy.png"
    assert set(written) == {png, tmp_path / "docs" / "benchmarks.md"}
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "![Deploy time against number of services](img/bench-deploy.png)" in page
    assert "Test CPU, 2 cores" in page
    assert fmt_seconds(12.0) in _deploy_row(page, "| first deploy (wait for convergence) | 20 |")


def test_registry_section_shows_the_registry_runs_ratios_or_says_none_was_given() -> None:
    plain = _results([_sample("deploy", 20, "stackctl", 1, 12.0)])
    registry = _results(
        [
            _sample("redeploy", 5, "stackctl", 1, 0.5, api_writes=0),
            _sample("redeploy", 5, "docker", 1, 2.0, api_writes=5),
        ]
    )
    markdown = render_markdown(plain, "r.json", None, registry, "reg.json")
    section = _section(markdown, "Registry mode")
    assert "`bench/results/reg.json`" in section
    assert "--registry" in section
    row = _row(markdown, "| redeploy, unchanged file | 5 |", "Registry mode")
    assert row == "| redeploy, unchanged file | 5 | 0.50 s (1) | 2.00 s (1) | 0.25x | 0 | 5 |"
    # the main tables come from the plain run only
    assert "| redeploy, unchanged file | 5 |" not in _section(markdown, "Deploy and update")

    without = _section(render_markdown(plain, "r.json", None), "Registry mode")
    assert "No registry-mode results were given" in without
