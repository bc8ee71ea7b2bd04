"""The agent's /healthz, /readyz, /metrics and status page, over real HTTP.

A real ``stackctl agent --config`` process, the real Swarm, a real git
repository served by ``git daemon``, and Debian's chromium for the page. The
agent reaches the engine through ``EngineProxy`` (``DOCKER_HOST`` at a TCP
port the test owns), so "the engine stops" means closing that proxy: the
shared system dockerd keeps running for everyone else.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from support.agent_metrics import scrape, value
from support.agent_process import RunningAgent
from support.browser import Browser
from support.engine_proxy import EngineProxy
from support.git_repo import GitDaemon, GitRepo, free_port, stack_entry, web_stack, write_config
from support.testkit import REPO_ROOT, wait_until

pytestmark = pytest.mark.usefixtures("demo_images")

FILES = ["app/stack.yml"]
ALERTS = REPO_ROOT / "docs" / "examples" / "prometheus-alerts.yml"
# An invalid stack whose error message carries markup: the page must show it as text.
MARKUP = "<script>document.title='owned'</script>"
BAD_STACK = f'services:\n  web:\n    image: stackctl-demo/web:1\n    "{MARKUP}": 1\n'


def outcomes(agent: RunningAgent, stack: str) -> list[str]:
    return [p["outcome"] for p in agent.passes() if p["stack"] == stack]


@pytest.fixture
def proxy() -> Iterator[EngineProxy]:
    served = EngineProxy()
    yield served
    served.close()


@pytest.fixture
def browser() -> Iterator[Browser]:
    opened = Browser()
    yield opened
    opened.close()


def start(config: Path, monkeypatch: pytest.MonkeyPatch, docker_host: str | None) -> RunningAgent:
    if docker_host:
        monkeypatch.setenv("DOCKER_HOST", docker_host)
        monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
    return RunningAgent(config)


def test_metrics_readiness_and_status_page_follow_real_passes(
    repo: GitRepo,
    daemon: GitDaemon,
    proxy: EngineProxy,
    browser: Browser,
    stack_name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = repo.push({FILES[0]: web_stack("1")}, "v1")
    entry = stack_entry(stack_name, daemon.url("deploy.git"), FILES)
    config = write_config(
        tmp_path / "agent.yml", [entry], interval="2s", backoff_max="4s", listen="127.0.0.1:0"
    )
    agent = start(config, monkeypatch, proxy.url)
    try:
        health = agent.call("GET", "/healthz")
        assert health.status == 200
        assert health.json() == {"apiVersion": "stackctl/v1", "kind": "Health", "status": "ok"}

        # an apply, then an idle pass
        wait_until(
            lambda: "no_change" in outcomes(agent, stack_name),
            timeout=180,
            what="an applied pass followed by a no_change pass\n" + agent.logs(),
        )
        assert outcomes(agent, stack_name)[0] == "applied", agent.logs()
        ready = agent.call("GET", "/readyz")
        assert (ready.status, ready.json()["ready"], ready.json()["kind"]) == (
            200,
            True,
            "Readiness",
        ), ready.body
        samples, _ = scrape(agent)
        passes = "stackctl_agent_passes_total"
        assert value(samples, passes, stack_name, outcome="applied") == 1
        assert value(samples, passes, stack_name, outcome="no_change") >= 1
        ended = sum(
            v for (n, labels), v in samples.items() if n == passes and labels[1][1] == stack_name
        )
        assert value(samples, "stackctl_agent_pass_duration_seconds_count", stack_name) == ended
        assert value(samples, "stackctl_agent_last_apply_timestamp_seconds", stack_name) > 0
        assert value(samples, "stackctl_agent_last_success_timestamp_seconds", stack_name) >= (
            value(samples, "stackctl_agent_last_apply_timestamp_seconds", stack_name)
        )
        assert value(samples, "stackctl_agent_engine_writes_total", stack_name) > 0
        assert value(samples, "stackctl_agent_engine_calls_total", stack_name) > value(
            samples, "stackctl_agent_engine_writes_total", stack_name
        )
        assert value(samples, "stackctl_agent_drift", stack_name) == 0
        assert value(samples, "stackctl_agent_git_errors_total", stack_name) == 0
        assert value(samples, "stackctl_agent_engine_errors_total", stack_name) == 0

        # what a person sees: the stack's row and its history, in a real browser
        browser.open(f"http://127.0.0.1:{agent.port}/?refresh=2")
        text = browser.text()
        assert stack_name in text and first[:12] in text, text
        assert re.search(r"\bno_change\b", text), text
        assert re.search(rf"\b1\s+\S+ \S+ UTC\s+applied\s+{first[:12]}", text), text

        # a commit with invalid files whose error message holds markup: the open page
        # refreshes itself (no navigation from the test) and shows the markup as text
        browser.evaluate("window.__stillTheSamePage = true")
        bad = repo.push({FILES[0]: BAD_STACK}, "broken")
        browser.wait_for(
            lambda: (
                browser.evaluate("window.__stillTheSamePage") is None and MARKUP in browser.text()
            ),
            timeout=60,
            what="the page to refresh itself and show the error\n" + agent.logs(),
        )
        text = browser.text()
        assert bad[:12] in text and re.search(r"\berror\b", text), text
        assert browser.evaluate("document.querySelectorAll('script').length") == 0
        assert browser.evaluate("document.title") == "stackctl agent"
        samples, _ = scrape(agent)
        assert value(samples, passes, stack_name, outcome="error") >= 1
        assert value(samples, "stackctl_agent_git_errors_total", stack_name) == 0
        assert value(samples, "stackctl_agent_engine_errors_total", stack_name) == 0

        # the engine goes away: not ready, with the reason; passes count engine errors
        proxy.close()
        wait_until(
            lambda: agent.call("GET", "/readyz").status == 503,
            timeout=30,
            what="/readyz to answer 503 once the engine is gone",
        )
        reasons = agent.call("GET", "/readyz").json()["reasons"]
        assert any(r.startswith("engine: ") and proxy.url in r for r in reasons), reasons
        wait_until(
            lambda: value(scrape(agent)[0], "stackctl_agent_engine_errors_total", stack_name) > 0,
            timeout=60,
            what="an engine error counted\n" + agent.logs(),
        )
        assert agent.call("GET", "/healthz").status == 200  # alive all the same
        browser.wait_for(  # the page's cluster reads are cached for 5s; it refreshes
            lambda: "history unavailable" in browser.text(),
            timeout=30,
            what="the page to say the history is unavailable",
        )
        assert stack_name in browser.text()
        # (git errors are counted apart: the next test. A pass asks the engine for a
        # client before git, so with the engine gone git is never reached here.)

    finally:
        assert agent.stop() == 0, agent.logs()


def alert_metric_names() -> set[str]:
    rules = yaml.safe_load(ALERTS.read_text())
    exprs = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    assert exprs, "no alert rules"
    return {name for expr in exprs for name in re.findall(r"\bstackctl_[a-z_]+", str(expr))}


def test_a_stack_whose_passes_stop_makes_readyz_503_and_the_alert_rules_match_the_metrics(
    stack_name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A repository nobody serves: every pass is a git error, so the agent backs off
    # (1s, 2s, 4s, ...) and soon the stack's last pass is older than three intervals.
    dead = f"git://127.0.0.1:{free_port()}/deploy.git"
    config = write_config(
        tmp_path / "agent.yml",
        [stack_entry(stack_name, dead, FILES)],
        interval="1s",
        backoff_max="1m",
        git_timeout="10s",
        listen="127.0.0.1:0",
    )
    agent = start(config, monkeypatch, None)
    try:
        stale = f"stack {stack_name}: the last pass ended"

        def stale_reported() -> bool:
            reply = agent.call("GET", "/readyz")
            return reply.status == 503 and any(r.startswith(stale) for r in reply.json()["reasons"])

        wait_until(stale_reported, timeout=60, what="/readyz to report the stale stack")
        reasons = agent.call("GET", "/readyz").json()["reasons"]
        assert not any(r.startswith("engine") for r in reasons), reasons  # the engine is fine
        samples, names = scrape(agent)
        assert value(samples, "stackctl_agent_git_errors_total", stack_name) >= 2
        missing = alert_metric_names() - names
        assert not missing, f"{ALERTS.name} uses metrics /metrics does not have: {missing}"
    finally:
        assert agent.stop() == 0, agent.logs()
