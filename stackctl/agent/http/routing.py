"""Requests, responses and the router of the agent's HTTP server.

How to add a route
------------------
Put a module in ``stackctl/agent/http/routes/`` with a ``register`` function;
the server imports every module there at start (sorted by name) and calls it::

    # stackctl/agent/http/routes/hello.py
    from stackctl.agent.http.routing import Request, Response, Router, RouteSetup

    def register(router: Router, setup: RouteSetup) -> None:
        # one-time work here: setup.agent.add_pass_listener(...), stores, ...
        router.add("GET", "/hello/{name}", hello, public=True)

    def hello(setup: RouteSetup, request: Request) -> Response:
        return Response.json({"hello": request.params["name"]}, kind="Hello")

- ``pattern``: literal segments and ``{name}`` placeholders (one path segment
  each, percent-decoded into ``request.params``). No two routes may share a
  method and pattern.
- A handler gets the ``RouteSetup`` (``setup.agent`` is the running ``Agent``:
  ``stacks``, ``add_pass_listener``, ``add_event_listener``, ``request_sync``)
  and the ``Request``; it returns a ``Response``. It runs on the request's own
  thread: it must be thread-safe and must not block the agent's passes.
- ``public=False`` (the default) puts the route behind the bearer token when
  the agent listens on a non-loopback address (docs/agent.md "HTTP
  endpoints"); ``public=True`` is for routes that are safe for anyone who can
  reach the port (``/healthz``) or authenticate the request themselves
  (signed webhooks).
- An exception in a handler becomes a 500 JSON error without details (logged by
  the agent); ``HTTPError(status, message)`` gives the client a located answer.
- Every JSON body carries ``apiVersion: stackctl/v1`` and a ``kind``
  (``Response.json`` adds them).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

if TYPE_CHECKING:
    from stackctl.agent.loop import Agent

API_VERSION = "stackctl/v1"
JSON_TYPE = "application/json"


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # without the query string, not decoded
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]  # names lower-cased
    body: bytes
    client: tuple[str, int]  # the peer's address and port
    params: Mapping[str, str] = field(default_factory=dict)  # the pattern's {name} values

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def arg(self, name: str) -> str | None:
        """The first value of query parameter ``name``."""
        values = self.query.get(name)
        return values[0] if values else None

    def json(self) -> Any:
        """The body as JSON; ``HTTPError(400)`` when it is not."""
        try:
            return json.loads(self.body or b"null")
        except (ValueError, UnicodeDecodeError) as error:
            raise HTTPError(400, f"the body is not JSON: {error}") from None


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def json(
        cls,
        data: Mapping[str, Any],
        *,
        kind: str,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """A JSON document with ``apiVersion`` and ``kind`` first."""
        document = {"apiVersion": API_VERSION, "kind": kind, **data}
        body = (json.dumps(document, indent=2, sort_keys=False) + "\n").encode()
        return cls(status, body, JSON_TYPE, dict(headers or {}))

    @classmethod
    def text(
        cls, status: int, text: str, content_type: str = "text/plain; charset=utf-8"
    ) -> Response:
        return cls(status, text.encode(), content_type)


def error_response(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    return Response.json(
        {"status": status, "message": message}, kind="Error", status=status, headers=headers
    )


class HTTPError(Exception):
    """Raised by a handler: the client gets ``status`` and ``message`` as an Error document."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


@dataclass(frozen=True)
class RouteSetup:
    """What ``register`` functions and handlers share: the agent and the server's secrets."""

    agent: Agent
    webhook_secret: bytes | None = None  # None: no secret configured (every delivery 401)
    # the agent's log (stderr): one line per event an operator should see; never a secret
    log: Callable[[str], None] = lambda line: None


Handler = Callable[[RouteSetup, Request], Response]
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class Route:
    method: str
    pattern: str
    handler: Handler
    public: bool
    regex: re.Pattern[str]


@dataclass(frozen=True)
class Match:
    route: Route | None
    params: Mapping[str, str]
    allowed: tuple[str, ...]  # methods the path answers to (for 405)


def _compile(pattern: str) -> re.Pattern[str]:
    if not pattern.startswith("/"):
        raise ValueError(f"route pattern must start with '/': {pattern!r}")
    parts: list[str] = []
    position = 0
    for found in _PLACEHOLDER.finditer(pattern):
        parts.append(re.escape(pattern[position : found.start()]))
        parts.append(f"(?P<{found.group(1)}>[^/]+)")
        position = found.end()
    parts.append(re.escape(pattern[position:]))
    return re.compile("".join(parts) + r"\Z")


class Router:
    """Method + path pattern -> handler (see the module docstring)."""

    def __init__(self) -> None:
        self._routes: list[Route] = []

    @property
    def routes(self) -> tuple[Route, ...]:
        return tuple(self._routes)

    def add(self, method: str, pattern: str, handler: Handler, *, public: bool = False) -> None:
        method = method.upper()
        if any(r.method == method and r.pattern == pattern for r in self._routes):
            raise ValueError(f"route {method} {pattern} is registered twice")
        self._routes.append(Route(method, pattern, handler, public, _compile(pattern)))

    def match(self, method: str, path: str) -> Match:
        """The route for ``method path``; ``route=None`` with ``allowed`` for 404/405."""
        allowed: list[str] = []
        for route in self._routes:
            found = route.regex.match(path)
            if found is None:
                continue
            if route.method == method or (method == "HEAD" and route.method == "GET"):
                params = {k: unquote(v) for k, v in found.groupdict().items()}
                return Match(route, params, ())
            allowed.append(route.method)
        return Match(None, {}, tuple(sorted(set(allowed))))


def with_params(request: Request, params: Mapping[str, str]) -> Request:
    return replace(request, params=dict(params))
