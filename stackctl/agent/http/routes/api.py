"""The JSON API (``/api/v1/...``) and the git webhook (``POST /hooks/git``).

Both live here because they share the runs: a webhook delivery and a
``POST .../sync`` each start a run, and ``GET /api/v1/runs/ID`` follows it.
Schemas of every answer: schemas/agent-api.schema.json (docs/agent.md "JSON API").
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from stackctl import api
from stackctl.agent import controls
from stackctl.agent.http import webhooks
from stackctl.agent.http.routing import HTTPError, Request, Response, Router, RouteSetup
from stackctl.agent.http.runs import Run, RunStore
from stackctl.agent.loop import Agent, StackSchedule
from stackctl.agent.state import AgentState, state_from_labels
from stackctl.engine.agent_state import list_state_labels
from stackctl.engine.client import EngineClient
from stackctl.errors import StackctlError
from stackctl.json_documents import history_document

MAX_WAIT = 600.0  # longest ?wait= a client may ask for, in seconds


class _Engine:
    """One engine connection for the API's threads, made on first use, redone after errors."""

    def __init__(self, agent: Agent) -> None:
        self._agent = agent
        self._client: EngineClient | None = None
        self._lock = threading.Lock()

    def call(self, what: Callable[[EngineClient], Any]) -> Any:
        with self._lock:
            if self._client is None:
                try:
                    self._client = self._agent.new_client()
                except StackctlError as error:
                    raise HTTPError(503, f"engine: {error.message}") from None
            client = self._client
        try:
            return what(client)
        except StackctlError as error:
            with self._lock:
                self._client = None
            raise HTTPError(503, f"engine: {error.message}") from None


def register(router: Router, setup: RouteSetup) -> None:
    api = _Api(setup, RunStore(setup.agent), _Engine(setup.agent), webhooks.Deliveries())
    router.add("GET", "/api/v1/stacks", api.stacks)
    router.add("GET", "/api/v1/stacks/{name}", api.stack)
    router.add("GET", "/api/v1/stacks/{name}/history", api.history)
    for action in ("sync", *controls.ACTIONS):
        router.add("POST", f"/api/v1/stacks/{{name}}/{action}", api.control(action))
    router.add("GET", "/api/v1/runs/{id}", api.run)
    # public: a delivery proves itself with its signature (401 otherwise)
    router.add("POST", "/hooks/git", api.hook, public=True)


class _Api:
    def __init__(
        self, setup: RouteSetup, runs: RunStore, engine: _Engine, deliveries: webhooks.Deliveries
    ) -> None:
        self.agent = setup.agent
        self.runs = runs
        self.engine = engine
        self.deliveries = deliveries

    # -- stacks ----------------------------------------------------------------

    def _schedule(self, request: Request) -> StackSchedule:
        name = request.params["name"]
        schedule = self.agent.stacks.get(name)
        if schedule is None:
            raise HTTPError(404, f"this agent does not manage a stack named {name!r}")
        return schedule

    def _states(self) -> tuple[dict[str, AgentState], str | None]:
        """Every stack's agent state in the cluster (one engine call), or why not."""

        try:
            found = self.engine.call(list_state_labels)
        except HTTPError as error:
            return {}, error.message
        return {name: state_from_labels(labels) for name, labels in found.items()}, None

    def _stack_json(self, schedule: StackSchedule, state: AgentState | None) -> dict[str, Any]:
        config = schedule.config
        last = schedule.memory.last
        outcome = last.outcome if last else None
        drift: bool | None = None
        if outcome == "drift_detected":
            drift = True
        elif outcome in ("applied", "no_change"):
            drift = False
        next_in: float | None = None
        if not schedule.running:
            next_in = max(0.0, schedule.next_due - self.agent.clock())
        return {
            "name": config.name,
            "repo": schedule.git.shown,
            "branch": config.branch,
            "ref": config.ref,
            "files": list(config.files),
            "commit": (last.commit or None) if last else None,
            "revision": last.revision if last else None,
            "outcome": outcome,
            "message": (last.message or None) if last else None,
            "running": schedule.running,
            "passes": schedule.started,
            "paused": outcome == "paused",
            "suspended": state.suspended if state is not None else None,
            "drift": drift,
            "nextPassIn": None if next_in is None else round(next_in, 1),
            "nextPassAt": None
            if next_in is None
            else datetime.fromtimestamp(time.time() + next_in, UTC).isoformat(timespec="seconds"),
        }

    def stacks(self, setup: RouteSetup, request: Request) -> Response:
        states, problem = self._states()
        items = [
            self._stack_json(s, states.get(name, AgentState()) if problem is None else None)
            for name, s in self.agent.stacks.items()
        ]
        return Response.json({"stacks": items, "engineError": problem}, kind="AgentStackList")

    def stack(self, setup: RouteSetup, request: Request) -> Response:
        schedule = self._schedule(request)
        states, problem = self._states()
        state = states.get(schedule.config.name, AgentState()) if problem is None else None
        return Response.json(
            {"stack": self._stack_json(schedule, state), "engineError": problem},
            kind="AgentStack",
        )

    def history(self, setup: RouteSetup, request: Request) -> Response:
        name = self._schedule(request).config.name
        recorded = self.engine.call(lambda client: api.history(client, name))
        # the same document as `stackctl history --json` (kind History)
        document = history_document(name, recorded)
        body = {k: v for k, v in document.items() if k not in ("apiVersion", "kind")}
        return Response.json(body, kind=document["kind"])

    def control(self, action: str) -> Callable[[RouteSetup, Request], Response]:
        def handle(setup: RouteSetup, request: Request) -> Response:
            name = self._schedule(request).config.name
            state: AgentState | None = None
            if action != "sync":
                change = getattr(controls, action)
                state = self.engine.call(lambda client: change(client, name))
            setup.log(f"stackctl agent: stack {name}: {action} (api, from {request.client[0]})")
            if action == "suspend":
                assert state is not None
                return Response.json(
                    {"stack": name, "action": action, "suspended": state.suspended, "run": None},
                    kind="StackControl",
                )
            # sync, resume, retry: the stack passes now; the run tells how it ended
            run = self.runs.start([name], f"api {action}")
            return self._accepted(
                {
                    "stack": name,
                    "action": action,
                    "suspended": state.suspended if state is not None else None,
                    "run": self.runs.to_json(run),
                },
                "StackControl",
                run,
            )

        handle.__name__ = f"control_{action}"
        return handle

    # -- runs ------------------------------------------------------------------

    def _accepted(self, data: dict[str, Any], kind: str, run: Run) -> Response:
        return Response.json(
            data, kind=kind, status=202, headers={"Location": f"/api/v1/runs/{run.id}"}
        )

    def run(self, setup: RouteSetup, request: Request) -> Response:
        run_id = request.params["id"]
        wait = request.arg("wait")
        if wait is not None:
            try:
                seconds = min(max(float(wait), 0.0), MAX_WAIT)
            except ValueError:
                raise HTTPError(400, f"wait must be a number of seconds, not {wait!r}") from None
            found = self.runs.wait(run_id, seconds)
        else:
            found = self.runs.get(run_id)
        if found is None:
            raise HTTPError(404, f"no run {run_id!r} (runs are kept in memory, the newest 1000)")
        document = self.runs.to_json(found)
        # never a 2xx about a deploy that did not succeed: CI's `curl --fail` sees it
        status = 424 if document["succeeded"] is False else 200
        return Response.json(document, kind="Run", status=status)

    # -- webhooks --------------------------------------------------------------

    def hook(self, setup: RouteSetup, request: Request) -> Response:
        try:
            provider = webhooks.verify(setup.webhook_secret, request.headers, request.body)
            push = webhooks.parse(provider, request.headers, request.body)
        except webhooks.Rejected as error:
            # a wrong secret on the sender's side shows up here, not only in its UI
            setup.log(
                f"stackctl agent: webhook from {request.client[0]} refused "
                f"({error.status}): {error.message}"
            )
            return Response.json(
                {"status": error.status, "message": error.message},
                kind="Error",
                status=error.status,
            )
        stacks = webhooks.matching(push, (s.config for s in self.agent.stacks.values()))

        def create() -> str | None:
            if not stacks:
                return None
            return self.runs.start(stacks, f"webhook {provider}").id

        if push.delivery:
            first, run_id = self.deliveries.once(provider, push.delivery, create)
        else:
            first, run_id = True, create()
        run = self.runs.get(run_id) if run_id else None
        data: dict[str, Any] = {
            "provider": provider,
            "event": push.event,
            "delivery": push.delivery,
            "duplicate": not first,
            "ref": push.ref,
            "stacks": stacks if first or run is None else [s.stack for s in run.stacks],
            "run": self.runs.to_json(run) if run is not None else None,
        }
        if run is None:
            data["message"] = (
                f"no stack of this agent follows {push.ref} of this repository"
                if push.ref
                else f"{provider} event {push.event!r} does not trigger a pass"
            )
            return Response.json(data, kind="WebhookDelivery", status=200)
        setup.log(
            f"stackctl agent: webhook {provider} delivery {push.delivery or '-'}: "
            + (f"replay of run {run.id}" if not first else f"run {run.id}: {', '.join(stacks)}")
        )
        data["message"] = (
            "replayed delivery: already accepted as this run, not run again"
            if not first
            else "accepted: the stacks pass now; GET the run for its outcome"
        )
        return self._accepted(data, "WebhookDelivery", run)
