"""The agent's HTTP surface: a small router and server on the standard library.

``routing`` holds the request/response types and the router (read its docstring
to add a route); ``server`` binds ``listen`` from agent.yml and serves the routes
that the modules of ``routes/`` register.
"""
