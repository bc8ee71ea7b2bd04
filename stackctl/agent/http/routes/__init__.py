"""Route modules: each module here with ``register(router, setup)`` is loaded by the server.

See ``stackctl.agent.http.routing`` for how to write one.
"""
