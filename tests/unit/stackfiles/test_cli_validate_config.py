"""`stackctl validate` and `stackctl config` as a user runs them (a real process)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

GOOD = """\
version: "3.8"
services:
  web:
    image: nginx
    build: .
    ports: ["8080:80"]
    secrets: [token]
    deploy:
      replicas: ${REPLICAS:-2}
secrets:
  token:
    file: ./token.txt
"""

BAD = """\
services:
  web:
    image: nginx:1.25
    deploy:
      replica: 2
    networks: [frontend]
"""


def run(tmp: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stackctl", *args],
        cwd=tmp,
        capture_output=True,
        text=True,
        input=stdin,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp), "NO_COLOR": "1"},
    )


def test_valid_file_exits_0_and_prints_warnings(tmp_path: Path) -> None:
    (tmp_path / "stack.yml").write_text(GOOD)
    (tmp_path / "token.txt").write_text("TOP-SECRET")
    done = run(tmp_path, "validate")
    assert done.returncode == 0, done.stderr
    assert "stack.yml:4:5: warning SC101 services.web.image:" in done.stderr
    assert "stack.yml:5:5: warning SC301 services.web.build: 'build' is ignored by Swarm" in (
        done.stderr
    )
    assert "valid (1 services" in done.stdout
    assert "Traceback" not in done.stderr


def test_invalid_file_exits_1_with_located_errors(tmp_path: Path) -> None:
    (tmp_path / "stack.yml").write_text(BAD)
    done = run(tmp_path, "validate", "-c", "stack.yml")
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert (
        "stack.yml:5:7: error SC010 services.web.deploy.replica: unknown key 'replica' in "
        "services.web.deploy (did you mean 'replicas'?)"
    ) in lines
    assert any(line.startswith("stack.yml:6:16: error SC201") for line in lines)
    assert "Traceback" not in done.stderr


def test_strict_turns_lint_warnings_into_errors(tmp_path: Path) -> None:
    (tmp_path / "stack.yml").write_text(GOOD)
    (tmp_path / "token.txt").write_text("x")
    assert run(tmp_path, "validate", "--strict").returncode == 1
    silenced = "x-stackctl: {ignore: [SC101]}\n" + GOOD.replace("    build: .\n", "")
    (tmp_path / "stack.yml").write_text(silenced)
    done = run(tmp_path, "validate", "--strict")
    assert done.returncode == 0, done.stderr


def test_json_output_is_stable_and_machine_readable(tmp_path: Path) -> None:
    (tmp_path / "stack.yml").write_text(BAD)
    done = run(tmp_path, "validate", "--json")
    assert done.returncode == 1
    result = json.loads(done.stdout)
    assert result["apiVersion"] == "stackctl/v1"
    assert result["kind"] == "ValidationResult"
    assert result["valid"] is False
    first = result["findings"][0]
    assert first == {
        "severity": "error",
        "code": "SC010",
        "message": "unknown key 'replica' in services.web.deploy",
        "path": "services.web.deploy.replica",
        "file": "stack.yml",
        "line": 5,
        "column": 7,
        "hint": "did you mean 'replicas'?",
    }


def test_quiet_prints_only_errors(tmp_path: Path) -> None:
    (tmp_path / "stack.yml").write_text(GOOD)
    (tmp_path / "token.txt").write_text("x")
    done = run(tmp_path, "validate", "-q")
    assert done.returncode == 0
    assert done.stdout == "" and done.stderr == ""


def test_stack_name_option_checks_full_service_names(tmp_path: Path) -> None:
    (tmp_path / "stack.yml").write_text("services:\n  " + "a" * 40 + ":\n    image: nginx:1.25\n")
    assert run(tmp_path, "validate").returncode == 0
    done = run(tmp_path, "validate", "--stack", "s" * 30)
    assert done.returncode == 1
    assert "SC212" in done.stderr


def test_config_prints_normalized_yaml_without_secret_contents(tmp_path: Path) -> None:
    (tmp_path / "stack.yml").write_text(GOOD)
    (tmp_path / "token.txt").write_text("TOP-SECRET")
    done = run(tmp_path, "config", "-c", "stack.yml")
    assert done.returncode == 0, done.stderr
    assert "TOP-SECRET" not in done.stdout + done.stderr
    assert "replicas: 2" in done.stdout
    assert "published: 8080" in done.stdout
    assert str(tmp_path / "token.txt") in done.stdout


def test_config_reads_stdin_and_fails_cleanly(tmp_path: Path) -> None:
    done = run(tmp_path, "config", "-c", "-", stdin=BAD)
    assert done.returncode == 1
    assert "<stdin>:5:7: error SC010" in done.stderr
    assert "Traceback" not in done.stderr


def test_help_shows_an_example(tmp_path: Path) -> None:
    for command in ("validate", "config"):
        done = run(tmp_path, command, "--help")
        assert done.returncode == 0
        assert "Example" in done.stdout
        assert f"stackctl {command} -c" in done.stdout
