"""Metrics, readiness and the status page, fed with pass results (no engine, no HTTP)."""

from __future__ import annotations

import json
import threading

from prometheus_client.parser import text_string_to_metric_families

from stackctl.agent.config import parse_config
from stackctl.agent.http.routes import observe
from stackctl.agent.http.routing import Request, Response, Router, RouteSetup
from stackctl.agent.loop import Agent
from stackctl.agent.observe.health import ReadinessProbe
from stackctl.agent.observe.metrics import AgentMetrics
from stackctl.agent.observe.status_page import (
    ClusterView,
    StackView,
    refresh_seconds,
    render_page,
)
from stackctl.agent.reconcile import PassResult
from stackctl.errors import EngineError

CONFIG = (
    "interval: 10s\nstacks:\n"
    "  - {name: a, repo: x, files: [a.yml]}\n"
    "  - {name: b, repo: x, files: [a.yml], interval: 1m}\n"
)


def _agent() -> Agent:
    def no_engine() -> None:
        raise EngineError("cannot reach the Docker engine at unix:///nowhere")

    config = parse_config(CONFIG, "agent.yml")
    return Agent(config, connect=no_engine, out=lambda line: None)  # type: ignore[arg-type]


def _samples(metrics: AgentMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = metrics.exposition().decode()
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_every_stack_has_its_series_at_zero_before_any_pass() -> None:
    metrics = AgentMetrics(_agent().config.stacks, wall=lambda: 1000.0)
    samples = _samples(metrics)
    assert samples[("stackctl_agent_passes_total", (("outcome", "applied"), ("stack", "a")))] == 0
    assert samples[("stackctl_agent_git_errors_total", (("stack", "b"),))] == 0
    assert samples[("stackctl_agent_interval_seconds", (("stack", "b"),))] == 60
    assert samples[("stackctl_agent_last_success_timestamp_seconds", (("stack", "a"),))] == 0


def test_passes_outcomes_errors_and_drift_are_counted_from_pass_results() -> None:
    metrics = AgentMetrics(_agent().config.stacks, wall=lambda: 1234.0)
    metrics.observe_pass(PassResult("a", "applied", "c1", duration=0.3, api_calls=9, api_writes=4))
    metrics.observe_pass(PassResult("a", "error", message="git: x", error_kind="git"))
    metrics.observe_pass(PassResult("a", "error", message="error: y", error_kind="engine"))
    metrics.observe_pass(PassResult("b", "drift_detected", "c2", duration=0.1, api_calls=3))
    s = _samples(metrics)
    a, b = (("stack", "a"),), (("stack", "b"),)
    assert s[("stackctl_agent_passes_total", (("outcome", "applied"), ("stack", "a")))] == 1
    assert s[("stackctl_agent_passes_total", (("outcome", "error"), ("stack", "a")))] == 2
    assert s[("stackctl_agent_pass_duration_seconds_count", a)] == 3
    assert s[("stackctl_agent_pass_duration_seconds_sum", a)] == 0.3
    assert s[("stackctl_agent_git_errors_total", a)] == 1
    assert s[("stackctl_agent_engine_errors_total", a)] == 1
    assert s[("stackctl_agent_engine_calls_total", a)] == 9
    assert s[("stackctl_agent_engine_writes_total", a)] == 4
    assert s[("stackctl_agent_last_apply_timestamp_seconds", a)] == 1234
    assert s[("stackctl_agent_last_success_timestamp_seconds", a)] == 1234
    assert s[("stackctl_agent_outcome", (("outcome", "error"), ("stack", "a")))] == 1
    assert s[("stackctl_agent_outcome", (("outcome", "applied"), ("stack", "a")))] == 0
    assert s[("stackctl_agent_drift", b)] == 1
    assert s[("stackctl_agent_last_success_timestamp_seconds", b)] == 0
    metrics.observe_pass(PassResult("b", "applied", "c2"))
    assert _samples(metrics)[("stackctl_agent_drift", b)] == 0


def test_two_agents_never_share_counters() -> None:
    first = AgentMetrics(_agent().config.stacks)
    second = AgentMetrics(_agent().config.stacks)
    first.observe_pass(PassResult("a", "applied"))
    key = ("stackctl_agent_passes_total", (("outcome", "applied"), ("stack", "a")))
    assert (_samples(first)[key], _samples(second)[key]) == (1, 0)


def test_a_connect_failure_is_an_engine_error_pass() -> None:
    result = _agent().run_pass("a")
    assert (result.outcome, result.error_kind) == ("error", "engine")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_readiness_names_the_engine_and_each_stale_stack_and_caches_the_ping() -> None:
    agent = _agent()
    clock = Clock()
    connects: list[int] = []

    def connect() -> None:
        connects.append(1)
        raise EngineError("cannot reach the Docker engine at tcp://127.0.0.1:1")

    probe = ReadinessProbe(agent, connect, clock=clock, engine_cache=3.0)  # type: ignore[arg-type]
    first = probe.check()
    assert not first.ready
    assert first.reasons == ("engine: cannot reach the Docker engine at tcp://127.0.0.1:1",)
    probe.check()
    assert len(connects) == 1  # cached: a scrape storm costs one ping per few seconds
    clock.now += 31  # three intervals of a (10s) have passed without a pass
    reasons = probe.check().reasons
    assert len(connects) == 2
    assert reasons[1:] == ("stack a: no pass has ended 31s ago, more than 3 intervals (30s)",)
    probe.record_pass(PassResult("a", "no_change"))
    assert probe.stale_stacks() == []
    clock.now += 200
    agent.stacks["b"].running = True  # a long rollout is work, not silence
    assert probe.stale_stacks() == [
        "stack a: the last pass ended 200s ago, more than 3 intervals (30s)"
    ]
    assert not probe.check().ready


def _view(message: str, outcome: str = "error") -> StackView:
    return StackView(
        name="shop",
        source="git://h/deploy.git (branch main)",
        last=PassResult("shop", outcome, "0123456789abcdef", message),
        ended_at=90.0,
        running=False,
        cluster=ClusterView(),
    )


def test_the_page_escapes_every_value_from_git_and_passes() -> None:
    page = render_page([_view('<script>alert("x")</script> & <b>bold</b>')], now=100.0, refresh=7)
    assert "<script>" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in page
    assert '<meta http-equiv="refresh" content="7">' in page
    assert "0123456789ab" in page and "10s ago" in page


def test_the_refresh_period_is_clamped() -> None:
    assert [refresh_seconds(q) for q in (None, "", "abc", "0", "5", "99999")] == [
        10,
        10,
        10,
        2,
        5,
        3600,
    ]


def _call(
    router: Router, setup: RouteSetup, path: str, query: dict[str, list[str]] | None = None
) -> Response:
    match = router.match("GET", path)
    assert match.route is not None, path
    request = Request("GET", path, query or {}, {}, b"", ("127.0.0.1", 1))
    return match.route.handler(setup, request)


def test_the_routes_answer_from_the_agent_they_are_registered_with() -> None:
    agent = _agent()
    router, setup = Router(), RouteSetup(agent)
    observe.register(router, setup)
    assert {(r.pattern, r.public) for r in router.routes} == {
        ("/healthz", True),
        ("/readyz", True),
        ("/metrics", False),
        ("/", False),
    }
    assert _call(router, setup, "/healthz").status == 200
    agent.run_pass("a")  # the listeners registered above see it (an engine error)
    ready = _call(router, setup, "/readyz")
    body = json.loads(ready.body)
    assert (ready.status, body["kind"], body["ready"]) == (503, "Readiness", False)
    assert body["reasons"][0].startswith("engine: cannot reach the Docker engine")
    text = _call(router, setup, "/metrics").body.decode()
    assert 'stackctl_agent_engine_errors_total{stack="a"} 1.0' in text
    page = _call(router, setup, "/", {"refresh": ["3"]})
    assert page.content_type.startswith("text/html")
    assert b'content="3"' in page.body and b"history unavailable" in page.body


def test_an_engine_that_never_answers_is_not_ready_without_holding_the_probe() -> None:
    released = threading.Event()
    calls: list[int] = []

    def hanging_connect() -> None:
        calls.append(1)
        released.wait(30)  # an engine that accepts the connection and says nothing
        raise EngineError("cannot reach the Docker engine at tcp://127.0.0.1:1")

    probe = ReadinessProbe(_agent(), hanging_connect, ping_timeout=0.1)  # type: ignore[arg-type]
    try:
        assert probe.engine_problem() == "engine: no answer within 1.1s"
        assert probe.engine_problem() == "engine: no answer within 1.1s"
        assert len(calls) == 1  # the second probe waited for the same check
    finally:
        released.set()
