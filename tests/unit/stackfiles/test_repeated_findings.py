"""A warning repeated on many services: once in text with its count, every one in JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from stackctl.cli.common import SHOWN_LOCATIONS, format_findings
from stackctl.core.validate.repeated import group_repeated
from stackctl.errors import Finding, Location, Severity

SERVICES = 1000


def _service(i: int) -> str:
    return f"""\
  s{i}:
    image: stackctl-demo/web:1
    healthcheck: {{test: ["CMD", "true"], interval: 10s, retries: 3}}
    deploy:
      replicas: 2
      update_config: {{failure_action: rollback, order: start-first}}
"""


def _run(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stackctl", *args],
        cwd=tmp,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp), "NO_COLOR": "1"},
    )


def test_thousand_services_print_one_sc103_line_and_json_keeps_all(tmp_path: Path) -> None:
    (tmp_path / "stack.yml").write_text(
        "services:\n" + "".join(_service(i) for i in range(SERVICES))
    )
    text = _run(tmp_path, "validate")
    assert text.returncode == 0, text.stderr[-2000:]
    lines = [line for line in text.stderr.splitlines() if "SC103" in line]
    assert len(lines) == 1, lines[:5]
    (line,) = lines
    assert f"[{SERVICES} times: services.s0.deploy.update_config (stack.yml:" in line
    assert "services.s1.deploy.update_config" in line
    assert "services.s2.deploy.update_config" in line
    assert "services.s3." not in line
    assert f"and {SERVICES - SHOWN_LOCATIONS} more; --json lists each]" in line
    assert f"{SERVICES} warning(s)" in text.stdout  # the count stays the real one

    document = json.loads(_run(tmp_path, "validate", "--json").stdout)
    sc103 = [f for f in document["findings"] if f["code"] == "SC103"]
    assert len(sc103) == SERVICES
    assert len({f["path"] for f in sc103}) == SERVICES


def _finding(code: str, message: str, line: int, severity: Severity = Severity.WARNING) -> Finding:
    return Finding(
        severity=severity,
        code=code,
        message=message,
        location=Location("stack.yml", line, 3),
        path=f"services.s{line}",
    )


def test_groups_keep_file_order_and_errors_stay_single() -> None:
    findings = [
        _finding("SC101", "tag is mutable", 1),
        _finding("SC103", "monitor too short", 2),
        _finding("SC101", "tag is mutable", 3),
        _finding("SC201", "undefined network", 4, Severity.ERROR),
        _finding("SC201", "undefined network", 5, Severity.ERROR),
        _finding("SC101", "another message", 6),
    ]
    groups = group_repeated(findings)
    assert [len(g.findings) for g in groups] == [2, 1, 1, 1, 1]
    assert [g.first.location.line for g in groups] == [1, 2, 4, 5, 6]
    lines = format_findings(findings)
    assert len(lines) == 5
    assert lines[0].endswith(
        "[2 times: services.s1 (stack.yml:1:3), services.s3 (stack.yml:3:3); --json lists each]"
    )
    assert "times" not in lines[1] and "times" not in lines[2]
