"""What the agent shows about itself: Prometheus metrics, health and readiness, the status page.

Each module is fed from the ``Agent``'s pass and event listeners (never from
log lines) and is served by the agent's HTTP server (``stackctl.agent.http``).
"""
