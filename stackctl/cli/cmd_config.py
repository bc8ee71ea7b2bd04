"""``stackctl config``: the merged, interpolated, normalized stack as YAML."""

from __future__ import annotations

import typer

from stackctl.cli.stackfile_options import (
    AGE_IDENTITY_HELP,
    ENV_FILE_HELP,
    FILES_HELP,
    PROFILE_HELP,
    load_from_cli,
)


def register(app: typer.Typer) -> None:
    app.command(
        "config",
        epilog="Example:\n\n  stackctl config -c stack.yml -c stack.prod.yml > resolved.yml",
    )(config)


def config(
    files: list[str] = typer.Option([], "-c", "--compose-file", help=FILES_HELP),
    env_files: list[str] = typer.Option([], "--env-file", help=ENV_FILE_HELP),
    identities: list[str] = typer.Option([], "--age-identity", help=AGE_IDENTITY_HELP),
    profiles: list[str] = typer.Option([], "--profile", help=PROFILE_HELP),
) -> None:
    """Print the stack as stackctl will deploy it (like `docker stack config`).

    Short syntax is expanded, defaults applied, units normalized. Config and
    secret contents are never printed, only their file paths.
    """
    # lazy: help listings import every command module; load this on use
    from stackctl.cli.common import format_findings  # noqa: PLC0415
    from stackctl.core.convert.config_output import render_stack_yaml  # noqa: PLC0415

    result = load_from_cli(files, env_files, identities=identities, profiles=profiles)
    for line in format_findings(result.findings):
        typer.echo(line, err=True)
    typer.echo(render_stack_yaml(result.stack), nl=False)
