"""Measured run: SIGKILL applies at random moments, then check history and status.

    .venv/bin/python bench/kill_history.py --kills 12 [--seed N] [--lease 3]

Release i of a small two-service stack alternates the image tag
(stackctl-demo/web:1 / :2) and carries ``RELEASE=i`` in its environment and
its config, so every release is told apart in the cluster. Each release's
``stackctl apply`` is started (waiting out the dead holder's lock with
``--lock-timeout``), and, for the first ``--kills`` of them, SIGKILLed after a
random delay within the time an uninterrupted apply takes. After every run the
script reads the services through the Docker SDK: a release "reached the
cluster" when some service spec carries its ``RELEASE``. Checked:

- ``stackctl status --json`` never reports drift (stackctl only wrote its own
  releases; nothing else touched the stack), after every kill and at the end;
- ``stackctl history`` lists every release that reached the cluster, in the
  order they were applied, with an outcome (``interrupted`` for the killed ones);
- a final uninterrupted apply converges and ``stackctl diff`` then exits 0
  without a drift line.

Random delays are the point here (a benchmark of faults, not a test): the
reliability tests use the checkpoint hook for exact points instead.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import docker

REPO = Path(__file__).resolve().parent.parent
STACK_FILE = """
services:
  web:
    image: stackctl-demo/web:{tag}
    stop_grace_period: 1s
    environment: {{RELEASE: "{release}"}}
    configs: [{{source: conf, target: /etc/app.conf}}]
    deploy:
      replicas: 2
      update_config: {{parallelism: 1, delay: 0s, order: start-first, monitor: 500ms}}
  api:
    image: stackctl-demo/web:{tag}
    stop_grace_period: 1s
    environment: {{RELEASE: "{release}"}}
    depends_on:
      web: {{condition: service_healthy}}
    deploy:
      replicas: 1
      update_config: {{parallelism: 1, delay: 0s, order: start-first, monitor: 500ms}}
configs:
  conf: {{file: ./conf-{release}.txt}}
x-stackctl:
  ignore: [SC102]
"""


def write_release(folder: Path, release: int) -> str:
    (folder / f"conf-{release}.txt").write_text(f"release {release}\n")
    path = folder / f"release-{release}.yml"
    path.write_text(STACK_FILE.format(tag=1 + release % 2, release=release))
    return str(path)


def stackctl(*args: str, lease: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stackctl", *args],
        env=_env(lease),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def _env(lease: float) -> dict[str, str]:
    return {**os.environ, "NO_COLOR": "1", "STACKCTL_LOCK_LEASE": f"{lease:g}"}


def apply_args(stack: str, file: str) -> list[str]:
    return [
        sys.executable, "-m", "stackctl", "apply", stack, "-c", file, "--yes",
        "--lock-timeout", "60s", "--timeout", "180s", "--history-max", "1000",
    ]  # fmt: skip


def run_apply(stack: str, file: str, lease: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        apply_args(stack, file), env=_env(lease), capture_output=True, text=True, check=False
    )


def releases_in_cluster(client: docker.DockerClient, stack: str) -> set[int]:
    found = set()
    for service in client.services.list(filters={"label": f"com.docker.stack.namespace={stack}"}):
        env = service.attrs["Spec"]["TaskTemplate"]["ContainerSpec"].get("Env") or []
        found |= {int(e.split("=", 1)[1]) for e in env if e.startswith("RELEASE=")}
    return found


def history_releases(stack: str, lease: float) -> list[tuple[int, str, int]]:
    """(revision number, outcome, release) per revision, oldest first."""
    # the bench runs stackctl as a subprocess; it reads the store in-process only here
    from stackctl.engine.client import connect  # noqa: PLC0415
    from stackctl.engine.revisions import RevisionStore  # noqa: PLC0415

    listed = json.loads(stackctl("history", stack, "--json", lease=lease).stdout)["revisions"]
    store = RevisionStore(connect(), stack)
    rows = []
    for entry in listed:
        revision = store.get(entry["number"])
        envs = [
            e
            for s in revision.state.services.values()
            for e in s.spec["TaskTemplate"]["ContainerSpec"].get("Env") or []
        ]
        release = next(int(e.split("=", 1)[1]) for e in envs if e.startswith("RELEASE="))
        rows.append((entry["number"], entry["outcome"], release))
    return rows


def status_drift(stack: str, lease: float) -> tuple[Any, str]:
    result = stackctl("status", stack, "--json", lease=lease)
    data = json.loads(result.stdout)
    text = stackctl("status", stack, lease=lease).stdout
    return data, text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=12)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--lease", type=float, default=3.0)
    parser.add_argument("--stack", default=f"killbench{os.getpid() % 10000}")
    parser.add_argument("--keep", action="store_true", help="leave the stack for inspection")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(10**6)
    rng = random.Random(seed)
    client = docker.from_env()
    folder = Path(tempfile.mkdtemp(prefix="killbench-"))
    stack = args.stack
    problems: list[str] = []
    reached: list[int] = []  # releases seen in the cluster, in the order applied
    print(f"stack {stack}, seed {seed}, {args.kills} kills, lease {args.lease:g}s")

    try:
        first = run_apply(stack, write_release(folder, 0), args.lease)
        if first.returncode != 0:
            print(first.stdout, first.stderr)
            return 2
        # one uninterrupted update (the other tag) sets the window kills are drawn from
        started = time.monotonic()
        second = run_apply(stack, write_release(folder, 1), args.lease)
        duration = time.monotonic() - started
        if second.returncode != 0:
            print(second.stdout, second.stderr)
            return 2
        reached.extend([0, 1])
        print(f"an uninterrupted update takes {duration:.1f}s; kills fall within that")
        kills = interrupted_seen = 0
        release = 1
        while kills < args.kills and release < 4 * args.kills:
            release += 1
            file = write_release(folder, release)
            proc = subprocess.Popen(
                apply_args(stack, file),
                env=_env(args.lease),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            delay = rng.uniform(0.2, duration)
            try:
                code = proc.wait(timeout=delay)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
                code = proc.wait()
                kills += 1
            if release in releases_in_cluster(client, stack):
                reached.append(release)
            data, text = status_drift(stack, args.lease)
            if data.get("drift") or "drift: YES" in text:
                problems.append(f"release {release}: status reports drift: {data.get('drifted')}")
            if data.get("interrupted"):
                interrupted_seen += 1
            print(
                f"release {release}: {'killed' if code == -9 else f'exit {code}'} "
                f"after {delay:.2f}s; status: revision {data.get('revision')} "
                f"{data.get('outcome')}, drift {data.get('drift')}"
            )
        release += 1
        final = write_release(folder, release)
        done = run_apply(stack, final, args.lease)
        if done.returncode != 0:
            problems.append(f"final apply exited {done.returncode}: {done.stderr[-500:]}")
        reached.append(release)
        diff = stackctl("diff", stack, "-c", final, lease=args.lease)
        if diff.returncode != 0 or "outside stackctl" in diff.stdout:
            problems.append(f"final diff exited {diff.returncode}: {diff.stdout[-500:]}")
        data, text = status_drift(stack, args.lease)
        if data.get("drift") or data.get("interrupted") or "drift: YES" in text:
            problems.append(f"final status not clean: {text}")
        rows = history_releases(stack, args.lease)
        listed = [release for _, _, release in rows]
        missing = [r for r in reached if r not in listed]
        if missing:
            problems.append(f"releases that reached the cluster missing from history: {missing}")
        if listed != sorted(listed):
            problems.append(f"history out of order: {listed}")
        outcomes: dict[str, int] = {}
        for _, outcome, _ in rows:
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        print(stackctl("history", stack, lease=args.lease).stdout)
        print(
            f"RESULT kills={kills} releases={release + 1} reached={len(reached)} "
            f"in_history={len(set(listed) & set(reached))} revisions={len(rows)} "
            f"outcomes={json.dumps(outcomes, sort_keys=True)} "
            f"status_interrupted_seen={interrupted_seen} problems={len(problems)} seed={seed}"
        )
    finally:
        if not args.keep:
            sys.path.insert(0, str(REPO / "tests"))
            from support.testkit import remove_stack_objects  # noqa: PLC0415 - after sys.path

            remove_stack_objects(client, stack)
    for problem in problems:
        print("PROBLEM:", problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
