"""Benchmark: the commands that change nothing, beside a reference, in one run.

Three comparisons (issue 13, "speed that comes with it"), each run RUNS times with
the contenders alternating (the first one rotates) so a busy machine slows all alike:

- ``validate``: ``stackctl validate`` of a generated 1,000-service file against
  ``docker stack config`` of the same file (parse, interpolate, print);
- ``demo``: a no-op ``stackctl apply`` and ``stackctl diff`` of the demo stack
  (``stacks/demo``, as ``./dev demo`` runs them) against the SDK floor: a Python
  process that imports the docker SDK and reads the stack's services, networks,
  configs and secrets once, the least an SDK-based tool can do to find "no change";
- ``stack50``: a no-op ``stackctl apply --resolve-image never`` of a generated
  50-service stack (as ``bench/run.py``'s redeploy) against ``bench/floor.py update``.

The stacks are deployed first (not timed) under names of their own and removed at
the end (``--keep`` leaves them for a re-run). Every child runs with bytecode
caching on (an installed stackctl has its ``.pyc`` files; ``PYTHONDONTWRITEBYTECODE``
would make every run compile every module) and each command is run once untimed
first. Writes ``bench/results/<UTC time>-noop.json`` and, with ``--doc``, the
"No-op commands" section of ``docs/benchmarks.md``.

    .venv/bin/python bench/bench_noop.py [--runs 15] [--only validate,demo,stack50]
        [--before COMMIT] [--doc]

``--before COMMIT`` runs that commit's stackctl alternately too (before/after in one run).

Prints timings; not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.gen import StackShape, write_stack_file

REPO = Path(__file__).resolve().parents[1]
STACKCTL = str(Path(sys.executable).with_name("stackctl"))
DEMO_FILE = REPO / "stacks" / "demo" / "stack.yml"
DOC_PATH = REPO / "docs" / "benchmarks.md"
SECTION_BEGIN = "<!-- noop:begin (bench/bench_noop.py --doc) -->"
SECTION_END = "<!-- noop:end -->"
IMAGE = "stackctl-demo/web:1"
# The least an SDK-based tool does to see that nothing changed: import the SDK and
# read the stack's objects once (what stackctl's observe reads, as list calls).
SDK_FLOOR = """
import sys, docker
api = docker.APIClient(version="1.41")
label = {"label": "com.docker.stack.namespace=" + sys.argv[1]}
api.services(filters=label); api.networks(filters=label)
api.configs(filters=label); api.secrets(filters=label)
"""


_LAST_CPU = [0.0]


@dataclass
class Comparison:
    """One line of the report: a stackctl command against its reference."""

    name: str
    stackctl: list[str]
    reference: list[str]
    reference_name: str
    target: str  # the target, in words
    target_seconds: float | None = None  # absolute target, when the issue gives one
    times: dict[str, list[float]] = field(default_factory=lambda: {"stackctl": [], "ref": []})
    cpu: dict[str, list[float]] = field(default_factory=lambda: {"stackctl": [], "ref": []})

    def medians(self) -> tuple[float, float]:
        return statistics.median(self.times["stackctl"]), statistics.median(self.times["ref"])

    def cpu_medians(self) -> tuple[float, float]:
        return statistics.median(self.cpu["stackctl"]), statistics.median(self.cpu["ref"])

    def before(self) -> tuple[float, float] | None:
        """Wall and CPU medians of the earlier stackctl (``--before``), if measured."""
        if not self.times.get("before"):
            return None
        return statistics.median(self.times["before"]), statistics.median(self.cpu["before"])


def _child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["NO_COLOR"] = "1"
    env.update(extra or {})
    return env


def _cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(argv: Sequence[str], env: dict[str, str], *, ok: Sequence[int] = (0,)) -> float:
    """Wall seconds of one run; its CPU seconds (user + system) go to ``_LAST_CPU``."""
    cpu_before = _cpu_of_children()
    started = time.perf_counter()
    done = subprocess.run(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=REPO, check=False
    )
    seconds = time.perf_counter() - started
    _LAST_CPU[0] = _cpu_of_children() - cpu_before
    if done.returncode not in ok:
        raise SystemExit(
            f"{' '.join(argv)} exited {done.returncode}: {done.stderr.decode()[-800:]}"
        )
    return seconds


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _validate(workdir: Path) -> Comparison:
    file = write_stack_file(StackShape(1000, IMAGE, replicas=0), workdir, "validate-1000.yml")
    return Comparison(
        "validate, 1,000 services",
        [STACKCTL, "validate", "-c", str(file)],
        ["docker", "stack", "config", "-c", str(file)],
        "`docker stack config`",
        "faster than `docker stack config` (ratio < 1)",
    )


def _demo(stack: str, env: dict[str, str]) -> list[Comparison]:
    print(f"[setup] apply the demo stack as {stack} (port {env['DEMO_PORT']})", flush=True)
    _run([STACKCTL, "apply", stack, "-c", str(DEMO_FILE), "--yes"], env)
    floor = [sys.executable, "-c", SDK_FLOOR, stack]
    return [
        Comparison(
            "apply (no-op), demo stack",
            [STACKCTL, "apply", stack, "-c", str(DEMO_FILE), "--yes"],
            floor,
            "SDK floor",
            "under 0.35 s",
            0.35,
        ),
        Comparison(
            "diff (no changes), demo stack",
            [STACKCTL, "diff", stack, "-c", str(DEMO_FILE)],
            floor,
            "SDK floor",
            "under 0.30 s",
            0.30,
        ),
    ]


def _stack50(stack: str, workdir: Path, replicas: int, env: dict[str, str]) -> Comparison:
    shape = StackShape(50, IMAGE, replicas=replicas)
    file = write_stack_file(shape, workdir, "stack50.yml")
    print(f"[setup] apply 50 services x {replicas} replica(s) as {stack}", flush=True)
    apply = [STACKCTL, "apply", stack, "-c", str(file), "--yes", "--resolve-image", "never"]
    _run(apply, env)
    floor = [
        sys.executable, "-m", "bench.floor", "update", "--stack", stack, "--services", "50",
        "--image", IMAGE, "--replicas", str(replicas), "--no-wait",
    ]  # fmt: skip
    return Comparison(
        "apply (no-op), 50 services", apply, floor, "`bench/floor.py update`", "under 1 s", 1.0
    )


def _measure(
    comparisons: list[Comparison], runs: int, env: dict[str, str], before: str | None
) -> None:
    """Alternate the contenders (the first one rotates); ``before``: also run each
    stackctl command with that source tree first on PYTHONPATH (an earlier stackctl)."""
    envs = {"stackctl": env, "ref": env}
    if before is not None:
        envs["before"] = {**env, "PYTHONPATH": before}
    contenders = list(envs)
    for c in comparisons:  # warm: page cache, .pyc files, the engine's own caches
        for who in contenders:
            _run(c.reference if who == "ref" else c.stackctl, envs[who])
    for run in range(runs):
        order = contenders[run % len(contenders) :] + contenders[: run % len(contenders)]
        for c in comparisons:
            for who in order:
                command = c.reference if who == "ref" else c.stackctl
                c.times.setdefault(who, []).append(_run(command, envs[who]))
                c.cpu.setdefault(who, []).append(_LAST_CPU[0])


def _source_tree(before: str, workdir: Path) -> str:
    """A directory to put first on PYTHONPATH so that ``stackctl`` runs ``before``: the
    directory itself, or the commit's stackctl/ unpacked (with its schemas, which the
    installed package carries as stackctl.schemas)."""
    if Path(before, "stackctl").is_dir():
        return before
    tree = workdir / "before"
    tree.mkdir()
    archive = subprocess.run(
        ["git", "archive", before, "stackctl", "schemas"], cwd=REPO, capture_output=True
    )
    if archive.returncode != 0:
        raise SystemExit(f"--before {before}: {archive.stderr.decode().strip()}")
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    (tree / "schemas").rename(tree / "stackctl" / "schemas")
    return str(tree)


def _wait_settled(stacks: Sequence[str], env: dict[str, str], timeout: float = 300.0) -> None:
    """Wait until every service of ``stacks`` runs all its replicas: a stack deployed
    just before would otherwise still be starting its tasks while the timed runs go,
    and the timings would measure the engine's start-up work, not the commands."""
    deadline = time.monotonic() + timeout
    pending: list[str] = list(stacks)
    while pending and time.monotonic() < deadline:
        pending = [s for s in pending if not _all_replicas_running(s, env)]
        if pending:
            time.sleep(0.5)  # polling the engine, not synchronising with a fixed wait
    if pending:
        raise SystemExit(f"stacks not settled after {timeout:.0f} s: {', '.join(pending)}")


def _all_replicas_running(stack: str, env: dict[str, str]) -> bool:
    listing = subprocess.run(
        ["docker", "service", "ls", "--filter", f"label=com.docker.stack.namespace={stack}",
         "--format", "{{.Replicas}}"],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    counts = [line.split(" ")[0] for line in listing.stdout.splitlines() if line.strip()]
    if listing.returncode != 0 or not counts:
        return False
    return all(running == wanted for running, wanted in (c.split("/") for c in counts))


def _remove(stack: str, env: dict[str, str]) -> None:
    subprocess.run(
        [STACKCTL, "rm", stack, "--yes"], env=env, cwd=REPO, capture_output=True, check=False
    )


def _commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
    )
    return done.stdout.strip() or "unknown"


def render_section(results: dict[str, object]) -> str:
    """The "No-op commands" section of docs/benchmarks.md, from a results dict."""
    rows = results["comparisons"]
    assert isinstance(rows, list)
    lines = [
        SECTION_BEGIN,
        "## No-op commands (issue 13)",
        "",
        f"Measured by `{results['command']}` at {results['date']} (stackctl commit "
        f"{results['commit']}; {results['cpus']} CPUs, load average {results['load_start']:.1f} "
        f"when the timed runs started (the higher of the two groups), each with only its own "
        "stack deployed and settled, and "
        f"{results['load_end']:.1f} at the end). Medians of "
        f"{results['runs']} alternating runs per command, whole processes from spawn to exit "
        "(wall), and the CPU time (user + system) the process used: on a loaded machine the "
        "wall time is mostly waiting for a core, so the CPU ratio is the steadier figure.",
        "",
        "| Command | stackctl wall | reference wall | wall ratio | stackctl CPU | reference CPU "
        "| CPU ratio | target | met (wall) |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for row in rows:
        ours, ref = row["stackctl_median"], row["reference_median"]
        ours_cpu, ref_cpu = row["stackctl_cpu_median"], row["reference_cpu_median"]
        ratio = ours / ref
        target = row["target_seconds"]
        met = ours < target if target is not None else ratio < 1
        lines.append(
            f"| {row['name']} | {ours:.3f} s | {ref:.3f} s ({row['reference_name']}) "
            f"| {ratio:.2f}x | {ours_cpu:.3f} s | {ref_cpu:.3f} s | {ours_cpu / ref_cpu:.2f}x "
            f"| {row['target']} | {'met' if met else '**not met**'} |"
        )
    befores = [row for row in rows if row.get("before_median") is not None]
    if befores:
        lines += [
            "",
            f"The same commands run alternately with the stackctl of `{results['before']}` "
            "(before this change):",
            "",
            "| Command | before wall | after wall | before CPU | after CPU | CPU after / before |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for row in befores:
            lines.append(
                f"| {row['name']} | {row['before_median']:.3f} s | {row['stackctl_median']:.3f} s "
                f"| {row['before_cpu_median']:.3f} s | {row['stackctl_cpu_median']:.3f} s "
                f"| {row['stackctl_cpu_median'] / row['before_cpu_median']:.2f}x |"
            )
    lines += [
        "",
        "Where the time goes (cProfile to find hot spots, `python -X importtime` for "
        "start-up, `bench/bench_load_stages.py --cpu` for the stages of loading a file): a "
        "no-op `apply`/`diff` of the demo stack makes 10 Engine API calls (version, info, the "
        "stack's services, networks, secrets and configs, two revision-history config lists, "
        "one registry lookup per image, now concurrent); its CPU is mostly start-up: the "
        "docker SDK's imports (requests, urllib3; the floor pays them too), typer, stackctl's "
        "own modules and PyYAML, then loading the file and planning. A no-op `apply` does not "
        "import the rollout runner or rich. `validate` of 1,000 services imports no engine, "
        "plan or rollout module (a unit test holds that): about 70 ms of imports (typer about "
        "20, the model's frozen dataclasses about 9), then about 50 ms of parsing (libyaml's "
        "own event stream is about 28 of it; locations are kept as packed integers until one "
        "is read), about 18 ms of validation and 14 ms of normalization (identical sections "
        "built once); a file without `$`, `\\` or `!` skips interpolation (jsonschema only "
        "runs when the fast shape check finds a problem).",
        "",
        "The SDK floor imports the docker SDK and reads the stack's services, networks, "
        "configs and secrets once; `bench/floor.py update` reads the live services once "
        "and writes nothing when the images match. The 50-service stack runs "
        f"{results['replicas']} replica(s) per service (the deploy runs above use 2).",
        SECTION_END,
    ]
    return "\n".join(lines)


def noop_section(text: str) -> str | None:
    """The "No-op commands" section of a benchmarks page, markers included, if any."""
    if SECTION_BEGIN not in text or SECTION_END not in text:
        return None
    start = text.index(SECTION_BEGIN)
    return text[start : text.index(SECTION_END, start) + len(SECTION_END)]


def write_section(doc: Path, section: str) -> None:
    """Put ``section`` into ``doc``: replace the old one, or insert it before "## Machine"."""
    text = doc.read_text(encoding="utf-8")
    if SECTION_BEGIN in text and SECTION_END in text:
        head, _, rest = text.partition(SECTION_BEGIN)
        _, _, tail = rest.partition(SECTION_END)
        text = head + section + tail
    elif "\n## Machine" in text:
        head, _, tail = text.partition("\n## Machine")
        text = head + "\n" + section + "\n\n## Machine" + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    doc.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--only", default="validate,demo,stack50")
    parser.add_argument("--replicas", type=int, default=1, help="per service, 50-service stack")
    parser.add_argument("--prefix", default="bnoop", help="stack name prefix")
    parser.add_argument("--keep", action="store_true", help="leave the stacks deployed")
    parser.add_argument("--doc", action="store_true", help="write docs/benchmarks.md's section")
    parser.add_argument("--label", default="", help="what was measured, when not this checkout")
    parser.add_argument(
        "--before",
        help="an earlier stackctl to run alternately with this one: a git commit of this "
        "repository, or a directory holding its stackctl/ package",
    )
    parser.add_argument(
        "--render", type=Path, help="only render the section from this results file"
    )
    args = parser.parse_args(argv)
    if args.render is not None:
        section = render_section(json.loads(args.render.read_text(encoding="utf-8")))
        print(section)
        if args.doc:
            write_section(DOC_PATH, section)
        return 0
    only = set(args.only.split(","))
    env = _child_env({"DEMO_PORT": str(_free_port())})
    comparisons: list[Comparison] = []
    stacks: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-noop-") as tmp:
        workdir = Path(tmp)
        try:
            before = _source_tree(args.before, workdir) if args.before else None
            # Each group is timed with only its own stack deployed: the 50 services'
            # health checks (one exec every 2 s each) would load the machine while the
            # demo's commands are timed.
            first: list[Comparison] = []
            if "validate" in only:
                first.append(_validate(workdir))
            if "demo" in only:
                stacks.append(f"{args.prefix}demo")
                first += _demo(stacks[-1], env)
            loads: list[float] = []
            if first:
                _wait_settled(stacks, env)
                loads.append(os.getloadavg()[0])
                _measure(first, args.runs, env, before)
                comparisons += first
            if "stack50" in only:
                if not args.keep:
                    for stack in stacks:
                        _remove(stack, env)
                stacks.append(f"{args.prefix}50")
                fifty = _stack50(stacks[-1], workdir, args.replicas, env)
                _wait_settled(stacks[-1:], env)
                loads.append(os.getloadavg()[0])
                _measure([fifty], args.runs, env, before)
                comparisons.append(fifty)
            load_start = max(loads, default=os.getloadavg()[0])
        finally:
            if not args.keep:
                for stack in stacks:
                    _remove(stack, env)
    command = "bench/bench_noop.py " + " ".join(argv if argv is not None else sys.argv[1:])
    results: dict[str, object] = {
        "command": command.strip(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": args.label or _commit(),
        "cpus": os.cpu_count(),
        "load_start": load_start,
        "load_end": os.getloadavg()[0],
        "runs": args.runs,
        "replicas": args.replicas,
        "before": args.before,
        "comparisons": [
            {
                "name": c.name,
                "stackctl_command": c.stackctl,
                "reference_command": c.reference,
                "reference_name": c.reference_name,
                "target": c.target,
                "target_seconds": c.target_seconds,
                "stackctl_times": c.times["stackctl"],
                "reference_times": c.times["ref"],
                "stackctl_median": c.medians()[0],
                "reference_median": c.medians()[1],
                "stackctl_cpu": c.cpu["stackctl"],
                "reference_cpu": c.cpu["ref"],
                "stackctl_cpu_median": c.cpu_medians()[0],
                "reference_cpu_median": c.cpu_medians()[1],
                "before_times": c.times.get("before"),
                "before_cpu": c.cpu.get("before"),
                "before_median": (c.before() or (None, None))[0],
                "before_cpu_median": (c.before() or (None, None))[1],
            }
            for c in comparisons
        ],
    }
    out = REPO / "bench" / "results" / f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-noop.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    section = render_section(results)
    print(section)
    print(f"results: {out.relative_to(REPO)}")
    if args.doc:
        write_section(DOC_PATH, section)
        print(f"wrote {DOC_PATH.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
