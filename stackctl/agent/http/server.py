"""The agent's HTTP server: ``http.server.ThreadingHTTPServer`` serving a ``Router``.

No web framework: the surface is a handful of JSON and text routes, and the
standard library's threading server gives one thread per request, which keeps a
slow client from blocking another and never touches the pass threads.

Binding: ``listen`` from agent.yml (``127.0.0.1:8476`` by default; port 0 picks a
free port, printed at start). On a loopback address every route is open to the
local machine. On any other address the routes not registered ``public`` need
``Authorization: Bearer <token>`` with the token from ``api_token_file``; without
that file the agent refuses to start.
"""

from __future__ import annotations

import errno
import hmac
import http.client
import importlib
import ipaddress
import json
import pkgutil
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from stackctl.agent.http import routes
from stackctl.agent.http.routing import (
    HTTPError,
    Request,
    Response,
    Router,
    RouteSetup,
    error_response,
    with_params,
)
from stackctl.errors import Location, StackctlError

if TYPE_CHECKING:
    from stackctl.agent.config import AgentConfig
    from stackctl.agent.loop import Agent

PROBE_TIMEOUT = 2.0  # seconds to ask a taken address whether an agent answers there
MAX_BODY = 1024 * 1024  # a push event with many commits stays well below this
MAX_SECRET = 4096
REQUEST_TIMEOUT = 30.0  # seconds a client may take to send its request


@dataclass(frozen=True)
class Listen:
    host: str
    port: int

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)

    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


def parse_listen(text: str) -> Listen:
    """``HOST:PORT`` (``[::1]:8476`` for IPv6; an empty host means every interface)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise StackctlError(f"listen: {text!r} is not HOST:PORT", hint="e.g. 127.0.0.1:8476")
    host = host.strip("[]") or "0.0.0.0"
    return Listen(host, int(port))


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and ``localhost``; everything else (0.0.0.0 too) is not."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def read_secret(path: str, what: str) -> bytes:
    """A token or secret file's content without surrounding whitespace; never echoed."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_SECRET + 1)
    except OSError as error:
        raise StackctlError(f"cannot read the {what} file {path}: {error.strerror}") from None
    value = raw.strip()
    if len(raw) > MAX_SECRET:
        raise StackctlError(f"the {what} file {path} is longer than {MAX_SECRET} bytes")
    if not value:
        raise StackctlError(f"the {what} file {path} is empty")
    return value


@dataclass(frozen=True)
class ServerSettings:
    listen: Listen
    token: bytes | None  # None: no token (only allowed on loopback)
    webhook_secret: bytes | None
    source: str = "agent.yml"  # the config file, for errors about listen
    listen_location: Location | None = None  # None: agent.yml does not set listen


def server_settings(config: AgentConfig) -> ServerSettings:
    """Check ``listen`` and read the token and webhook secret (before binding anything)."""
    listen = parse_listen(config.listen)
    token = read_secret(config.api_token_file, "api token") if config.api_token_file else None
    if token is None and not listen.loopback:
        raise StackctlError(
            f"{config.source}: listen {config.listen} is not a loopback address and "
            "api_token_file is not set: the agent's API would be open to the network",
            hint="set api_token_file (a file holding a bearer token), or listen on 127.0.0.1",
        )
    secret = (
        read_secret(config.webhook_secret_file, "webhook secret")
        if config.webhook_secret_file
        else None
    )
    return ServerSettings(listen, token, secret, config.source, config.listen_location)


def listen_error(settings: ServerSettings, error: OSError) -> StackctlError:
    """Why the address cannot be bound, located at agent.yml's ``listen`` (or the file,
    when the default is in use): most often a second agent on the same host."""
    listen = settings.listen
    address = listen.url().removeprefix("http://")
    default = "" if settings.listen_location else " (the default: the file sets no listen)"
    other = Listen(listen.host, listen.port + 1 if listen.port < 65535 else listen.port - 1)
    example = other.url().removeprefix("http://")
    where = settings.listen_location or Location(settings.source)
    if error.errno == errno.EADDRINUSE:
        holder = (
            "another stackctl agent (it answers /healthz there)"
            if agent_answers(listen)
            else "another process"
        )
        return StackctlError(
            f"{address}{default} is already in use by {holder}; this agent cannot serve "
            "its API, webhooks and metrics there, so it does not start (no pass was run)",
            hint="every agent on a host needs its own listen address: set listen in "
            f"{settings.source} to another port (e.g. listen: {example}), "
            "or to port 0 for a free one (printed at start)",
            location=where,
            path="listen",
        )
    return StackctlError(
        f"cannot listen on {address}{default}: {error.strerror or error}",
        hint=f"change listen in {settings.source}",
        location=where,
        path="listen",
    )


def agent_answers(listen: Listen) -> bool:
    """Whether a stackctl agent answers ``GET /healthz`` on ``listen`` (a short probe)."""
    host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(listen.host, listen.host)
    connection = http.client.HTTPConnection(host, listen.port, timeout=PROBE_TIMEOUT)
    try:
        connection.request("GET", "/healthz")
        document = json.loads(connection.getresponse().read(MAX_SECRET))
    except (OSError, ValueError, http.client.HTTPException):
        return False
    finally:
        connection.close()
    return isinstance(document, dict) and document.get("kind") == "Health"


def build_router(setup: RouteSetup) -> Router:
    """Every route of every module in ``stackctl.agent.http.routes`` (sorted by name)."""
    router = Router()
    for module in sorted(pkgutil.iter_modules(routes.__path__), key=lambda m: m.name):
        loaded = importlib.import_module(f"{routes.__name__}.{module.name}")
        register: Callable[[Router, RouteSetup], None] | None = getattr(loaded, "register", None)
        if register is not None:
            register(router, setup)
    return router


class AgentServer:
    """Serves ``router`` on ``settings.listen`` from a background thread."""

    def __init__(
        self,
        settings: ServerSettings,
        router: Router,
        setup: RouteSetup,
        *,
        log: Callable[[str], None],
    ) -> None:
        self.settings = settings
        self.router = router
        self.setup = setup
        self.log = log
        handler = type("Handler", (_Handler,), {"server_app": self})
        server_class = _IPv6Server if ":" in settings.listen.host else ThreadingHTTPServer
        try:
            self._httpd = server_class((settings.listen.host, settings.listen.port), handler)
        except OSError as error:  # the server closed its socket already
            raise listen_error(settings, error) from None
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def listen(self) -> Listen:
        """The bound address (the real port when ``listen`` asked for port 0)."""
        host, port = self._httpd.server_address[:2]
        return Listen(str(host), int(port))

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="http", kwargs={"poll_interval": 0.2}
        )
        self._thread.daemon = True
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting, close the socket (requests in flight finish on their threads)."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
        self._httpd.server_close()

    # -- one request -------------------------------------------------------------

    def respond(self, request: Request) -> Response:
        match = self.router.match(request.method, request.path)
        if match.route is None:
            if match.allowed:
                return error_response(
                    405,
                    f"{request.method} is not allowed on {request.path}",
                    {"Allow": ", ".join(match.allowed)},
                )
            return error_response(404, f"no such endpoint: {request.path}")
        if not match.route.public and not self._authorized(request):
            return error_response(
                401,
                "this endpoint needs 'Authorization: Bearer <token>' (api_token_file)",
                {"WWW-Authenticate": 'Bearer realm="stackctl-agent"'},
            )
        try:
            return match.route.handler(self.setup, with_params(request, match.params))
        except HTTPError as error:
            return error_response(error.status, error.message, error.headers)
        except Exception as error:  # a handler bug must not kill the server or leak details
            self.log(
                f"stackctl agent: http {request.method} {request.path} failed: "
                f"{type(error).__name__}: {error}"
            )
            return error_response(500, "internal error (see the agent's log)")

    def _authorized(self, request: Request) -> bool:
        token = self.settings.token
        if token is None:
            return self.settings.listen.loopback
        scheme, _, given = (request.header("authorization") or "").partition(" ")
        if scheme.lower() != "bearer":
            return False
        return hmac.compare_digest(given.strip().encode(), token)


class _IPv6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    server_app: AgentServer
    timeout = REQUEST_TIMEOUT
    server_version = "stackctl-agent"
    sys_version = ""

    def do_GET(self) -> None:
        self._handle()

    def do_HEAD(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass  # no access log: the agent's log is about stacks (errors are logged)

    def _handle(self) -> None:
        response = self._response()
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def _response(self) -> Response:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return error_response(400, "bad Content-Length")
        if length < 0:
            return error_response(400, "bad Content-Length")
        if length > MAX_BODY:
            self.close_connection = True
            return error_response(413, f"the body is larger than {MAX_BODY} bytes")
        body = self.rfile.read(length) if length else b""
        if len(body) < length:
            return error_response(400, "the body ended early")
        parts = urlsplit(self.path)
        client = self.client_address
        request = Request(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            client=(str(client[0]), int(client[1])),
        )
        return self.server_app.respond(request)


def start_server(agent: Agent, config: AgentConfig, *, log: Callable[[str], None]) -> AgentServer:
    """Check the settings, bind, register every route and serve (the agent process calls it)."""
    settings = server_settings(config)
    setup = RouteSetup(agent, settings.webhook_secret, log)
    server = AgentServer(settings, build_router(setup), setup, log=log)
    server.start()
    return server
