"""The typer application: registers every command and maps errors to exit codes.

Command modules import heavy libraries (docker, rich, jsonschema) inside their
functions, so ``stackctl --help`` stays fast.
"""

from __future__ import annotations

import importlib
import sys

import typer

from stackctl import __version__

# Each module in this list defines ``register(app: typer.Typer) -> None``.
# Order here is the order of commands in ``--help``.
COMMAND_MODULES: tuple[str, ...] = (
    "stackctl.cli.cmd_validate",
    "stackctl.cli.cmd_config",
    "stackctl.cli.cmd_diff",
    "stackctl.cli.cmd_apply",
    "stackctl.cli.cmd_rollback",
    "stackctl.cli.cmd_history",
    "stackctl.cli.cmd_status",
    "stackctl.cli.cmd_ls",
    "stackctl.cli.cmd_rm",
    "stackctl.cli.cmd_unlock",
    "stackctl.cli.cmd_agent",
    "stackctl.cli.cmd_secret",
)

app = typer.Typer(
    name="stackctl",
    help=(
        "Declarative stack deployer for Docker Swarm: validate stack files, preview a "
        "field-level plan, apply it with health gates, keep history and roll back in one step."
        "\n\nExit codes: 0 ok, 1 error (nothing changed), 2 changes pending (diff), "
        "3 failed and rolled back, 4 failed and left paused/partial, 5 timed out."
    ),
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"stackctl {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    ctx: typer.Context,
    version: bool = typer.Option(
        False,
        "--version",
        help="Show the version and exit.",
        callback=_version_callback,
        is_eager=True,
    ),
    verbose: bool = typer.Option(
        False, "-v", "--verbose", help="Print every Engine API call (on stderr) and the totals."
    ),
    quiet: bool = typer.Option(
        False, "-q", "--quiet", help="Print nothing on stdout; errors still go to stderr."
    ),
    no_color: bool = typer.Option(False, "--no-color", help="No colour (also: NO_COLOR=1)."),
) -> None:
    """Declarative stack deployer for Docker Swarm."""
    from stackctl.cli import global_options

    global_options.set_global_options(verbose=verbose, quiet=quiet, no_color=no_color)
    # After the command, even a failed one: API call totals (-v), stdout restored (-q).
    ctx.call_on_close(global_options.finish)


def _register_commands() -> None:
    for module_name in COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            # A command whose module is not written yet is simply absent.
            if exc.name == module_name:
                continue
            raise
        module.register(app)
    from stackctl.cli.examples import epilog_for, reflow_docstring

    # Every command's --help ends with examples (stackctl/cli/examples.py), and help
    # taken from a docstring is reflowed so it wraps to the terminal.
    for info in app.registered_commands:
        if info.epilog is None and info.name is not None:
            info.epilog = epilog_for(info.name)
        if info.help is None and info.callback is not None and info.callback.__doc__:
            info.help = reflow_docstring(info.callback.__doc__)


_register_commands()


def main() -> None:
    """Console entry point."""
    from stackctl.cli.common import run_app

    sys.exit(run_app(app))
