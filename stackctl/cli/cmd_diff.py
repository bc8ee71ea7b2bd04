"""``stackctl diff STACK``: what applying the stack files would change, field by field.

load -> convert -> connect -> observe -> last applied revision (for drift marks)
-> plan -> render -> (``--out``) save. Exit codes: 0 no changes, 2 changes
pending, 1 error (nothing compared).

``diff_desired`` is the seam for other sources of desired state (a stored
revision for ``diff --revision N``): it takes a ``ClusterState`` from anywhere.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import typer

from stackctl.cli.stack_views import CONTEXT_HELP, connect
from stackctl.cli.stackfile_options import (
    AGE_IDENTITY_HELP,
    ENV_FILE_HELP,
    FILES_HELP,
    PROFILE_HELP,
    load_from_cli,
)
from stackctl.core.load.source_map import SourceMap
from stackctl.core.model.state import ClusterState
from stackctl.errors import ExitCode, Location, StackctlError

if TYPE_CHECKING:
    from stackctl.api import StackPlan
    from stackctl.engine.client import EngineClient

FORMATS = ("text", "json", "markdown")

_HELP = (
    "Show what `apply` would change: every resource and field that differs between the "
    "stack files and the cluster, the effect of each change (restarts N tasks, in place, "
    "recreate), drift made outside stackctl since the last apply, and orphans. Sensitive "
    "env values are shown as (sensitive).\n\n"
    "Exit codes: 0 no changes; 2 changes pending; 1 error (nothing was compared)."
)


def register(app: typer.Typer) -> None:
    app.command("diff", help=_HELP)(diff)


def diff(
    stack: str = typer.Argument(..., help="Stack name."),
    files: list[str] = typer.Option([], "-c", "--compose-file", help=FILES_HELP),
    env_files: list[str] = typer.Option([], "--env-file", help=ENV_FILE_HELP),
    identities: list[str] = typer.Option([], "--age-identity", help=AGE_IDENTITY_HELP),
    profiles: list[str] = typer.Option([], "--profile", help=PROFILE_HELP),
    prune: bool = typer.Option(
        False, "--prune", help="Plan deleting resources no longer in the files (else: orphans)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Same as --format json."),
    output_format: str | None = typer.Option(
        None, "--format", help="text (default), json (docs/json-formats.md) or markdown."
    ),
    out: str | None = typer.Option(
        None, "--out", help="Save the plan for `stackctl apply --plan FILE`."
    ),
    no_color: bool = typer.Option(False, "--no-color", help="No colours (also: NO_COLOR=1)."),
    context: str | None = typer.Option(None, "--context", help=CONTEXT_HELP),
    revision: int | None = typer.Option(
        None, "--revision", help="Compare stored revision N (see `stackctl history`), not files."
    ),
    resolve_image: str = typer.Option(
        "always",
        "--resolve-image",
        help="always | changed | never: resolve images to registry digests as `apply` "
        "would (a tag whose digest moved is a change); never: no registry is contacted.",
    ),
    with_registry_auth: bool = typer.Option(
        False, "--with-registry-auth", help="Ask the registry with the docker client's credentials."
    ),
    verbose: bool = typer.Option(
        False,
        "-v",
        "--verbose",
        help="Also list, under each stack-file key, the Engine API fields it changes "
        "(also: `stackctl -v diff`).",
    ),
) -> int:
    # lazy: help listings import every command module; load this on use
    from stackctl.cli.global_options import is_verbose  # noqa: PLC0415
    from stackctl.core.validate.stack_name import check_stack_name  # noqa: PLC0415

    check_stack_name(stack)  # first: nothing is read or written for a bad name
    fmt = _format(as_json, output_format)
    engine_paths = verbose or is_verbose()
    if revision is not None:
        return _diff_revision(
            stack, revision, files, env_files, out, context, prune, fmt, no_color, engine_paths
        )
    desired, source_map, locations, dependencies = _desired_from_files(
        stack, files, env_files, identities, profiles
    )
    # lazy: help listings import every command module; load this on use
    from stackctl.engine.images import ImageResolver  # noqa: PLC0415
    from stackctl.engine.registry_auth import no_registry_auth, registry_auth_from_config  # noqa: PLC0415

    client = connect(context)
    resolver = ImageResolver(
        client,
        resolve_image,
        registry_auth=registry_auth_from_config() if with_registry_auth else no_registry_auth,
        locations=locations,
        warn=lambda message: typer.echo(message, err=True),
    )
    return diff_desired(
        client,
        desired,
        prune=prune,
        fmt=fmt,
        out=out,
        no_color=no_color,
        resolve=resolver.resolve,
        source_map=source_map,
        engine_paths=engine_paths,
        dependencies=dependencies,
    )


def _diff_revision(
    stack: str,
    number: int,
    files: list[str],
    env_files: list[str],
    out: str | None,
    context: str | None,
    prune: bool,
    fmt: str,
    no_color: bool,
    engine_paths: bool,
) -> int:
    """``diff --revision N``: what rolling back to revision N would change (REVISIONS)."""
    if files or env_files or out:
        raise StackctlError(
            "--revision compares a stored revision with the cluster: it takes no stack "
            "files and saves no plan",
            hint=f"`stackctl rollback {stack} --to {number}` applies that revision",
        )
    # lazy: help listings import every command module; load this on use
    from stackctl import api  # noqa: PLC0415

    client = connect(context)
    desired = api.revision_state(client, stack, number)
    return diff_desired(
        client, desired, prune=prune, fmt=fmt, no_color=no_color, engine_paths=engine_paths
    )


def _format(as_json: bool, output_format: str | None) -> str:
    if output_format is not None and output_format not in FORMATS:
        raise StackctlError(f"--format must be one of {', '.join(FORMATS)}, not {output_format!r}")
    if as_json and output_format not in (None, "json"):
        raise StackctlError(f"--json and --format {output_format} contradict each other")
    return "json" if as_json else (output_format or "text")


def _desired_from_files(
    stack: str,
    files: list[str],
    env_files: list[str],
    identities: list[str],
    profiles: list[str],
) -> tuple[ClusterState, SourceMap, Mapping[str, Location], dict[str, Any]]:
    # lazy: help listings import every command module; load this on use
    from stackctl.cli.common import format_findings  # noqa: PLC0415
    from stackctl.core.convert.convert import convert_stack  # noqa: PLC0415
    from stackctl.core.convert.rollout_inputs import dependencies_of  # noqa: PLC0415

    loaded = load_from_cli(
        files, env_files, identities=identities, stack_name=stack, profiles=profiles
    )
    for line in format_findings(loaded.findings):
        typer.echo(line, err=True)
    return (
        convert_stack(loaded.stack, stack),
        loaded.source_map,
        loaded.image_locations,
        dependencies_of(loaded.stack, stack),  # depends_on: release hooks and their order
    )


def _warn(message: str) -> None:
    typer.echo(f"stackctl: warning: {message}", err=True)


def diff_desired(
    client: EngineClient,
    desired: ClusterState,
    *,
    prune: bool = False,
    fmt: str = "text",
    out: str | None = None,
    no_color: bool = False,
    resolve: Callable[[ClusterState, ClusterState], ClusterState] | None = None,
    source_map: SourceMap | None = None,
    engine_paths: bool = False,
    dependencies: Mapping[str, Any] | None = None,
) -> int:
    """Plan ``desired`` against the live stack (drift marked against the last applied
    revision), print it, save it; return the exit code.

    ``source_map`` (from loading the files) puts the file:line of each key in the
    plan; ``engine_paths`` lists engine fields too.
    """
    # lazy: help listings import every command module; load this on use
    from stackctl import api  # noqa: PLC0415

    planned = api.plan(
        client,
        desired.stack,
        desired,
        prune=prune,
        source_map=source_map,
        warn=_warn,
        resolve=resolve,
        dependencies=dependencies,
    )
    typer.echo(_render(planned.plan, fmt, no_color, engine_paths))
    if out is not None:
        _save(planned, out)
    return int(ExitCode.CHANGES_PENDING if planned.has_changes else ExitCode.OK)


def _render(plan: Any, fmt: str, no_color: bool, engine_paths: bool = False) -> str:
    # lazy: help listings import every command module; load this on use
    from stackctl.cli.common import use_color  # noqa: PLC0415

    if fmt == "json":
        from stackctl.core.render.render_json import plan_to_json  # noqa: PLC0415 - only the format asked for

        return json.dumps(plan_to_json(plan), indent=2, sort_keys=True)
    if fmt == "markdown":
        from stackctl.core.render.render_markdown import render_markdown  # noqa: PLC0415 - only the format asked for

        return render_markdown(plan).rstrip("\n")
    from stackctl.core.render.render_text import render_text  # noqa: PLC0415 - only the format asked for

    return render_text(plan, color=use_color(no_color), engine_paths=engine_paths)


def _save(planned: StackPlan, out: str) -> None:
    try:
        with open(out, "w", encoding="utf-8") as handle:
            handle.write(planned.save())
    except OSError as error:
        raise StackctlError(f"cannot write the plan to {out}: {error.strerror}") from None
    typer.echo(
        f"Saved the plan to {out}; apply exactly this plan with "
        f"`stackctl apply {planned.stack} --plan {out}`.",
        err=True,
    )
