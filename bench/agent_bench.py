"""Benchmark of ``stackctl agent`` (not a test): latency, idle cost, engine calls per pass.

    .venv/bin/python bench/agent_bench.py [--idle-seconds 600] [--pushes 5] [--stacks 20]

1. Push-to-converged latency with ``interval: 5s``: one stack; a commit is pushed to a
   local bare repository and the clock runs until the revision naming that commit is
   recorded as ``applied`` (the rollout converged and passed its health gate).
2. An idle agent watching N stacks (``interval: 5s``, every stack applied and
   unchanged): CPU seconds and RSS of the agent process over the idle window, read
   from /proc, with the machine's load average over the same window (shared machines);
   then one ``--once --json`` pass for the Engine API calls per stack.

Prints a Markdown summary and writes ``bench/results/agent-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.cluster import api_client, remove_stack, wait_until
from bench.machine import other_load

ROOT = Path(__file__).resolve().parents[1]
STACKCTL = [str(ROOT / ".venv" / "bin" / "python"), "-m", "stackctl"]
GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}
STACK_TEXT = """services:
  web:
    image: stackctl-demo/web:1
    stop_grace_period: 1s
    environment:
      RELEASE: "{release}"
    deploy:
      replicas: 1
      update_config: {{parallelism: 1, delay: 0s, order: start-first, monitor: 1s}}
"""
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def git(*args: str, cwd: Path | None = None) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=GIT_ENV, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


class Repo:
    def __init__(self, root: Path) -> None:
        self.bare, self.work = root / "deploy.git", root / "work"
        git("init", "-q", "--bare", "-b", "main", str(self.bare))
        git("init", "-q", "-b", "main", str(self.work))

    def push(self, files: dict[str, str]) -> str:
        for name, text in files.items():
            (self.work / name).write_text(text)
        git("add", "-A", cwd=self.work)
        git("commit", "-q", "--allow-empty", "-m", "bench", cwd=self.work)
        git("push", "-q", str(self.bare), "HEAD:main", cwd=self.work)
        return git("rev-parse", "HEAD", cwd=self.work)


def write_config(path: Path, repo: Repo, stacks: list[str]) -> Path:
    config = {
        "interval": "5s",
        "listen": "127.0.0.1:0",  # the running agent's HTTP surface, on a free port
        "state_dir": str(path.parent / "state"),
        "concurrency": 4,
        "stacks": [
            {
                "name": name,
                "repo": str(repo.bare),
                "files": [f"{name}.yml"],
                "apply": {"timeout": "3m", "pending_timeout": "60s"},
            }
            for name in stacks
        ],
    }
    path.write_text(json.dumps(config))
    return path


def applied_commits(api: Any, stack: str) -> set[str]:
    configs = api.configs(
        filters={"label": ["io.stackctl.kind=revision", f"io.stackctl.stack={stack}"]}
    )
    return {
        labels.get("io.stackctl.git.commit", "")
        for labels in ((c["Spec"].get("Labels") or {}) for c in configs)
        if labels.get("io.stackctl.outcome") == "applied"
    }


def is_applied(api: Any, stack: str, commit: str) -> bool:
    return commit in applied_commits(api, stack)


def proc_sample(pid: int) -> tuple[float, int]:
    """(CPU seconds so far, RSS bytes) of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    rss = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) * 1024
    return cpu, rss


def load_1m() -> float:
    """The machine's 1-minute load average (other work on a shared machine shows here)."""
    return float(Path("/proc/loadavg").read_text().split()[0])


def start_agent(config: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [*STACKCTL, "agent", "--config", str(config), "--json"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def stop_agent(agent: subprocess.Popen[bytes]) -> int:
    agent.terminate()
    return agent.wait(timeout=180)


def latency(api: Any, work: Path, prefix: str, pushes: int) -> dict[str, Any]:
    stack = f"{prefix}l"
    repo = Repo(work / "latency")
    repo.push({f"{stack}.yml": STACK_TEXT.format(release="r0")})
    config = write_config(work / "latency" / "agent.yml", repo, [stack])
    agent = start_agent(config, work / "latency" / "agent.log")
    samples = []
    try:
        first = wait_until(lambda: bool(applied_commits(api, stack)), timeout=300, interval=0.1)
        assert first, "the first commit was never applied"
        for i in range(pushes):
            started = time.monotonic()
            commit = repo.push({f"{stack}.yml": STACK_TEXT.format(release=f"r{i + 1}")})
            ok = wait_until(functools.partial(is_applied, api, stack, commit), 300, 0.1)
            assert ok, f"commit {commit} was never applied"
            samples.append(time.monotonic() - started)
    finally:
        stop_agent(agent)
        remove_stack(api, stack)
    return {
        "interval_s": 5,
        "pushes": pushes,
        "seconds": [round(s, 2) for s in samples],
        "median_s": round(statistics.median(samples), 2),
        "max_s": round(max(samples), 2),
    }


def idle(api: Any, work: Path, prefix: str, count: int, seconds: float) -> dict[str, Any]:
    stacks = [f"{prefix}i{n:02d}" for n in range(count)]
    repo = Repo(work / "idle")
    repo.push({f"{name}.yml": STACK_TEXT.format(release="r0") for name in stacks})
    config = write_config(work / "idle" / "agent.yml", repo, stacks)
    try:
        once = subprocess.run(
            [*STACKCTL, "agent", "--config", str(config), "--once"],
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert once.returncode == 0, once.stdout[-2000:] + once.stderr[-2000:]
        agent = start_agent(config, work / "idle" / "agent.log")
        try:
            time.sleep(15)  # bench only: let the first passes (status writes) settle
            cpu0, _ = proc_sample(agent.pid)
            started = time.monotonic()
            rss, load = [], []
            while time.monotonic() - started < seconds:
                rss.append(proc_sample(agent.pid)[1])
                load.append(load_1m())  # the machine is shared: say how busy it was
                time.sleep(1.0)
            cpu1, _ = proc_sample(agent.pid)
            elapsed = time.monotonic() - started
        finally:
            stop_agent(agent)
        log_lines = (work / "idle" / "agent.log").read_text().splitlines()
        passes = subprocess.run(
            [*STACKCTL, "agent", "--config", str(config), "--once", "--json"],
            capture_output=True,
            text=True,
            timeout=900,
        )
        per_stack = [
            json.loads(line) for line in passes.stdout.splitlines() if '"event": "pass"' in line
        ]
    finally:
        for name in stacks:
            remove_stack(api, name)
    calls = [p["engineCalls"] for p in per_stack]
    return {
        "stacks": count,
        "interval_s": 5,
        "idle_seconds": round(elapsed, 1),
        "cpu_seconds": round(cpu1 - cpu0, 2),
        "cpu_percent_of_one_core": round(100 * (cpu1 - cpu0) / elapsed, 2),
        "rss_mib_median": round(statistics.median(rss) / 2**20, 1),
        "rss_mib_max": round(max(rss) / 2**20, 1),
        "log_lines_while_idle": len(log_lines),
        "load_1m_during_idle": {
            "median": round(statistics.median(load), 2),
            "max": round(max(load), 2),
        },
        "engine_calls_per_stack_pass": sorted(set(calls)),
        "engine_writes_per_idle_pass": sorted({p["engineWrites"] for p in per_stack}),
        "outcomes": sorted({p["outcome"] for p in per_stack}),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--idle-seconds", type=float, default=600.0)  # the 10 minutes
    parser.add_argument("--pushes", type=int, default=5)
    parser.add_argument("--stacks", type=int, default=20)
    args = parser.parse_args()
    api = api_client()
    prefix = "ab" + secrets.token_hex(3)
    result: dict[str, Any] = {"when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    result["load_before"] = other_load(api, prefix)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        result["latency"] = latency(api, work, prefix, args.pushes)
        result["idle"] = idle(api, work, prefix, args.stacks, args.idle_seconds)
    out = ROOT / "bench" / "results" / f"agent-{result['when'].replace(':', '')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print("push-to-converged (interval 5s):", json.dumps(result["latency"]))
    print("idle agent:", json.dumps(result["idle"]))
    print(f"written: {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
