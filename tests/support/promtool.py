"""Prometheus's own checker, ``promtool`` (Debian's ``prometheus`` package; ./dev
installs it): alert rules, rule unit tests and the text exposition format."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from support.testkit import REPO_ROOT, skip_guarantee

ALERTS = REPO_ROOT / "docs" / "examples" / "prometheus-alerts.yml"
ALERT_TESTS = REPO_ROOT / "tests" / "fixtures" / "prometheus" / "alerts.test.yml"


def promtool(*args: str | Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """``promtool ARGS`` (its exit code is the caller's to check); a missing promtool
    is a skipped guarantee, so a failure under CI."""
    tool = shutil.which("promtool")
    if tool is None:
        skip_guarantee("promtool missing (./dev installs Debian's prometheus package)")
    return subprocess.run(
        [tool, *map(str, args)], input=stdin, capture_output=True, text=True, timeout=60
    )
