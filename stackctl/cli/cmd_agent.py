"""``stackctl agent``: the pull-based GitOps agent, and its controls.

``stackctl agent --config agent.yml`` runs until SIGTERM/SIGINT and serves its
HTTP surface on ``listen`` (``stackctl.agent.http``); ``--once`` does one pass
over every stack and exits with the worst outcome's exit code (no HTTP).
``suspend|resume|retry|status STACK`` read and write the agent state kept in
the cluster (``stackctl.agent.controls``, shared with the JSON API), so they
work from any machine with access to the engine.
"""

from __future__ import annotations

import json
import signal
from typing import Any

import typer

from stackctl.cli.examples import epilog_for
from stackctl.cli.stack_views import CONTEXT_HELP, connect, table
from stackctl.json_documents import agent_status_document

agent_app = typer.Typer(
    name="agent",
    help=(
        "Keep stacks in sync with git: fetch, plan, apply only a non-empty plan, never "
        "re-apply a failed commit, pause after a manual rollback.\n\n"
        "Run: stackctl agent --config agent.yml [--once]; without --once it serves webhooks, "
        "a JSON API, health and metrics on listen. Control: stackctl agent "
        "suspend|resume|retry|status STACK (state kept in the cluster).\n\n"
        "--once exit codes: the worst pass: 0 applied / nothing to do / suspended / paused / "
        "held; 1 error (git, invalid files, engine); 2 drift reported; 3 rolled back; "
        "4 failed or interrupted; 5 timed out."
    ),
    invoke_without_command=True,
    no_args_is_help=False,
    epilog=epilog_for("agent"),
)


def register(app: typer.Typer) -> None:
    app.add_typer(agent_app)


@agent_app.callback()
def agent(
    ctx: typer.Context,
    config: str | None = typer.Option(None, "--config", "-f", help="The agent.yml to run."),
    once: bool = typer.Option(False, "--once", help="One pass over every stack, then exit."),
    as_json: bool = typer.Option(False, "--json", help="Print passes and events as JSON lines."),
    context: str | None = typer.Option(None, "--context", help=CONTEXT_HELP),
) -> None:
    if ctx.invoked_subcommand is not None:
        return
    if config is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(1)
    # lazy: help listings import every command module; load this on use
    from stackctl.agent.config import load_config  # noqa: PLC0415
    from stackctl.agent.loop import Agent  # noqa: PLC0415
    from stackctl.agent.notifications import PassNotifier, agent_notifier  # noqa: PLC0415
    from stackctl.engine.client import connect  # noqa: PLC0415

    settings = load_config(config)
    runner = Agent(
        settings,
        connect=lambda: connect(context),
        out=lambda line: typer.echo(line),
        as_json=as_json,
    )
    notifier = agent_notifier(settings, report=lambda line: typer.echo(line, err=True))
    if notifier is not None:
        runner.add_pass_listener(PassNotifier(notifier))
    try:
        if once:
            raise typer.Exit(runner.run_once())
        _run_until_stopped(runner, settings)
    finally:
        if notifier is not None:
            notifier.close()  # what is queued gets up to 10 s to go out


def _run_until_stopped(runner: Any, settings: Any) -> None:
    def stop(signum: int, frame: Any) -> None:
        typer.echo(f"stackctl agent: {signal.Signals(signum).name}: stopping", err=True)
        runner.request_stop()

    # lazy: help listings import every command module; load this on use
    from stackctl.agent.http.server import start_server  # noqa: PLC0415

    server = start_server(runner, settings, log=lambda line: typer.echo(line, err=True))
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop)
    typer.echo(f"stackctl agent: listening on {server.listen.url()}", err=True)
    names = ", ".join(s.name for s in settings.stacks)
    typer.echo(f"stackctl agent: watching {len(settings.stacks)} stack(s): {names}", err=True)
    try:
        runner.run()
    finally:
        server.stop()
    typer.echo("stackctl agent: stopped", err=True)


@agent_app.command("suspend")
def suspend(
    stack: str = typer.Argument(..., help="Stack name."),
    context: str | None = typer.Option(None, "--context", help=CONTEXT_HELP),
) -> None:
    """Stop the agent from touching STACK (on every agent, from its next pass) until resume."""
    # lazy: help listings import every command module; load this on use
    from stackctl.agent import controls  # noqa: PLC0415

    controls.suspend(connect(context), stack)
    typer.echo(f"stack {stack}: suspended; the agent leaves it alone until `agent resume`")


@agent_app.command("resume")
def resume(
    stack: str = typer.Argument(..., help="Stack name."),
    context: str | None = typer.Option(None, "--context", help=CONTEXT_HELP),
) -> None:
    """Let the agent manage STACK again: lifts a suspend and acknowledges manual rollbacks
    (the agent then applies the branch head again)."""
    # lazy: help listings import every command module; load this on use
    from stackctl.agent import controls  # noqa: PLC0415

    controls.resume(connect(context), stack)
    typer.echo(f"stack {stack}: resumed; the agent manages it again from its next pass")


@agent_app.command("retry")
def retry(
    stack: str = typer.Argument(..., help="Stack name."),
    context: str | None = typer.Option(None, "--context", help=CONTEXT_HELP),
) -> None:
    """Apply the commit whose apply failed once more, on the agent's next pass."""
    # lazy: help listings import every command module; load this on use
    from stackctl.agent import controls  # noqa: PLC0415

    controls.retry(connect(context), stack)
    typer.echo(f"stack {stack}: the agent retries its failed commit on its next pass")


@agent_app.command("status")
def status(
    stacks: list[str] = typer.Argument(None, help="Stack names (default: every stack)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    context: str | None = typer.Option(None, "--context", help=CONTEXT_HELP),
) -> None:
    """What the agent last reported for each stack, as stored in the cluster."""
    # lazy: help listings import every command module; load this on use
    from stackctl.agent.state import state_from_labels  # noqa: PLC0415
    from stackctl.engine.agent_state import list_state_labels  # noqa: PLC0415

    client = connect(context)
    found = list_state_labels(client)
    names = list(stacks) if stacks else sorted(found)
    rows: list[dict[str, Any]] = []
    for name in names:
        state = state_from_labels(found.get(name, {}))
        rows.append(
            {
                "stack": name,
                "suspended": state.suspended,
                "outcome": state.outcome or None,
                "commit": state.commit or None,
                "synced": state.synced.partition(":")[0] or None,
                "message": state.message or None,
            }
        )
    if as_json:
        typer.echo(json.dumps(agent_status_document(rows), indent=2))
        return
    if not rows:
        typer.echo("no stack has agent state in this cluster", err=True)
        return
    typer.echo(
        table(
            ["STACK", "STATE", "LAST PASS", "HEAD", "SYNCED", "MESSAGE"],
            [
                [
                    r["stack"],
                    "suspended" if r["suspended"] else "active",
                    r["outcome"] or "-",
                    (r["commit"] or "-")[:12],
                    (r["synced"] or "-")[:12],
                    r["message"] or "",
                ]
                for r in rows
            ],
        )
    )
