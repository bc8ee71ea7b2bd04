"""docs/examples/prometheus-alerts.yml through promtool: valid rules, and alerts
that fire on the series they are meant for (tests/fixtures/prometheus/alerts.test.yml)."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.promtool import ALERT_TESTS, ALERTS, promtool


def test_the_alert_rules_pass_promtool_check_rules() -> None:
    result = promtool("check", "rules", ALERTS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 7 rules found" in result.stdout, result.stdout


def test_the_main_alerts_fire_on_their_series_and_stay_quiet_otherwise() -> None:
    result = promtool("test", "rules", ALERT_TESTS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout, result.stdout


# Each edit breaks one thing an alert is for; the rule tests above must catch it
# (so they are not tests that pass whatever the rules say).
BROKEN_RULES = {
    "a rollback no longer alerts": (
        'outcome=~"failed|rolled_back|timed_out|interrupted"',
        'outcome=~"failed|timed_out|interrupted"',
    ),
    "every pass alerts, applied ones too": (
        'stackctl_agent_passes_total{outcome=~"failed|rolled_back|timed_out|interrupted"}',
        "stackctl_agent_passes_total",
    ),
    "a suspended stack alerts as stale": (
        'unless on(instance, stack) (stackctl_agent_outcome{outcome=~"suspended|paused"} == 1)',
        "",
    ),
    "staleness no longer scales with the interval": (
        "> 3 * stackctl_agent_interval_seconds",
        "> 30 * stackctl_agent_interval_seconds",
    ),
}


@pytest.mark.parametrize("broken", sorted(BROKEN_RULES))
def test_the_rule_tests_catch_a_broken_rule(broken: str, tmp_path: Path) -> None:
    old, new = BROKEN_RULES[broken]
    rules = ALERTS.read_text()
    assert old in rules, f"{ALERTS.name} no longer holds {old!r}: update this test"
    (tmp_path / "alerts.yml").write_text(rules.replace(old, new))
    tests = ALERT_TESTS.read_text()
    assert "../../../docs/examples/prometheus-alerts.yml" in tests
    (tmp_path / "alerts.test.yml").write_text(
        tests.replace("../../../docs/examples/prometheus-alerts.yml", "alerts.yml")
    )
    assert promtool("check", "rules", tmp_path / "alerts.yml").returncode == 0  # still valid
    result = promtool("test", "rules", tmp_path / "alerts.test.yml")
    assert result.returncode != 0, f"{broken}: the rule tests still pass\n{result.stdout}"
