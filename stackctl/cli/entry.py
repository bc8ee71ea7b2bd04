"""Console entry point (``stackctl``, ``python -m stackctl``).

``--help``, ``--version`` and ``version`` alone are answered here from plain
texts (``stackctl.cli.fast_help``) before typer, rich or any command module is
imported: they are the commands run most often just to look. Everything else,
including ``COMMAND --help``, goes to the typer application.
"""

from __future__ import annotations

import gc
import os
import sys

# Cyclic garbage collection tuned for a command-line run (measured with
# bench/bench_noop.py: about a fifth of the CPU of `validate` on a 1,000-service
# file, less on small ones). Loading a stack file allocates tens of thousands of
# containers (values, paths, locations) that all stay alive until the command
# ends, and CPython's default first generation (700 allocations) makes the
# collector walk them over and over, finding nothing. A larger first generation
# still collects cycles, just less often; freezing what the imports created keeps
# the full collections from walking every module, class and function again.
GC_THRESHOLDS = (50_000, 20, 20)


_REQUESTED: str | None = None


def requested_command() -> str | None:
    """The command this process was started to run, as far as ``main`` could tell
    before typer parses anything (None: not known, or not started through ``main``).
    ``stackctl.cli.app`` then registers only that command: the others' modules are
    never imported (tens of milliseconds a run)."""
    return _REQUESTED


def single_command(args: list[str]) -> str | None:
    """The command word of ``args``: the first argument after the root flags, unless
    a help listing or shell completion needs every command (then None)."""
    if any(name.startswith("_") and name.endswith("_COMPLETE") for name in os.environ):
        return None  # typer's shell completion (_STACKCTL_COMPLETE) lists every command
    for arg in args:
        if arg in ("--help", "-h"):
            return None  # the root help lists every command
        if not arg.startswith("-"):
            return arg  # the root options are flags: the first word is the command
    return None


def main() -> None:
    global _REQUESTED
    args = sys.argv[1:]
    # The imports below are lazy on purpose: this module is the start-up path.
    if args in (["--version"], ["version"]):
        from stackctl import __version__  # noqa: PLC0415

        print(f"stackctl {__version__}")
        sys.exit(0)
    if args == ["--help"]:
        from stackctl.cli.fast_help import root_help  # noqa: PLC0415

        print(root_help())
        sys.exit(0)
    gc.set_threshold(*GC_THRESHOLDS)
    _REQUESTED = single_command(args)
    from stackctl.cli.app import main as app_main  # noqa: PLC0415 - typer only past the fast paths

    gc.freeze()  # the modules, classes and functions live as long as the process
    app_main()
