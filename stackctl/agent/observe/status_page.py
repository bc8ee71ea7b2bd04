"""``GET /``: a small read-only HTML page of every stack the agent watches.

Server-rendered, no JavaScript at all: a ``<meta http-equiv="refresh">``
reloads it. Every value that comes from git, the cluster or a pass (commit,
message, revision history) is HTML-escaped where it is written into the page,
so a commit message or error text holding markup shows as text.

What each stack shows comes from the agent's memory (its last pass: commit,
outcome, message, drift) plus two cluster reads per stack (its agent state,
for ``suspended``; its revision history), cached for ``CLUSTER_CACHE`` seconds
so a page left open, or many of them, costs the engine a bounded number of
calls.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape

from stackctl import api
from stackctl.agent.loop import Agent
from stackctl.agent.reconcile import PassResult
from stackctl.agent.state import state_from_labels
from stackctl.engine.agent_state import read_state_labels
from stackctl.engine.client import EngineClient
from stackctl.engine.revisions import RevisionSummary
from stackctl.errors import StackctlError

CLUSTER_CACHE = 5.0
HISTORY_SHOWN = 5
DEFAULT_REFRESH = 10
CONTENT_TYPE = "text/html; charset=utf-8"


@dataclass(frozen=True)
class ClusterView:
    """What the page reads from the cluster about one stack."""

    suspended: bool = False
    revisions: tuple[RevisionSummary, ...] = ()
    problem: str = ""  # why the cluster could not be read ("" when it could)


@dataclass(frozen=True)
class StackView:
    name: str
    source: str  # repo and what is followed
    last: PassResult | None
    ended_at: float | None  # unix time the last pass ended
    running: bool
    cluster: ClusterView


def refresh_seconds(query: str | None) -> int:
    """The page's self-refresh period: ``?refresh=N`` (2..3600) or the default."""
    try:
        wanted = int(query) if query else DEFAULT_REFRESH
    except ValueError:
        wanted = DEFAULT_REFRESH
    return max(2, min(wanted, 3600))


class StatusPage:
    """Builds the page; ``record_pass`` is a pass listener (when each stack last passed)."""

    def __init__(
        self,
        agent: Agent,
        connect: Callable[[], EngineClient],
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        cache: float = CLUSTER_CACHE,
    ) -> None:
        self._agent = agent
        self._connect = connect
        self._clock = clock
        self._wall = wall
        self._cache = cache
        self._ended: dict[str, float] = {}
        self._lock = threading.Lock()
        self._client: EngineClient | None = None
        self._views: dict[str, ClusterView] = {}
        self._read_at = -float("inf")

    def record_pass(self, result: PassResult) -> None:
        self._ended[result.stack] = self._wall()

    def _cluster(self) -> dict[str, ClusterView]:
        with self._lock:  # concurrent page loads share one round of reads
            if self._clock() - self._read_at >= self._cache:
                self._views = {name: self._read(name) for name in self._agent.stacks}
                self._read_at = self._clock()
            return self._views

    def _read(self, name: str) -> ClusterView:
        try:
            if self._client is None:
                self._client = self._connect()
            state = state_from_labels(read_state_labels(self._client, name))
            history = api.history(self._client, name)
        except StackctlError as error:
            if self._client is not None:
                self._client.close()
            self._client = None
            return ClusterView(problem=error.message)
        return ClusterView(state.suspended, history.revisions[-HISTORY_SHOWN:])

    def views(self) -> list[StackView]:
        cluster = self._cluster()
        return [
            StackView(
                name=name,
                source=f"{schedule.git.shown} ({schedule.config.tracking})",
                last=schedule.memory.last,
                ended_at=self._ended.get(name),
                running=schedule.running,
                cluster=cluster.get(name, ClusterView()),
            )
            for name, schedule in self._agent.stacks.items()
        ]

    def render(self, refresh: int = DEFAULT_REFRESH) -> str:
        return render_page(self.views(), now=self._wall(), refresh=refresh)


# -- rendering (pure) ------------------------------------------------------------------

_STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}
th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#f3f3f3} .mono{font-family:monospace}
.outcome-applied,.outcome-no_change{color:#176f2c}
.outcome-error,.outcome-failed,.outcome-rolled_back,.outcome-timed_out,.outcome-interrupted{color:#b00020;font-weight:bold}
.outcome-drift_detected,.outcome-paused,.outcome-held,.outcome-suspended{color:#8a5a00;font-weight:bold}
"""


def _ago(now: float, then: float | None) -> str:
    if then is None:
        return "never"
    seconds = max(0, int(now - then))
    if seconds < 120:
        return f"{seconds}s ago"
    if seconds < 7200:
        return f"{seconds // 60}m ago"
    return f"{seconds // 3600}h ago"


def _state(view: StackView) -> str:
    outcome = view.last.outcome if view.last else ""
    if view.cluster.suspended:
        return "suspended"
    if outcome in ("paused", "held"):
        return outcome
    return "running a pass" if view.running else "active"


def _drift(view: StackView) -> str:
    outcome = view.last.outcome if view.last else ""
    if outcome == "drift_detected":
        return "drifted"
    if outcome in ("applied", "no_change"):
        return "none"
    return "unknown"


def _time(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if value else ""


def _history(revisions: Sequence[RevisionSummary], problem: str) -> str:
    if problem:
        return f"<p>history unavailable: {escape(problem)}</p>"
    if not revisions:
        return "<p>no revisions yet</p>"
    rows = []
    for rev in reversed(revisions):
        outcome = rev.outcome.value if rev.outcome else "unfinished"
        commit = rev.git.commit[:12] if rev.git else ""
        note = f"rollback to {rev.rollback_to}" if rev.rollback_to is not None else rev.changes
        rows.append(
            "<tr>"
            f"<td>{rev.number}</td>"
            f"<td>{escape(_time(rev.created_at))}</td>"
            f'<td class="outcome-{escape(outcome)}">{escape(outcome)}</td>'
            f'<td class="mono">{escape(commit)}</td>'
            f"<td>{escape(rev.who)}</td>"
            f"<td>{escape(note)}</td>"
            "</tr>"
        )
    return (
        '<table class="history"><tr><th>Revision</th><th>Created</th><th>Outcome</th>'
        "<th>Commit</th><th>By</th><th>Changes</th></tr>" + "".join(rows) + "</table>"
    )


def _stack(view: StackView, now: float) -> str:
    last = view.last
    outcome = last.outcome if last else "pending"
    commit = last.commit[:12] if last and last.commit else ""
    message = last.message if last else "no pass has ended yet"
    name = escape(view.name)
    return (
        f'<section class="stack" id="stack-{name}">'
        f"<h2>{name}</h2>"
        '<table class="summary"><tr><th>Source</th><th>Commit</th><th>Outcome</th>'
        "<th>Message</th><th>Drift</th><th>State</th><th>Last pass</th></tr><tr>"
        f"<td>{escape(view.source)}</td>"
        f'<td class="mono commit">{escape(commit)}</td>'
        f'<td class="outcome outcome-{escape(outcome)}">{escape(outcome)}</td>'
        f'<td class="message">{escape(message)}</td>'
        f'<td class="drift">{_drift(view)}</td>'
        f'<td class="state">{_state(view)}</td>'
        f"<td>{_ago(now, view.ended_at)}</td>"
        "</tr></table>"
        f"<h3>Recent revisions of {name}</h3>"
        f"{_history(view.cluster.revisions, view.cluster.problem)}"
        "</section>"
    )


def render_page(views: Sequence[StackView], *, now: float, refresh: int) -> str:
    """The whole page; every dynamic value escaped."""
    stamp = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    body = "".join(_stack(view, now) for view in views) or "<p>no stacks configured</p>"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="refresh" content="{int(refresh)}">'
        "<title>stackctl agent</title>"
        f"<style>{_STYLE}</style></head><body>"
        "<h1>stackctl agent</h1>"
        f'<p class="generated">{len(views)} stack(s); generated {stamp}; '
        f"refreshes every {int(refresh)}s</p>"
        f"{body}</body></html>\n"
    )
