"""``stackctl apply STACK``: show the plan, confirm, lock, roll out with health gates.

A no-op (the cluster already matches the file) is decided from one
observation, before the lock is taken: it writes nothing at all (not even the
lock) and exits 0. Everything else runs under the stack's in-cluster lock.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import typer

from stackctl.cli.stack_views import CONTEXT_HELP
from stackctl.cli.stackfile_options import (
    AGE_IDENTITY_HELP,
    ENV_FILE_HELP,
    FILES_HELP,
    PROFILE_HELP,
)
from stackctl.errors import StackctlError

if TYPE_CHECKING:
    from stackctl.rollout.options import ApplyOutcome

EXIT_CODES_HELP = (
    "Exit codes: 0 converged (or nothing to do); 1 nothing was changed (invalid stack, "
    "engine unreachable, lock held, stale plan, declined prompt); 3 failed and rolled back "
    "to the previous state; 4 failed and left paused or partially applied (or stopped by "
    "SIGINT/SIGTERM); 5 timed out waiting (changes submitted, not converged)."
)


def register(app: typer.Typer) -> None:
    app.command("apply", help=_HELP)(apply)


_HELP = (
    "Apply the stack files to the cluster: show the plan, confirm, then roll out only "
    "what changed, wave by wave (depends_on), gating on health; on failure roll back "
    "(default), pause or continue.\n\n" + EXIT_CODES_HELP
)


def apply(
    stack: str = typer.Argument(..., help="Stack name."),
    files: list[str] = typer.Option([], "-c", "--compose-file", help=FILES_HELP),
    env_files: list[str] = typer.Option([], "--env-file", help=ENV_FILE_HELP),
    identities: list[str] = typer.Option([], "--age-identity", help=AGE_IDENTITY_HELP),
    profiles: list[str] = typer.Option([], "--profile", help=PROFILE_HELP),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask; required off a TTY."),
    plan_file: str | None = typer.Option(
        None, "--plan", help="Apply a plan saved by `diff --out`; refused if the cluster moved."
    ),
    prune: bool = typer.Option(
        False, "--prune", help="Remove undeclared services/networks/configs/secrets afterwards."
    ),
    on_failure: str = typer.Option("rollback", "--on-failure", help="rollback | pause | continue"),
    max_concurrent: int = typer.Option(
        0, "--max-concurrent", help="Services rolling out at once (0: no limit)."
    ),
    timeout: str = typer.Option("10m", "--timeout", help="Give up waiting after this (exit 5)."),
    pending_timeout: str = typer.Option(
        "2m", "--pending-timeout", help="A task not started after this fails its service."
    ),
    lock_timeout: str = typer.Option(
        "0s", "--lock-timeout", help="Wait this long for another apply's lock (then exit 1)."
    ),
    detach: bool = typer.Option(False, "--detach", help="Submit the changes and return."),
    resolve_image: str = typer.Option(
        "always",
        "--resolve-image",
        help="always | changed | never, as docker stack deploy: pin each image to the digest "
        "its registry has for the tag (always: every service; changed: services whose image "
        "changed; never: no registry is contacted). An image the registry lacks stops the "
        "apply before any write; an unreachable registry gives docker's warning and the tag.",
    ),
    with_registry_auth: bool = typer.Option(
        False,
        "--with-registry-auth",
        help="Send the registry credentials of the docker client config ($DOCKER_CONFIG or "
        "~/.docker/config.json) to the engine for this deploy.",
    ),
    placement: str = typer.Option(
        "enforce",
        "--placement",
        help="enforce: placement errors (a constraint no node matches, ...) stop the apply "
        "before any write (exit 1); warn: show them and apply anyway, as docker stack "
        "deploy does (tasks that no node can run stay pending).",
    ),
    history_max: int = typer.Option(
        10, "--history-max", min=1, help="Revisions to keep (older ones are deleted)."
    ),
    notify: list[str] = typer.Option(
        [],
        "--notify",
        help="POST the outcome (JSON: stack, commit, revision, outcome, services changed, "
        "duration) to this URL when the apply ends; repeatable. A failed delivery is a "
        "warning; the exit code stays the apply's.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Stream events as JSON lines."),
    no_color: bool = typer.Option(False, "--no-color", help="No colour."),
    context: str | None = typer.Option(None, "--context", help=CONTEXT_HELP),
) -> None:
    # lazy: help listings import every command module; load this on use
    from stackctl.core.validate.stack_name import check_stack_name  # noqa: PLC0415

    check_stack_name(stack)  # first: nothing is read or written for a bad name
    # lazy: help listings import every command module; load this on use
    from stackctl.cli.apply_flow import ApplyRequest, run_apply_command  # noqa: PLC0415

    outcomes: list[ApplyOutcome] = []
    request = ApplyRequest(
        stack=stack,
        files=tuple(files),
        env_files=tuple(env_files),
        age_identities=tuple(identities),
        profiles=tuple(profiles),
        yes=yes,
        plan_file=plan_file,
        prune=prune,
        on_failure=on_failure,
        max_concurrent=max_concurrent if max_concurrent > 0 else None,
        timeout=_seconds(timeout, "--timeout"),
        pending_timeout=_seconds(pending_timeout, "--pending-timeout"),
        lock_timeout=_seconds(lock_timeout, "--lock-timeout"),
        detach=detach,
        resolve_image=resolve_image,
        with_registry_auth=with_registry_auth,
        history_max=history_max,
        as_json=as_json,
        no_color=no_color,
        context=context,
        on_outcome=outcomes.append,
        placement=_choice(placement, "--placement", ("enforce", "warn")),
    )
    if not notify:
        raise typer.Exit(run_apply_command(request))
    started = time.monotonic()
    try:
        code = run_apply_command(request)
    except StackctlError as error:
        _notify(notify, stack, None, 1, started, error=error)
        raise
    _notify(notify, stack, outcomes[-1] if outcomes else None, code, started)
    raise typer.Exit(code)


def _notify(
    urls: list[str],
    stack: str,
    outcome: ApplyOutcome | None,
    code: int,
    started: float,
    *,
    error: StackctlError | None = None,
) -> None:
    # lazy: help listings import every command module; load this on use
    from stackctl.notify.apply_report import (  # noqa: PLC0415
        apply_notification,
        error_message,
        send_apply_notification,
    )

    message = error_message(error) if error is not None else ""
    notification = apply_notification(
        stack, outcome, code, time.monotonic() - started, error=message
    )
    send_apply_notification(
        urls, notification, lambda line: typer.echo(f"stackctl: warning: {line}", err=True)
    )


def _choice(value: str, option: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise StackctlError(f"{option} must be one of {', '.join(allowed)}, not {value!r}")
    return value


def _seconds(text: str, option: str) -> float:
    # lazy: help listings import every command module; load this on use
    from stackctl.core.model.units import UnitError, parse_duration  # noqa: PLC0415

    try:
        return float(text) if text.replace(".", "", 1).isdigit() else parse_duration(text) / 1e9
    except UnitError as error:
        raise StackctlError(f"{option}: {error}", hint="use e.g. 90s, 10m, 1h30m") from None


@contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """SIGINT/SIGTERM set the returned event (the rollout stops cleanly at its next
    step); a second signal interrupts at once."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum: int, frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        print(
            f"stackctl: {signal.Signals(signum).name}: stopping after the current step...",
            file=sys.stderr,
            flush=True,
        )

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
