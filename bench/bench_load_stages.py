"""Benchmark: where ``load_stack`` spends its time, stage by stage, in process.

Wraps the stage functions ``stackctl.core.load.loading`` calls (parse, coerce,
validate, normalize, lint) with wall-clock timers, runs ``load_stack`` on each
file several times and prints the median of each stage and of the whole load.
No profiler: per-call overhead would distort the split. Imports are done (and
one warm-up load run) before timing, so this is the work after start-up.

Prints timings; not a test. Usage:
    python bench/bench_load_stages.py [--runs N] FILE [FILE ...]
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

from stackctl.cli.entry import GC_THRESHOLDS  # the CLI's collector settings, as in a real run
from stackctl.core.load import loading
from stackctl.errors import StackFileError

STAGES = ("parse_document", "_coerce", "_validate", "_normalize", "_lint")


# wall clock by default; --cpu uses the process's CPU time (steadier on a busy machine)
_clock = time.perf_counter


def _timed(name: str, fn: Callable[..., Any], spent: dict[str, float]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = _clock()
        try:
            return fn(*args, **kwargs)
        finally:
            spent[name] = spent.get(name, 0.0) + _clock() - start

    return wrapper


def _load(path: str) -> None:
    # a file with errors still runs every stage up to the error
    with contextlib.suppress(StackFileError):
        loading.load_stack([path], env=dict(os.environ), age_check_only=True)


def measure(path: str, runs: int) -> dict[str, float]:
    """Median milliseconds per stage (and ``total``) over ``runs`` loads of ``path``."""
    samples: dict[str, list[float]] = {}
    spent: dict[str, float] = {}
    originals = {name: getattr(loading, name) for name in STAGES}
    for name, fn in originals.items():
        setattr(loading, name, _timed(name, fn, spent))
    try:
        _load(path)  # warm-up: lazy imports, schema and regex compilation
        gc.collect()
        gc.freeze()  # as the CLI does after its imports
        for _ in range(runs):
            spent.clear()
            # Each run starts with the collector's young generations empty, as a
            # fresh process does after its imports, whatever the previous run left.
            gc.collect()
            start = _clock()
            _load(path)
            spent["total"] = _clock() - start
            for name in (*STAGES, "total"):
                samples.setdefault(name, []).append(spent.get(name, 0.0) * 1000)
    finally:
        for name, fn in originals.items():
            setattr(loading, name, fn)
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("files", nargs="+")
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--cpu", action="store_true", help="CPU time instead of wall time")
    args = parser.parse_args()
    global _clock
    if args.cpu:
        _clock = time.process_time
    gc.set_threshold(*GC_THRESHOLDS)  # the CLI's settings
    header = ["file", *(s.lstrip("_").replace("_document", "") for s in STAGES), "rest", "total"]
    print("  ".join(f"{h:>10}" for h in header))
    for path in args.files:
        med = measure(path, args.runs)
        rest = med["total"] - sum(med[s] for s in STAGES)
        cells = [os.path.basename(path)[:10]]
        cells += [f"{med[s]:.1f}" for s in STAGES] + [f"{rest:.1f}", f"{med['total']:.1f}"]
        print("  ".join(f"{c:>10}" for c in cells))
    clock = "CPU" if args.cpu else "wall"
    print(f"median of {args.runs} runs, {clock} ms; load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
