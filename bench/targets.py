"""The targets of issue 7 (and issue 5's bench item), judged from one run's medians."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bench.contenders import DOCKER, FLOOR, STACKCTL
from bench.table import Table, fmt_count, fmt_seconds, ratio


@dataclass(frozen=True)
class Target:
    text: str
    evaluate: Callable[[Table], list[tuple[str, bool | None]]]  # (measured, met) per row


def _per_size(
    op: str, check: Callable[[Table, int], tuple[str, bool] | None], sizes: Sequence[int] = ()
) -> Callable[[Table], list[tuple[str, bool | None]]]:
    def evaluate(table: Table) -> list[tuple[str, bool | None]]:
        rows: list[tuple[str, bool | None]] = []
        for size in sizes or table.sizes(op):
            outcome = check(table, size)
            where = f"{size} services: " if size else ""
            if outcome is None:
                reason = table.unavailable.get(f"{STACKCTL} {op}")
                rows.append((f"{where}not measured" + (f" ({reason})" if reason else ""), None))
            else:
                rows.append((f"{where}{outcome[0]}", outcome[1]))
        if not rows:
            reason = table.unavailable.get(f"{STACKCTL} {op}")
            rows.append(("not measured" + (f" ({reason})" if reason else ""), None))
        return rows

    return evaluate


def _ratio_check(
    op: str, other: str, limit: float, *, inverse: bool = False
) -> Callable[[Table, int], tuple[str, bool] | None]:
    """stackctl/other <= limit, or (inverse) other/stackctl >= limit."""

    def check(table: Table, size: int) -> tuple[str, bool] | None:
        s = table.median(op, size, STACKCTL)
        o = table.median(op, size, other)
        if inverse:
            value = ratio(o, s)
            return None if value is None else (f"{other} / stackctl = {value:.3f}x", value >= limit)
        value = ratio(s, o)
        return None if value is None else (f"stackctl / {other} = {value:.3f}x", value <= limit)

    return check


def _time_check(op: str, limit: float) -> Callable[[Table, int], tuple[str, bool] | None]:
    def check(table: Table, size: int) -> tuple[str, bool] | None:
        value = table.median(op, size, STACKCTL)
        return None if value is None else (fmt_seconds(value), value < limit)

    return check


def _noop_check(table: Table, size: int) -> tuple[str, bool] | None:
    summary = table.get("redeploy", size, STACKCTL)
    if summary is None or summary.median is None:
        return None
    touched = summary.services_changed
    docker = table.get("redeploy", size, DOCKER)
    docker_touched = "?" if docker is None else fmt_count(docker.services_changed)
    text = (
        f"{fmt_seconds(summary.median)}, {fmt_count(touched)} services touched "
        f"(docker touched {docker_touched})"
    )
    return text, summary.median < 1.0 and touched == 0


TARGETS: tuple[Target, ...] = (
    Target(
        "First deploy with waiting within 1.2x of the floor",
        _per_size("deploy", _ratio_check("deploy", FLOOR, 1.2)),
    ),
    Target(
        "First deploy with waiting at least 3x faster than docker",
        _per_size("deploy", _ratio_check("deploy", DOCKER, 3.0, inverse=True)),
    ),
    Target(
        "Unchanged redeploy under 1 s and 0 services touched",
        _per_size("redeploy", _noop_check),
    ),
    Target(
        "Unchanged redeploy at least 20x faster than docker's (issue 5)",
        _per_size("redeploy", _ratio_check("redeploy", DOCKER, 20.0, inverse=True)),
    ),
    Target(
        "Full image update within 1.2x of the floor",
        _per_size("update_all", _ratio_check("update_all", FLOOR, 1.2)),
    ),
    Target("diff of 500 services under 2 s", _per_size("diff", _time_check("diff", 2.0), [500])),
    Target(
        "validate of 1,000 services under 1 s",
        _per_size("validate", _time_check("validate", 1.0), [1000]),
    ),
    Target("`stackctl --help` under 0.3 s", _per_size("help", _time_check("help", 0.3), [0])),
)


def targets_section(table: Table) -> list[str]:
    lines = [
        "## Targets (issue 7)",
        "",
        "| Target | Measured | Met |",
        "|---|---|---|",
    ]
    for target in TARGETS:
        for measured, met in target.evaluate(table):
            verdict = "not measured" if met is None else ("met" if met else "**not met**")
            lines.append(f"| {target.text} | {measured} | {verdict} |")
    return [*lines, ""]
