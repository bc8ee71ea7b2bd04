"""A running agent's ``/metrics``, read through prometheus-client's own parser."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from support.agent_process import RunningAgent

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape_body(agent: RunningAgent) -> str:
    """The /metrics body, after checking the answer is the text exposition format."""
    reply = agent.call("GET", "/metrics")
    assert reply.status == 200, reply.body
    assert reply.headers["Content-Type"].startswith("text/plain; version=")
    return reply.body.decode()


def parse(body: str) -> tuple[Samples, set[str]]:
    """Samples by (name, sorted labels), and every family and sample name."""
    samples: Samples = {}
    names = set()
    for family in text_string_to_metric_families(body):
        names.add(family.name)
        for sample in family.samples:
            names.add(sample.name)
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples, names


def scrape(agent: RunningAgent) -> tuple[Samples, set[str]]:
    return parse(scrape_body(agent))


def value(samples: Samples, name: str, stack: str, **labels: str) -> float:
    return samples[(name, tuple(sorted({"stack": stack, **labels}.items())))]
