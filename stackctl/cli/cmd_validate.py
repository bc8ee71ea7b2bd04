"""``stackctl validate``: check stack files and report every problem at once."""

from __future__ import annotations

import json
import os
import sys

import typer

from stackctl.cli.finding_formats import CI_FORMATS, render_findings
from stackctl.cli.stackfile_options import (
    AGE_IDENTITY_HELP,
    ENV_FILE_HELP,
    FILES_HELP,
    PROFILE_HELP,
    age_identities,
    passphrase_prompt,
)
from stackctl.errors import StackctlError

API_VERSION = "stackctl/v1"
FORMATS = ("text", "json", *CI_FORMATS)


def register(app: typer.Typer) -> None:
    app.command(
        "validate",
        epilog=(
            "Example:\n\n"
            "  stackctl validate -c stack.yml -c stack.prod.yml --env-file prod.env --strict"
        ),
    )(validate)


def validate(
    files: list[str] = typer.Option([], "-c", "--compose-file", help=FILES_HELP),
    env_files: list[str] = typer.Option([], "--env-file", help=ENV_FILE_HELP),
    identities: list[str] = typer.Option([], "--age-identity", help=AGE_IDENTITY_HELP),
    profiles: list[str] = typer.Option([], "--profile", help=PROFILE_HELP),
    strict: bool = typer.Option(
        False, "--strict", help="Treat warnings (lints, unset variables) as errors."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print a machine-readable result."),
    output_format: str | None = typer.Option(
        None,
        "--format",
        help="text (default), json (same as --json), github (workflow annotations on the "
        "lines of a pull request) or sarif (SARIF 2.1.0 for code scanning).",
    ),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="Print errors only."),
    stack: str | None = typer.Option(
        None, "--stack", help="Stack name, to also check the full service names' length."
    ),
) -> None:
    """Validate stack files: schema, references, units, and rollout-safety lints.

    Exit status 0 when valid (warnings allowed), 1 when not.
    """
    # lazy: help listings import every command module; load this on use
    from stackctl import api  # noqa: PLC0415
    from stackctl.cli.common import format_findings  # noqa: PLC0415

    fmt = _format(as_json, output_format)
    result = api.validate(
        files,
        env_files=env_files,
        strict=strict,
        stack_name=stack,
        age_identity_files=age_identities(identities),
        age_passphrase=passphrase_prompt(),
        profiles=profiles,
        cwd=os.getcwd(),
        stdin_text=sys.stdin.read() if "-" in files else None,
    )
    findings = result.findings
    used = result.files
    services = len(result.stack.services) if result.stack is not None else 0
    errors = result.errors
    valid = result.valid
    if fmt in CI_FORMATS:
        text = render_findings(fmt, findings, os.getcwd())
        if text:
            typer.echo(text)
        if not valid:
            raise typer.Exit(1)
        return
    if fmt == "json":
        document = {
            "apiVersion": API_VERSION,
            "kind": "ValidationResult",
            "valid": valid,
            "files": list(used),
            "findings": [f.to_json() for f in findings],
        }
        typer.echo(json.dumps(document, indent=2))
    else:
        for line in format_findings(errors if quiet else findings):
            typer.echo(line, err=True)
        if not quiet:
            names = ", ".join(used) or "stack file"
            warnings = len(findings) - len(errors)
            if valid:
                typer.echo(f"{names}: valid ({services} services, {warnings} warning(s))")
            else:
                typer.echo(f"{names}: {len(errors)} error(s), {warnings} warning(s)", err=True)
    if not valid:
        raise typer.Exit(1)


def _format(as_json: bool, output_format: str | None) -> str:
    if output_format is not None and output_format not in FORMATS:
        raise StackctlError(f"--format must be one of {', '.join(FORMATS)}, not {output_format!r}")
    if as_json and output_format not in (None, "json"):
        raise StackctlError(f"--json and --format {output_format} contradict each other")
    return "json" if as_json else (output_format or "text")
