"""Benchmark: validate (and normalize, lint) a generated stack of N services.

1. In-process: coerce, validate, normalize and lint for each N (default 50 and 1000).
2. Whole process: `stackctl validate -c FILE` on a 50-service file, and, side by side
   when the docker CLI is installed, `docker stack config -c FILE` on the same file.

Prints timings; not a test. Usage: python bench/bench_validate.py [N ...]
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from stackctl.core.model.coerce import coerce_types
from stackctl.core.model.normalize import normalize_document
from stackctl.core.validate.lint import lint_stack
from stackctl.core.validate.validate import validate_document
from stackctl.errors import Location


def generate(n: int) -> dict[str, Any]:
    """A stack of n realistic services (ports, volumes, health, deploy policies)."""
    services: dict[str, Any] = {}
    for i in range(n):
        services[f"svc{i}"] = {
            "image": f"registry.example/app{i % 7}:1.{i}",
            "command": ["httpd", "-f", "-p", "8080"],
            "environment": {"INDEX": str(i), "MODE": "prod"},
            "ports": [f"{20000 + i}:8080"],
            "volumes": [f"data{i % 10}:/data", "/etc/localtime:/etc/localtime:ro"],
            "networks": ["front", "back"],
            "secrets": ["token"],
            "configs": [{"source": "conf", "target": "/etc/app.conf", "mode": 0o440}],
            "healthcheck": {
                "test": ["CMD", "wget", "-q", "-O-", "http://localhost:8080/"],
                "interval": "5s",
                "timeout": "2s",
                "retries": 3,
                "start_period": "10s",
            },
            "deploy": {
                "replicas": 2,
                "update_config": {
                    "parallelism": 1,
                    "delay": "5s",
                    "failure_action": "rollback",
                    "monitor": "30s",
                    "order": "start-first",
                },
                "resources": {"limits": {"cpus": "0.5", "memory": "128m"}},
                "placement": {"constraints": ["node.role == worker"]},
                "labels": {"tier": "web"},
            },
        }
    return {
        "version": "3.8",
        "services": services,
        "networks": {"front": {"driver": "overlay"}, "back": {"driver": "overlay"}},
        "volumes": {f"data{i}": {} for i in range(10)},
        "secrets": {"token": {"file": "./token.txt"}},
        "configs": {"conf": {"file": "./app.conf"}},
    }


def locate(path: tuple[str | int, ...]) -> Location:
    return Location("stack.yml", 1, 1)


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [50, 1000]
    # Warm-up: load the schema and compile the validator once, as a long-lived process would.
    started = time.perf_counter()
    validate_document(coerce_types(generate(1)), locate)
    print(f"schema load + compile + first run: {time.perf_counter() - started:.3f}s")
    for n in sizes:
        data = generate(n)
        t0 = time.perf_counter()
        coerced = coerce_types(data)
        t1 = time.perf_counter()
        findings = validate_document(coerced, locate)
        t2 = time.perf_counter()
        stack = normalize_document(coerced, read_file=lambda path: b"content")
        t3 = time.perf_counter()
        lint_stack(stack, coerced, locate)
        t4 = time.perf_counter()
        errors = [f for f in findings if f.severity.value == "error"]
        print(
            f"{n:5d} services: coerce {t1 - t0:.3f}s  validate {t2 - t1:.3f}s  "
            f"normalize {t3 - t2:.3f}s  lint {t4 - t3:.3f}s  "
            f"total {t4 - t0:.3f}s  ({len(errors)} errors)"
        )


def time_command(command: list[str], cwd: Path, runs: int = 9) -> tuple[float, float]:
    """Median and minimum wall time of a command (seconds)."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, cwd=cwd, capture_output=True, check=False)
        times.append(time.perf_counter() - started)
    return statistics.median(times), min(times)


def whole_process(n: int = 50) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "stack.yml").write_text(yaml.safe_dump(generate(n)))
        (folder / "token.txt").write_text("token")
        (folder / "app.conf").write_text("conf")
        ours = [sys.executable, "-m", "stackctl", "validate", "-q", "-c", "stack.yml"]
        check = subprocess.run(ours, cwd=folder, capture_output=True, text=True, check=False)
        print(f"stackctl validate exit status {check.returncode} {check.stderr.strip()[:200]}")
        median, best = time_command(ours, folder)
        print(
            f"whole process, {n} services: stackctl validate      "
            f"median {median:.3f}s min {best:.3f}s"
        )
        python_only = time_command([sys.executable, "-c", "pass"], folder)
        print(f"  (python startup alone: median {python_only[0]:.3f}s)")
        if shutil.which("docker"):
            theirs = ["docker", "stack", "config", "-c", "stack.yml"]
            d_median, d_best = time_command(theirs, folder)
            print(
                f"whole process, {n} services: docker stack config  "
                f"median {d_median:.3f}s min {d_best:.3f}s  (ratio {median / d_median:.2f})"
            )


if __name__ == "__main__":
    main()
    whole_process()
