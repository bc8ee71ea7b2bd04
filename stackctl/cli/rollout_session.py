"""How ``apply`` and ``rollback`` present the one rollout path (``stackctl.rollout.session``).

The CLI's part only: build the runner's ``ApplyOptions`` once from the command's
options, show the events (text or JSON lines), turn SIGINT/SIGTERM into a clean
stop, print the summary, and map the outcome to the exit code. Locking, the
re-check, the write-ahead revision and cleanup are the rollout session's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import Any, Protocol

import typer

from stackctl.cli.apply_view import make_view, summary_lines
from stackctl.cli.cmd_apply import stop_on_signals
from stackctl.core.plan.plan_model import Plan
from stackctl.engine.client import EngineClient
from stackctl.rollout.options import ApplyOptions, ApplyOutcome, FailurePolicy
from stackctl.rollout.session import LockSettings, Release, locked_rollout, unlocked_watch
from stackctl.rollout.waves import Dependencies


class RolloutRequest(Protocol):
    """The rollout options ``ApplyRequest`` and ``RollbackRequest`` both carry."""

    @property
    def stack(self) -> str: ...
    @property
    def max_concurrent(self) -> int | None: ...
    @property
    def timeout(self) -> float: ...
    @property
    def pending_timeout(self) -> float: ...
    @property
    def lock_timeout(self) -> float: ...
    @property
    def history_max(self) -> int: ...
    @property
    def as_json(self) -> bool: ...
    @property
    def no_color(self) -> bool: ...


def options_for(
    request: RolloutRequest,
    policy: FailurePolicy,
    *,
    dependencies: Dependencies,
    detach: bool = False,
    contents: Mapping[str, bytes] | None = None,
) -> ApplyOptions:
    """The runner's options, built once from a command's request (``should_stop`` is
    filled in when the rollout starts, by the signal handler)."""
    return ApplyOptions(
        on_failure=policy,
        max_concurrent=request.max_concurrent,
        timeout=request.timeout,
        pending_timeout=request.pending_timeout,
        detach=detach,
        dependencies=dependencies,
        contents=MappingProxyType(dict(contents or {})),
    )


def run_locked(
    client: EngineClient,
    request: RolloutRequest,
    release: Release,
    recheck: Callable[[], Plan],
    options: ApplyOptions,
    *,
    resolve_image: str = "never",
    registry_auth: Callable[[str], str | None] | None = None,
    nothing_left: str | None = None,
    on_outcome: Callable[[ApplyOutcome], None] | None = None,
) -> int:
    """The locked rollout of apply and rollback, shown; returns the exit code.

    ``nothing_left`` is printed when the re-check under the lock finds the work
    done meanwhile (exit 0)."""

    settings = LockSettings(
        lock_timeout=request.lock_timeout,
        history_max=request.history_max,
        resolve_image=resolve_image,
        registry_auth=registry_auth or (lambda image: None),
    )

    def notice(message: str) -> None:
        typer.echo(f"stackctl: {message}", err=True)

    def run(opts: ApplyOptions, emit: Any) -> ApplyOutcome | None:
        return locked_rollout(client, release, recheck, opts, settings, emit, notice)

    code = _shown(request, options, run, on_outcome)
    if code is None:
        if nothing_left and not request.as_json:
            typer.echo(nothing_left)
        return 0
    return code


def run_unlocked(
    client: EngineClient,
    request: RolloutRequest,
    plan: Plan,
    options: ApplyOptions,
    resolve_image: str,
    on_outcome: Callable[[ApplyOutcome], None] | None = None,
) -> int:
    """Watch Swarm finish rolling out the file's spec (no writes: no lock, no revision)."""

    def run(opts: ApplyOptions, emit: Any) -> ApplyOutcome | None:
        return unlocked_watch(client, plan, opts, emit, resolve_image)

    code = _shown(request, options, run, on_outcome)
    return 0 if code is None else code


def _shown(
    request: RolloutRequest,
    options: ApplyOptions,
    run: Callable[[ApplyOptions, Any], ApplyOutcome | None],
    on_outcome: Callable[[ApplyOutcome], None] | None = None,
) -> int | None:
    """Run with the event view and signal handling; print the summary; hand the
    outcome to ``on_outcome`` (``apply --notify``)."""

    view = make_view(as_json=request.as_json, no_color=request.no_color)
    try:
        with stop_on_signals() as stop:
            outcome = run(replace(options, should_stop=stop.is_set), view)
    finally:
        view.close()
    if outcome is None:
        return None
    if on_outcome is not None:
        on_outcome(outcome)
    if not request.as_json:
        for line in summary_lines(outcome):
            typer.echo(line)
    return int(outcome.exit_code)
