"""The typer application: registers every command and maps errors to exit codes.

Command modules import heavy libraries (docker, jsonschema) inside their
functions, so a command's ``--help`` stays quick. ``stackctl --help``,
``--version`` and ``version`` do not come here at all: ``stackctl.cli.entry``
answers them from ``stackctl.cli.fast_help`` without importing typer.
"""

from __future__ import annotations

import importlib
import sys

import typer

from stackctl import __version__
from stackctl.cli import fast_help, global_options, typer_plain_values
from stackctl.cli.common import run_app
from stackctl.cli.entry import requested_command
from stackctl.cli.examples import epilog_for, reflow_docstring

typer_plain_values.install()  # no pydantic for values that need no coercion

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
    help=fast_help.ROOT_DESCRIPTION,
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
        help=fast_help.VERSION_HELP,
        callback=_version_callback,
        is_eager=True,
    ),
    verbose: bool = typer.Option(False, "-v", "--verbose", help=fast_help.VERBOSE_HELP),
    quiet: bool = typer.Option(False, "-q", "--quiet", help=fast_help.QUIET_HELP),
    no_color: bool = typer.Option(False, "--no-color", help=fast_help.NO_COLOR_HELP),
) -> None:
    """Declarative stack deployer for Docker Swarm."""

    global_options.set_global_options(verbose=verbose, quiet=quiet, no_color=no_color)
    # After the command, even a failed one: API call totals (-v), stdout restored (-q).
    ctx.call_on_close(global_options.finish)


def _modules_to_register(command: str | None) -> tuple[str, ...]:
    """Only the module of ``command`` when it names one (``stackctl.cli.entry`` knows
    what this process runs); otherwise every command module (help listings, unknown
    commands and their suggestions, importers of ``app`` such as the docs generator)."""
    module = f"stackctl.cli.cmd_{command}"
    return (module,) if module in COMMAND_MODULES else COMMAND_MODULES


def _register_commands() -> None:

    for module_name in _modules_to_register(requested_command()):
        importlib.import_module(module_name).register(app)
    app.command("version", help=fast_help.VERSION_COMMAND_HELP)(version)

    # Every command's --help ends with examples (stackctl/cli/examples.py), and help
    # taken from a docstring is reflowed so it wraps to the terminal.
    for info in app.registered_commands:
        if info.epilog is None and info.name is not None:
            info.epilog = epilog_for(info.name)
        if info.help is None and info.callback is not None and info.callback.__doc__:
            info.help = reflow_docstring(info.callback.__doc__)


def version() -> None:
    typer.echo(f"stackctl {__version__}")


_register_commands()


def main() -> None:
    """Console entry point."""

    sys.exit(run_app(app))
