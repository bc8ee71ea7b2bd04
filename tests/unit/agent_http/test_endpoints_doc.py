"""docs/agent.md's "Endpoints at a glance" lists exactly the routes the server registers.

The router is the one the agent builds at start (every module of
``stackctl/agent/http/routes/``), so a new route without a row, a row for a route
that is gone, or a route whose access (public or behind the token) differs from
the table fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

from stackctl.agent.config import parse_config
from stackctl.agent.http.routing import RouteSetup
from stackctl.agent.http.server import build_router
from stackctl.agent.loop import Agent

DOC = Path(__file__).resolve().parents[3] / "docs" / "agent.md"
ROW = re.compile(r"^\| (GET|POST|PUT|DELETE|PATCH) \| `([^`]+)` \| (\w+) \|")
CONFIG = 'stacks:\n  - {name: shop, repo: "https://git.example.com/deploy.git", files: [a.yml]}\n'


def documented() -> dict[tuple[str, str], str]:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("### Endpoints at a glance", 1)[1].split("\n### ", 1)[0]
    rows = [ROW.match(line) for line in section.splitlines()]
    return {(m.group(1), m.group(2)): m.group(3) for m in rows if m}


def registered() -> dict[tuple[str, str], str]:
    agent = Agent(parse_config(CONFIG, "agent.yml"), connect=lambda: None, out=print)  # type: ignore[arg-type]
    router = build_router(RouteSetup(agent))
    return {(r.method, r.pattern): "public" if r.public else "token" for r in router.routes}


def test_the_endpoint_table_lists_every_registered_route_with_its_access() -> None:
    table = documented()
    assert len(table) >= 10, table  # the section was found and parsed
    routes = registered()
    # the webhook is public to the router (it checks its own signature): "signed" in the doc
    table = {key: "public" if access == "signed" else access for key, access in table.items()}
    assert set(table) == set(routes), (
        f"registered but not in docs/agent.md: {sorted(set(routes) - set(table))}; "
        f"in docs/agent.md but not registered: {sorted(set(table) - set(routes))}"
    )
    assert table == routes
