"""How ``apply`` shows rollout events: a live table on a TTY, plain lines in CI, JSON lines.

Each view is an ``emit`` callable for ``run_apply`` plus ``close()``. Rich is
imported inside functions so ``stackctl --help`` stays fast.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from rich.live import Live
from rich.table import Table

from stackctl.cli.common import make_console
from stackctl.rollout.events import (
    ApplyFinished,
    Event,
    ResourceCreated,
    ResourceUpdated,
    ServiceConverged,
    ServiceFailed,
    ServiceProgress,
    ServiceSkipped,
)

if TYPE_CHECKING:
    from stackctl.rollout.options import ApplyOutcome


class EventView(Protocol):
    def __call__(self, event: Event) -> None: ...

    def close(self) -> None: ...


class JsonLinesView:
    """One JSON object per event on stdout (``--json``)."""

    def __init__(self, write: Callable[[str], None] | None = None) -> None:
        self.write = write or (lambda line: print(line, flush=True))

    def __call__(self, event: Event) -> None:
        self.write(json.dumps(event.to_json(), sort_keys=True))

    def close(self) -> None:
        pass


class PlainView:
    """One plain line per event, for CI logs."""

    def __init__(self, write: Callable[[str], None] | None = None) -> None:
        self.write = write or (lambda line: print(line, flush=True))

    def __call__(self, event: Event) -> None:
        self.write(f"[{event.elapsed:6.1f}s] {event.describe()}")

    def close(self) -> None:
        pass


@dataclass
class _Row:
    phase: str = "waiting"
    updated: str = ""
    healthy: str = ""
    since: float = 0.0
    message: str = ""
    desired: int | None = None
    ended: float | None = None  # elapsed stops when the service converged or failed


class LiveView:
    """A rich Live table with one row per service; other events print above it."""

    def __init__(self, console: Any) -> None:
        self.console = console
        self.rows: dict[str, _Row] = {}
        self.started = time.monotonic()  # re-based on the first event's elapsed
        # get_renderable: the table is rebuilt on every refresh, so ELAPSED ticks.
        self.live = Live(
            console=console, refresh_per_second=4, transient=False, get_renderable=self._table
        )
        self.live.start()

    @property
    def now(self) -> float:
        return time.monotonic() - self.started

    def __call__(self, event: Event) -> None:
        if not self.rows:
            self.started = time.monotonic() - event.elapsed
        row = self.rows.get(getattr(event, "service", ""), None)
        if (
            isinstance(event, (ResourceCreated, ResourceUpdated))
            and event.resource_kind == "service"
        ):
            self.rows[event.name] = _Row("submitted", since=event.elapsed)
        elif isinstance(event, ServiceProgress):
            row = self.rows.setdefault(event.service, _Row(since=event.elapsed))
            row.phase = event.phase
            row.updated = f"{event.updated}/{event.desired}"
            row.healthy = f"{event.healthy}/{event.desired}"
            row.message = event.message
            row.desired = event.desired
        elif isinstance(event, ServiceConverged) and row is not None:
            row.phase, row.message, row.ended = "converged", "", event.elapsed
            done = "ok" if row.desired is None else f"{row.desired}/{row.desired}"
            row.updated = row.healthy = done
        elif isinstance(event, ServiceFailed):
            row = self.rows.setdefault(event.service, _Row(since=event.elapsed))
            row.phase, row.ended = "FAILED", event.elapsed
            row.message = event.reason + (f" ({event.task_error})" if event.task_error else "")
        elif isinstance(event, ServiceSkipped):
            self.rows[event.service] = _Row("not started", message=event.reason)
        elif not isinstance(event, ApplyFinished):
            self.console.print(event.describe(), markup=False, highlight=False)
        self.live.refresh()

    def _table(self) -> Any:
        table = Table(box=None, pad_edge=False, header_style="bold")
        for header in ("SERVICE", "PHASE", "UPDATED", "HEALTHY", "ELAPSED", "MESSAGE"):
            table.add_column(header, no_wrap=header != "MESSAGE")
        for name, row in sorted(self.rows.items()):
            style = {"FAILED": "red", "converged": "green"}.get(row.phase, "")
            table.add_row(
                name,
                f"[{style}]{row.phase}[/]" if style else row.phase,
                row.updated,
                row.healthy,
                f"{max(0.0, (row.ended if row.ended is not None else self.now) - row.since):.1f}s",
                row.message,
            )
        return table

    def close(self) -> None:
        self.live.refresh()
        self.live.stop()


def make_view(*, as_json: bool, no_color: bool) -> EventView:
    """JSON lines with --json, a live table on a TTY, plain lines otherwise."""
    if as_json:
        return JsonLinesView()
    if sys.stdout.isatty():
        return LiveView(make_console(no_color=no_color))
    return PlainView()


def summary_lines(outcome: ApplyOutcome) -> list[str]:
    """The final account: outcome, duration, and each service's state."""
    lines = [
        f"{outcome.outcome.value}: {outcome.changed} change(s) submitted in "
        f"{outcome.duration:.1f}s (exit {int(outcome.exit_code)})"
    ]
    if outcome.message:
        lines.append(f"  {outcome.message}")
    for result in outcome.services:
        reason = f": {result.reason}" if result.reason else ""
        lines.append(f"  {result.name} ({result.effect}): {result.status.value}{reason}")
    return lines
