"""Render docs/benchmarks.md and docs/img/bench-deploy.png from a results file.

    .venv/bin/python bench/report.py [bench/results/latest.json] [--registry FILE]

Every number in the generated page comes from the results file; nothing is typed in.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_noop import noop_section, write_section
from bench.contenders import DOCKER, FLOOR, STACKCTL
from bench.results import Results
from bench.table import Table, fmt_count, fmt_ratio, ratio
from bench.targets import targets_section

REPO = Path(__file__).resolve().parents[1]
DOC_PATH = Path("docs/benchmarks.md")
PLOT_PATH = Path("docs/img/bench-deploy.png")
# run.py --registry copies its results here; the page's registry section reads them
REGISTRY_RESULTS = REPO / "bench" / "results" / "latest-registry.json"

OP_TITLES = {
    "deploy": "first deploy (wait for convergence)",
    "redeploy": "redeploy, unchanged file",
    "update_all": "image update, every service",
    "update_one": "image update, one service",
    "broken": "broken release on one service, until back on the old version",
    "validate": "validate",
    "diff": "diff against the live cluster",
    "help": "`--help` start-up",
}
DEPLOY_OPS = ("deploy", "redeploy", "update_all", "update_one", "broken")
CLI_OPS = ("help", "validate", "diff")


def _machine_section(results: Results) -> list[str]:
    m = results.machine
    load = results.load.get("before", {})
    after = results.load.get("after", {})
    rows = [
        ("Date (UTC)", m.get("date")),
        ("CPU", f"{m.get('cpu_model')}, {m.get('cpu_cores')} cores"),
        ("Memory", f"{m.get('memory_gib')} GiB"),
        ("OS / kernel", f"{m.get('os')} / {m.get('kernel')}"),
        ("Docker engine", f"{m.get('docker_engine')} (API {m.get('docker_api')})"),
        ("Docker CLI", m.get("docker_cli")),
        ("Swarm", f"{m.get('swarm_nodes')} node(s)"),
        ("Python", m.get("python")),
        (
            "stackctl",
            f"commit {m.get('stackctl_commit')}"
            + (" (with uncommitted changes)" if m.get("stackctl_tree_dirty") else ""),
        ),
        (
            "Other load at start",
            f"{load.get('other_services', '?')} other services, "
            f"{load.get('other_running_containers', '?')} other running containers, "
            f"load average {load.get('load_average_1m', '?')}",
        ),
        (
            "Other load at the end",
            f"{after.get('other_services', '?')} other services, "
            f"{after.get('other_running_containers', '?')} other running containers, "
            f"load average {after.get('load_average_1m', '?')}",
        ),
    ]
    lines = ["## Machine", "", "| | |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    return [*lines, ""]


def _number(value: object) -> str:
    return f"{value:g}" if isinstance(value, int | float) else "?"


def _sizes_clause(sizes: object, what: str) -> str:
    if not isinstance(sizes, list) or not sizes:
        return ""
    return f"; at {', '.join(map(str, sizes))} services, {what}"


def _method_section(results: Results) -> list[str]:
    s = results.settings
    commands = s.get("commands", {})
    lines = [
        "## Method",
        "",
        f"- Mode `{results.mode}`: generated stacks of {', '.join(map(str, s['sizes']))} "
        f"services x 2 replicas of `{s['image_repo']}:1` (health-checked busybox httpd), one "
        "overlay network, `endpoint_mode: dnsrr`, `init: true`, `stop_grace_period: 2s`, "
        f"health check every {_number(s.get('health_interval'))} s (an exec per check), "
        "`update_config` parallelism 1, delay 500ms, start-first, "
        "monitor = interval x retries (2), `failure_action: rollback` (see `bench/gen.py`).",
        f"- {s['runs']} run(s) per size; the median is shown with the number of good runs in "
        "brackets. Contenders alternate within each run (the first one rotates), each on its "
        "own stack name; stacks are removed, and their containers and networks waited out, "
        "between chains.",
        "- Chain per contender and run, on one fresh stack: first deploy of v1, redeploy of "
        "the same file"
        + _sizes_clause(s.get("update_sizes"), "every service to `:2`")
        + _sizes_clause(
            s.get("single_service_sizes"),
            "one service back to `:1`, then that service to `:broken`",
        )
        + "."
        + (f" Left out: {', '.join(s['skip_ops'])}." if s.get("skip_ops") else ""),
        "- Times are whole processes, from spawn to exit. The broken release is timed until "
        "the process has exited *and* the stack runs the old version again (the broken image "
        "was seen in a task, the service's spec names the old image and every task runs it).",
        "- **stackctl**: `" + commands.get(STACKCTL, "stackctl apply STACK -c FILE --yes") + "`.",
        "- **docker**: `" + commands.get(DOCKER, "docker stack deploy") + "`.",
        "- **floor** (`bench/floor.py`): the Engine API directly through the docker SDK: "
        "create the network and all services in a tight loop (on updates: only services "
        "whose image differs), then poll the stack's services and running tasks every 0.5 s "
        "(stackctl's rate) until "
        "every task runs the wanted image (Swarm reports a health-checked task `running` "
        "only once healthy) or Swarm rolled the service back. It does not wait for Swarm's "
        "monitor window to close.",
        "- A sample counts when the exit code is the expected one (stackctl 3 and the floor 3 "
        "for the broken release, otherwise 0; docker exits 0 after Swarm's rollback) and, "
        "after the exit, every service is seen running the expected image within 120 s. "
        "Other samples are listed at the end and left out of the medians.",
        "- *Services touched*: services whose `Version.Index` moved during the operation "
        "(the stack is left to go quiet before the operation starts).",
    ]
    if s.get("count_calls", True):
        lines.append(
            "- *Engine API calls*: every contender talks to the engine through a counting "
            "unix-socket proxy (`bench/proxy.py`, `DOCKER_HOST=unix://...`) that counts HTTP "
            "requests; writes are POST/PUT/DELETE. Polling while waiting counts too."
        )
    else:
        lines.append("- Engine API calls were not counted in this run (`--no-count-calls`).")
    if results.unavailable:
        lines.append("- Not measured in this run:")
        for key, reason in sorted(results.unavailable.items()):
            lines.append(f"  - {key}: {reason}")
    return [*lines, ""]


def _deploy_table(table: Table) -> list[str]:
    lines = [
        "## Deploy and update",
        "",
        "Median seconds (good runs). Ratios below 1 favour the first tool named.",
        "",
        "| Operation | Services | stackctl | docker | floor | stackctl / floor "
        "| stackctl / docker | docker / floor |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for op in DEPLOY_OPS:
        for size in table.sizes(op):
            s = table.median(op, size, STACKCTL)
            d = table.median(op, size, DOCKER)
            f = table.median(op, size, FLOOR)
            lines.append(
                f"| {OP_TITLES[op]} | {size} | {table.cell(op, size, STACKCTL)} | "
                f"{table.cell(op, size, DOCKER)} | {table.cell(op, size, FLOOR)} | "
                f"{fmt_ratio(ratio(s, f))} | {fmt_ratio(ratio(s, d))} | "
                f"{fmt_ratio(ratio(d, f))} |"
            )
    return [*lines, ""]


def _calls_table(table: Table) -> list[str]:
    lines = [
        "## Services touched and Engine API calls",
        "",
        "Per operation, medians: services whose version moved / API calls (writes).",
        "",
        "| Operation | Services | stackctl | docker | floor |",
        "|---|---:|---:|---:|---:|",
    ]

    def cell(op: str, size: int, contender: str) -> str:
        summary = table.get(op, size, contender)
        if summary is None or summary.runs == 0:
            return table.cell(op, size, contender)
        return (
            f"{fmt_count(summary.services_changed)} / {fmt_count(summary.api_total)} "
            f"({fmt_count(summary.api_writes)})"
        )

    for op in DEPLOY_OPS:
        for size in table.sizes(op):
            lines.append(
                f"| {OP_TITLES[op]} | {size} | {cell(op, size, STACKCTL)} | "
                f"{cell(op, size, DOCKER)} | {cell(op, size, FLOOR)} |"
            )
    return [*lines, ""]


def _cli_table(table: Table) -> list[str]:
    lines = [
        "## Commands without a rollout",
        "",
        "Median seconds. The docker column is a reference point, not the same job: "
        "`docker stack config -c FILE` for validate (parse, interpolate, print) and "
        "`docker --help` for start-up. stackctl diff runs against a live stack of that "
        "many services (0 replicas, created through the API).",
        "",
        "| Operation | Services | stackctl | docker (reference) | stackctl API calls (writes) |",
        "|---|---:|---:|---:|---:|",
    ]
    ops_present = [
        op for op in CLI_OPS if table.sizes(op) or f"{STACKCTL} {op}" in table.unavailable
    ]
    for op in ops_present:
        for size in table.sizes(op) or [0]:
            summary = table.get(op, size, STACKCTL)
            calls = "–"
            if summary is not None and summary.api_total is not None:
                calls = f"{fmt_count(summary.api_total)} ({fmt_count(summary.api_writes)})"
            docker = table.cell(op, size, DOCKER) if op != "diff" else "no equivalent"
            lines.append(
                f"| {OP_TITLES[op]} | {size or ''} | {table.cell(op, size, STACKCTL)} | "
                f"{docker} | {calls} |"
            )
    return [*lines, ""] if ops_present else []


def _failures_section(results: Results) -> list[str]:
    failed = [s for s in results.samples if not s.ok]
    if not failed:
        return []
    lines = ["## Failed samples (left out of the medians)", ""]
    for s in failed:
        lines.append(
            f"- {s.op}, {s.size} services, {s.contender}, run {s.run}: {s.note or 'failed'}"
        )
    return [*lines, ""]


# The agent is measured by its own benchmark, with its own page section.
AGENT_POINTER = (
    "The GitOps agent (`stackctl agent`) is measured by `bench/agent_bench.py`: "
    "push-to-converged latency, and an idle agent's CPU, RSS and Engine API calls per "
    "pass over 10 minutes; figures and command in [agent.md](agent.md#measured)."
)


def registry_section(registry: Results | None, source: str | None) -> list[str]:
    """What registry mode measures, how to run it, and its ratios when a run is given."""
    lines = [
        "## Registry mode",
        "",
        "The runs above deploy local-only images with `--resolve-image never`: no registry "
        "is asked. In registry mode (`bench/run.py --registry`) the images come from the "
        "local registry `./dev cluster` runs (`127.0.0.1:5000/stackctl-demo/web`) and both "
        "tools resolve them as a user's deploy does: stackctl with `--resolve-image always` "
        "(its default), docker with `docker stack deploy` without `--resolve-image never` "
        "(docker's default, always). Every deploy asks the registry for each image's digest "
        "and writes `image:tag@sha256:...`; the nodes run the pinned digest. The floor "
        "does not resolve. It measures what resolution costs each tool, and (write "
        "columns) whether a redeploy of an unchanged file stays a no-op once digests are "
        "pinned.",
        "",
        "```sh",
        "./dev cluster     # the registry, with the demo images pushed",
        ".venv/bin/python bench/run.py --quick --registry --only deploy --no-report --sizes 2,5",
        ".venv/bin/python bench/report.py   # re-renders this page with "
        "bench/results/latest-registry.json",
        "```",
        "",
    ]
    if registry is None:
        return [*lines, "No registry-mode results were given to this rendering.", ""]
    table = Table.of(registry)
    load = registry.load.get("before", {})
    lines += [
        f"From `bench/results/{source}` (`{registry.mode}` run, started "
        f"{registry.machine.get('date')}, other load at start: "
        f"{load.get('other_services', '?')} services, load average "
        f"{load.get('load_average_1m', '?')}). Median seconds; ratios below 1 favour "
        "stackctl.",
        "",
        "| Operation | Services | stackctl | docker | stackctl / docker "
        "| stackctl writes | docker writes |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for op in DEPLOY_OPS:
        for size in table.sizes(op):
            s, d = table.get(op, size, STACKCTL), table.get(op, size, DOCKER)
            quotient = ratio(s.median if s else None, d.median if d else None)
            lines.append(
                f"| {OP_TITLES[op]} | {size} | {table.cell(op, size, STACKCTL)} | "
                f"{table.cell(op, size, DOCKER)} | "
                f"{fmt_ratio(quotient)} | "
                f"{fmt_count(s.api_writes if s else None)} | "
                f"{fmt_count(d.api_writes if d else None)} |"
            )
    return [*lines, ""]


def render_markdown(
    results: Results,
    source: str,
    plot: str | None,
    registry: Results | None = None,
    registry_source: str | None = None,
) -> str:
    """The whole benchmarks page."""
    table = Table.of(results)
    lines = [
        "# Benchmarks: stackctl vs `docker stack deploy` vs the API floor",
        "",
        f"<!-- Generated by bench/report.py from {source}; do not edit by hand. "
        "Re-run `./dev bench` (or `./dev bench-quick`). -->",
        "",
        f"Measured side by side in one `{results.mode}` run on a single-node Swarm, "
        f"started {results.machine.get('date')}, finished {results.finished or 'unfinished'}. "
        "Timings on a shared, noisy machine: compare the ratios within this run, not "
        "against other runs.",
        "",
        AGENT_POINTER,
        "",
    ]
    lines += targets_section(table)
    lines += _deploy_table(table)
    if plot:
        lines += [f"![Deploy time against number of services]({plot})", ""]
    lines += _calls_table(table)
    lines += _cli_table(table)
    lines += registry_section(registry, registry_source)
    lines += _machine_section(results)
    lines += _method_section(results)
    lines += _failures_section(results)
    return "\n".join(lines).rstrip() + "\n"


def plot_deploy(results: Results, path: Path) -> bool:
    """Deploy time against number of services, one line per contender; False if no data."""
    # matplotlib is slow to import and only the plot needs it; pyplot after use("Agg")
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    table = Table.of(results)
    sizes = table.sizes("deploy")
    if not sizes:
        return False
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    styles = {STACKCTL: ("tab:blue", "o"), DOCKER: ("tab:red", "s"), FLOOR: ("tab:gray", "^")}
    missing = []
    for contender, (color, marker) in styles.items():
        points = [(n, table.get("deploy", n, contender)) for n in sizes]
        xs = [n for n, s in points if s is not None and s.median is not None]
        summaries = [s for _n, s in points if s is not None and s.median is not None]
        if not xs:
            missing.append(contender)
            continue
        medians = [s.median or 0.0 for s in summaries]
        lows = [m - (s.low or m) for m, s in zip(medians, summaries, strict=True)]
        highs = [(s.high or m) - m for m, s in zip(medians, summaries, strict=True)]
        ax.errorbar(
            xs, medians, yerr=[lows, highs], label=contender, color=color, marker=marker,
            capsize=3,
        )  # fmt: skip
    ax.set_xlabel("services (2 replicas each)")
    ax.set_ylabel("seconds until converged (median, min-max)")
    ax.set_title("First deploy with waiting")
    ax.set_xticks(sizes)
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left")
    if missing:
        ax.text(
            0.99, 0.02, "not measured: " + ", ".join(missing), transform=ax.transAxes,
            ha="right", va="bottom", fontsize=8, color="dimgray",
        )  # fmt: skip
    machine = results.machine
    fig.text(
        0.01, 0.01,
        f"{machine.get('cpu_model')}, {machine.get('cpu_cores')} cores; "
        f"engine {machine.get('docker_engine')}; {machine.get('date')}",
        fontsize=7, color="dimgray",
    )  # fmt: skip
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return True


def _source_name(results: Results) -> str:
    return str(
        results.settings.get("results_file")
        or (results.path.name if results.path is not None else "a results file")
    )


def render_all(results: Results, repo: Path = REPO, registry: Results | None = None) -> list[Path]:
    """Write the page and the plot into ``repo``/docs; returns the files written.

    ``registry``: a registry-mode run (``run.py --registry``) for its section."""
    written = []
    plot_file = repo / PLOT_PATH
    has_plot = plot_deploy(results, plot_file)
    if has_plot:
        written.append(plot_file)
    source = _source_name(results)
    doc = repo / DOC_PATH
    doc.parent.mkdir(parents=True, exist_ok=True)
    plot_ref = str(PLOT_PATH.relative_to("docs")) if has_plot else None
    registry_source = _source_name(registry) if registry is not None else None
    page = render_markdown(results, f"bench/results/{source}", plot_ref, registry, registry_source)
    kept = noop_section(doc.read_text("utf-8")) if doc.exists() else None
    doc.write_text(page, "utf-8")
    if kept is not None:  # bench/bench_noop.py's section comes from its own results file
        write_section(doc, kept)
    written.append(doc)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Render docs/benchmarks.md from results.")
    parser.add_argument(
        "results", nargs="?", type=Path, default=REPO / "bench" / "results" / "latest.json"
    )
    parser.add_argument(
        "--registry",
        type=Path,
        default=REGISTRY_RESULTS,
        help="results of a registry-mode run (bench/run.py --registry) for its section",
    )
    parser.add_argument("--repo", type=Path, default=REPO, help="where docs/ is")
    args = parser.parse_args(argv)
    if not args.results.exists():
        print(f"no results at {args.results}; run bench/run.py first", file=sys.stderr)
        return 1
    registry = Results.load_file(args.registry) if args.registry.exists() else None
    for path in render_all(Results.load_file(args.results), args.repo, registry):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
