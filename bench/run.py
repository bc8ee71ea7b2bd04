"""Run the benchmark: stackctl vs `docker stack deploy` vs the API floor, in one run.

    .venv/bin/python bench/run.py --quick     # a few minutes, for development
    .venv/bin/python bench/run.py             # the full set from issue 7

Writes ``bench/results/<timestamp>-<mode>.json`` (and ``latest.json``), then renders
``docs/benchmarks.md`` and ``docs/img/bench-deploy.png`` from it (``--no-report`` skips).
"""

from __future__ import annotations

import argparse
import datetime as dt
import secrets
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.cluster import api_client, remove_stack
from bench.contenders import DEPLOY_CONTENDERS, Toolbox
from bench.gen import DEFAULT_HEALTH_INTERVAL_NS, NAMESPACE_LABEL, SECOND_NS, StackShape
from bench.machine import describe_machine, other_load
from bench.proxy import engine_socket
from bench.results import Results
from bench.scenarios import Bench, Images, rotated

REPO = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO / "bench" / "results"
DEMO_REPO = "stackctl-demo/web"
REGISTRY_REPO = "127.0.0.1:5000/stackctl-demo/web"  # the same images in ./dev's registry


@dataclass
class Settings:
    """What to measure and how often."""

    sizes: list[int]  # services per generated stack, 2 replicas each
    runs: int  # runs per size (median over them)
    update_sizes: list[int]  # sizes where update_all is measured (others: deploy, redeploy)
    single_service_sizes: list[int]  # sizes where update_one and broken are measured too
    diff_sizes: list[int]
    diff_runs: int
    help_runs: int
    skip_ops: list[str] = field(default_factory=list)  # chain operations left out
    image_repo: str = DEMO_REPO
    health_interval: float = DEFAULT_HEALTH_INTERVAL_NS / SECOND_NS  # seconds
    count_calls: bool = True
    contenders: list[str] = field(default_factory=lambda: list(DEPLOY_CONTENDERS))
    # never: no contender asks a registry; always (--registry): stackctl and docker
    # both resolve every image to its digest (docker's default), the floor does not
    resolve_image: str = "never"


FULL = Settings(
    sizes=[5, 20, 50],
    runs=3,
    update_sizes=[5, 20, 50],
    single_service_sizes=[20],
    diff_sizes=[100, 500, 1000],
    diff_runs=3,
    help_runs=15,
)
# Quick: one run; the whole chain (but update_one) at 5 services, deploy and no-op
# redeploy at 2 (a second point for the plot); diff and validate at 500 only.
# `docker stack deploy --detach=false` waits out each service's monitor window in
# turn, which is what makes bigger sizes slow.
QUICK = Settings(
    sizes=[2, 5],
    runs=1,
    update_sizes=[5],
    single_service_sizes=[5],
    diff_sizes=[500],
    diff_runs=3,
    help_runs=10,
    skip_ops=["update_one"],
)


def _log(message: str) -> None:
    stamp = dt.datetime.now().strftime("%H:%M:%S")
    print(f"{stamp} {message}", flush=True)


def _check_images(api: Any, repo: str) -> list[str]:
    images = Images.of_repo(repo)
    missing = []
    for tag in (images.v1, images.v2, images.broken):
        try:
            api.inspect_image(tag)
        except Exception:
            missing.append(tag)
    return missing


def _command_templates(tools: Toolbox) -> dict[str, str]:
    """The exact command lines each contender runs for a deploy, for the report."""
    shape = StackShape(1, "IMAGE")
    templates = {}
    for contender in DEPLOY_CONTENDERS:
        if tools.unavailable_reason(contender) is None:
            command = tools.apply_command(contender, "STACK", Path("FILE"), shape, first=True)
            command[0] = Path(command[0]).name
            templates[contender] = " ".join(command)
    return templates


def _remove_leftovers(api: Any, prefix: str) -> None:
    """Remove every stack this run created that is still there (after an interrupt)."""
    stacks = set()
    for obj in [*api.services(), *api.networks()]:
        labels = obj.get("Spec", obj).get("Labels") or {}
        name = labels.get(NAMESPACE_LABEL, "")
        if name.startswith(prefix):
            stacks.add(name)
    for name in sorted(stacks):
        remove_stack(api, name)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="the short development set")
    parser.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")])
    parser.add_argument("--runs", type=int)
    parser.add_argument(
        "--update-sizes",
        type=lambda s: [int(x) for x in s.split(",") if x],
        help="sizes at which the image update of every service is measured",
    )
    parser.add_argument(
        "--single-service-sizes",
        type=lambda s: [int(x) for x in s.split(",") if x],
        help="sizes at which update_one and broken are measured",
    )
    parser.add_argument(
        "--skip-ops", type=lambda s: [x for x in s.split(",") if x], help="e.g. update_one"
    )
    parser.add_argument("--diff-sizes", type=lambda s: [int(x) for x in s.split(",") if x])
    parser.add_argument("--diff-runs", type=int)
    parser.add_argument("--help-runs", type=int)
    parser.add_argument(
        "--only",
        choices=["help", "validate", "deploy"],
        action="append",
        help="measure only these groups (repeatable); default all",
    )
    parser.add_argument("--contenders", type=lambda s: s.split(","))
    parser.add_argument(
        "--health-interval", type=float, help="seconds between health checks (default 2)"
    )
    parser.add_argument("--image-repo", default=DEMO_REPO, help="repository with :1 :2 :broken")
    parser.add_argument(
        "--no-count-calls",
        action="store_true",
        help="talk to the engine directly instead of through the counting proxy",
    )
    parser.add_argument(
        "--registry",
        action="store_true",
        help=f"registry mode: images from {REGISTRY_REPO} (./dev cluster pushes them) and "
        "both stackctl and docker resolve digests (docker without --resolve-image never)",
    )
    parser.add_argument("--no-report", action="store_true", help="do not render docs/")
    parser.add_argument("--out", type=Path, help="results file (default bench/results/...)")
    return parser.parse_args(argv)


def _settings(args: argparse.Namespace) -> Settings:
    base = QUICK if args.quick else FULL
    settings = Settings(**asdict(base))
    settings.sizes = args.sizes or settings.sizes
    settings.runs = args.runs or settings.runs
    if args.skip_ops is not None:
        settings.skip_ops = args.skip_ops
    if args.update_sizes is not None:
        settings.update_sizes = args.update_sizes
    if args.single_service_sizes is not None:
        settings.single_service_sizes = args.single_service_sizes
    if args.diff_sizes is not None:
        settings.diff_sizes = args.diff_sizes
    settings.diff_runs = args.diff_runs or settings.diff_runs
    settings.help_runs = args.help_runs or settings.help_runs
    settings.image_repo = args.image_repo
    if args.registry:
        settings.resolve_image = "always"
        if args.image_repo == DEMO_REPO:
            settings.image_repo = REGISTRY_REPO
    settings.health_interval = args.health_interval or settings.health_interval
    settings.count_calls = not args.no_count_calls and engine_socket() is not None
    if not args.no_count_calls and not settings.count_calls:
        _log("DOCKER_HOST is not a unix socket: Engine API calls will not be counted")
    if args.contenders:
        settings.contenders = [c for c in args.contenders if c in DEPLOY_CONTENDERS]
    return settings


def _stop_on_sigterm() -> None:
    """SIGTERM (and SIGINT, which background jobs ignore) end the run through cleanup."""

    def interrupt(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, interrupt)


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    _stop_on_sigterm()
    settings = _settings(args)
    groups = set(args.only or ["help", "validate", "deploy"])
    api = api_client(None)
    missing = _check_images(api, settings.image_repo)
    if missing:
        _log(f"missing images: {', '.join(missing)} (build them with `./dev cluster`)")
        return 1

    mode = "quick" if args.quick else "full"
    if asdict(settings) != asdict(QUICK if args.quick else FULL) or args.only:
        mode = "custom"  # options changed the set: not comparable with a plain run
    started = dt.datetime.now(dt.UTC)
    prefix = f"bx{secrets.token_hex(2)}"
    out = args.out or RESULTS_DIR / f"{started:%Y%m%dT%H%M%SZ}-{mode}.json"
    tools = Toolbox.discover(REPO)
    tools.resolve_image = settings.resolve_image
    results = Results(
        mode=mode,
        settings={
            **asdict(settings),
            "groups": sorted(groups),
            "commands": _command_templates(tools),
            "results_file": out.name,
        },
        machine=describe_machine(api, REPO),
        path=out,
    )
    results.load["before"] = other_load(api, prefix)
    results.save()
    _log(f"results -> {out}")
    for name, present in tools.commands.items():
        _log(f"stackctl {name}: {'available' if present else 'NOT available'}")

    workdir = Path(tempfile.mkdtemp(prefix="stackctl-bench-"))
    bench = Bench(
        api=api,
        tools=tools,
        results=results,
        workdir=workdir,
        logdir=out.with_suffix("") / "logs",
        prefix=prefix,
        count_calls=settings.count_calls,
        log=_log,
        health_interval_ns=int(settings.health_interval * SECOND_NS),
    )
    images = Images.of_repo(settings.image_repo)
    clock = time.monotonic()
    try:
        if "help" in groups:
            _log(f"== start-up: --help x{settings.help_runs}")
            bench.help_startup(settings.help_runs)
        if "validate" in groups:
            for size in settings.diff_sizes:
                _log(f"== validate and diff: {size} services")
                bench.validate_and_diff(size, settings.diff_runs, images)
        if "deploy" in groups:
            for size in settings.sizes:
                for run in range(1, settings.runs + 1):
                    _log(f"== deploy chain: {size} services, run {run}/{settings.runs}")
                    for contender in rotated(settings.contenders, run - 1):
                        bench.deploy_chain(
                            size,
                            run,
                            contender,
                            images,
                            updates=size in settings.update_sizes
                            or size in settings.single_service_sizes,
                            single_service_ops=size in settings.single_service_sizes,
                            skip_ops=settings.skip_ops,
                        )
    except KeyboardInterrupt:
        _log("interrupted; cleaning up")
        return 130
    finally:
        _remove_leftovers(api, prefix)
        shutil.rmtree(workdir, ignore_errors=True)
        results.load["after"] = other_load(api, prefix)
        results.finished = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        results.save()
        if out.exists() and args.out is None:
            RESULTS_DIR.mkdir(parents=True, exist_ok=True)
            # a registry-mode run feeds the page's registry section, not the main tables
            latest = "latest-registry.json" if args.registry else "latest.json"
            shutil.copyfile(out, RESULTS_DIR / latest)
    _log(f"done in {time.monotonic() - clock:.0f}s; results in {out}")
    if not args.no_report:
        from bench.report import REGISTRY_RESULTS, render_all  # noqa: PLC0415 - matplotlib

        plain, registry = results, None
        if args.registry:
            registry, plain_file = results, RESULTS_DIR / "latest.json"
            if not plain_file.exists():
                _log(f"no {plain_file} (a run without --registry) to render the page with")
                return 0
            plain = Results.load_file(plain_file)
        elif REGISTRY_RESULTS.exists():
            registry = Results.load_file(REGISTRY_RESULTS)
        for written in render_all(plain, REPO, registry):
            _log(f"wrote {written}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
