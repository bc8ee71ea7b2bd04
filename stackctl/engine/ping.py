"""A cheap liveness probe of the engine: ``GET /_ping`` with a short timeout.

The agent's ``/readyz`` asks it; the client's own default timeout (60s) is
right for a rollout's calls but not for a health probe that a load balancer
or Prometheus waits on.
"""

from __future__ import annotations

from stackctl.engine.client import EngineClient, engine_errors
from stackctl.errors import EngineError


def ping(client: EngineClient, timeout: float) -> None:
    """Return when the engine answers ``/_ping`` with OK; ``EngineError`` otherwise."""
    api = client.api
    with engine_errors(client.endpoint, "ping"):
        # _get/_url are the SDK's request helpers; passing timeout overrides the
        # client's default for this one call only.
        response = api._get(api._url("/_ping"), timeout=timeout)
        response.raise_for_status()
        if response.text.strip() != "OK":
            raise EngineError(f"the Docker engine answered /_ping with {response.text[:80]!r}")
