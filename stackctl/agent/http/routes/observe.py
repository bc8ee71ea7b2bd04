"""``/healthz``, ``/readyz``, ``/metrics`` and the status page ``/``.

Registered once at start: the metrics, the readiness probe and the status page
subscribe to the agent's pass and event listeners here, before the first pass.
``/healthz`` and ``/readyz`` are public (probes of load balancers and
orchestrators rarely carry tokens); ``/metrics`` and ``/`` show stack
messages and are behind the token like the API when the agent listens beyond
loopback.
"""

from __future__ import annotations

from stackctl.agent.http.routing import Request, Response, Router, RouteSetup
from stackctl.agent.observe import health, metrics, status_page


def register(router: Router, setup: RouteSetup) -> None:
    agent = setup.agent
    counters = metrics.AgentMetrics(agent.config.stacks)
    probe = health.ReadinessProbe(agent, agent.new_client)
    page = status_page.StatusPage(agent, agent.new_client)
    agent.add_pass_listener(counters.observe_pass)
    agent.add_pass_listener(probe.record_pass)
    agent.add_pass_listener(page.record_pass)
    agent.add_event_listener(counters.observe_event)

    def healthz(setup: RouteSetup, request: Request) -> Response:
        return Response.json({"status": "ok"}, kind="Health")

    def readyz(setup: RouteSetup, request: Request) -> Response:
        readiness = probe.check()
        return Response.json(
            {"ready": readiness.ready, "reasons": list(readiness.reasons)},
            kind="Readiness",
            status=200 if readiness.ready else 503,
        )

    def scrape(setup: RouteSetup, request: Request) -> Response:
        return Response(200, counters.exposition(), metrics.CONTENT_TYPE)

    def index(setup: RouteSetup, request: Request) -> Response:
        refresh = status_page.refresh_seconds(request.arg("refresh"))
        return Response.text(200, page.render(refresh), status_page.CONTENT_TYPE)

    router.add("GET", "/healthz", healthz, public=True)
    router.add("GET", "/readyz", readyz, public=True)
    router.add("GET", "/metrics", scrape)
    router.add("GET", "/", index)
