"""Benchmark: start-up time of the commands people run just to look, beside docker's.

Runs each command RUNS times, alternating them so a busy machine slows all alike,
and prints the median wall time and its ratio to ``docker --help`` (when the
docker CLI is installed) and to a bare ``python -c pass`` (the interpreter's own
start-up, a floor no Python program goes under).

Prints timings; not a test. Usage: python bench/bench_startup.py [RUNS]
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

STACKCTL = str(Path(sys.executable).with_name("stackctl"))
COMMANDS: dict[str, list[str]] = {
    "python -c pass (floor)": [sys.executable, "-c", "pass"],
    "stackctl --help": [STACKCTL, "--help"],
    "stackctl --version": [STACKCTL, "--version"],
    "stackctl version": [STACKCTL, "version"],
    "stackctl apply --help (typer)": [STACKCTL, "apply", "--help"],
    # the root help as typer renders it: what `stackctl --help` ran before its fast path
    "stackctl --help through typer": [
        sys.executable,
        "-c",
        "import sys; from stackctl.cli.app import main; sys.argv = ['stackctl', '--help']; main()",
    ],
}
DOCKER = shutil.which("docker")
if DOCKER:
    COMMANDS["docker --help"] = [DOCKER, "--help"]


def _once(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def main(runs: int) -> None:
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    env_note = f"load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs"
    for _ in range(runs):
        for name, argv in COMMANDS.items():
            times[name].append(_once(argv))
    medians = {name: statistics.median(values) for name, values in times.items()}
    docker = medians.get("docker --help")
    floor = medians["python -c pass (floor)"]
    print(f"start-up, median of {runs} runs ({env_note})")
    print(f"{'command':34} {'median':>9} {'x docker':>9} {'x floor':>8}")
    for name, median in medians.items():
        vs_docker = f"{median / docker:9.1f}" if docker else f"{'-':>9}"
        print(f"{name:34} {median * 1000:7.1f}ms {vs_docker} {median / floor:8.1f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 21)
