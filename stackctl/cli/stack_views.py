"""Helpers shared by the history/status/ls/rm/rollback commands.

Kept free of heavy imports at module level: commands import this lazily.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import typer

from stackctl.errors import UserAbort

if TYPE_CHECKING:
    from stackctl.engine.client import DockerEngineClient

CONTEXT_HELP = "Docker context to use (default: the current one / DOCKER_HOST)."


def connect(context: str | None) -> DockerEngineClient:
    """The engine client every command uses (``stackctl.engine.client.connect``)."""
    # lazy: help listings import every command module; load this on use
    from stackctl.cli.global_options import watch_client  # noqa: PLC0415
    from stackctl.engine.client import connect as engine_connect  # noqa: PLC0415

    return watch_client(engine_connect(context))


def age(then: datetime | None, now: datetime | None = None) -> str:
    """A short age like ``42s``, ``5m``, ``3h``, ``2d``; ``-`` when unknown."""
    if then is None:
        return "-"
    now = now or datetime.now(UTC)
    seconds = max(0, int((now - then).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def when(then: datetime | None) -> str:
    """A revision time for tables: UTC, to the second."""
    if then is None:
        return "-"
    return then.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def confirm_or_abort(question: str, *, yes: bool) -> None:
    """Ask on a TTY; off a TTY require ``--yes`` (a pipeline must never hang on a prompt)."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise UserAbort(
            "refusing to proceed without confirmation (stdin is not a terminal)",
            hint="pass --yes to confirm",
        )
    if not typer.confirm(question, default=False):
        raise UserAbort("cancelled; nothing was changed")


def table(headers: list[str], rows: list[list[str]]) -> str:
    """A plain aligned text table (no colour, stable for logs and tests)."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    return "\n".join(lines)
