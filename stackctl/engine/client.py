"""The connection to the Docker engine (the only module that builds a docker client).

``connect()`` resolves the endpoint (``contexts.resolve_endpoint``), pins the
Engine API to 1.41 (the oldest stackctl supports, and what Debian's 20.10
engine speaks), checks the node is a Swarm manager, and turns every way this
can fail into an ``EngineError`` with a hint. ``EngineClient`` is the typed
interface every engine-layer function takes; ``DockerEngineClient`` is the real
one and counts the Engine API calls made through it, total and by HTTP method,
so tests can assert call counts and ``-v`` can report them. ``ssh://`` engines are reached
through an ``ssh -L`` socket forward (``ssh_tunnel``), so no paramiko is needed.
"""

from __future__ import annotations

import os
import ssl
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import docker
import docker.errors
import docker.tls
import requests

from stackctl.engine.contexts import Endpoint, resolve_endpoint
from stackctl.engine.ssh_tunnel import SSHTunnel
from stackctl.errors import EngineError

API_VERSION = "1.41"
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class ApiCallCount:
    """Engine API calls made so far."""

    total: int
    writes: int
    by_method: Mapping[str, int]


class EngineClient(Protocol):
    """A connection to one Docker engine, as stackctl's engine layer uses it.

    ``connect()`` returns the real one (``DockerEngineClient``). The rollout does
    not see this interface: it drives a plan through the narrower
    ``stackctl.rollout.adapter.EngineAdapter`` (real: ``engine.writer.SwarmWriter``
    built on an ``EngineClient``; unit tests: an in-memory fake engine).
    """

    @property
    def api(self) -> docker.APIClient:
        """The docker SDK's low-level client: specs in and out as JSON-shaped dicts."""

    @property
    def endpoint(self) -> Endpoint:
        """Where the engine is and how it was chosen (for messages and hints)."""

    def api_calls(self) -> ApiCallCount:
        """Engine API calls made through this connection so far."""

    def close(self) -> None:
        """Close the connection (and its ssh tunnel, if any)."""


class DockerEngineClient:
    """A docker SDK ``APIClient`` plus the endpoint it talks to and a call counter.

    ``api`` is the low-level client: specs go to and come from the engine as
    plain JSON-shaped dicts, exactly the shape ``stackctl.core.model.state`` uses.
    """

    def __init__(
        self, api: docker.APIClient, endpoint: Endpoint, *, tunnel: SSHTunnel | None = None
    ) -> None:
        self.api = api
        self.endpoint = endpoint
        self._tunnel = tunnel
        self._calls: Counter[str] = Counter()
        self._count_lock = threading.Lock()
        original: Callable[..., Any] = api.request

        # Every SDK call (get/post/delete/...) goes through Session.request.
        def counting_request(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            with self._count_lock:  # registry lookups run on several threads at once
                self._calls[method.upper()] += 1
            return original(method, url, *args, **kwargs)

        api.request = counting_request

    def api_calls(self) -> ApiCallCount:
        by_method = dict(self._calls)
        writes = sum(n for m, n in by_method.items() if m not in _READ_METHODS)
        return ApiCallCount(total=sum(by_method.values()), writes=writes, by_method=by_method)

    def reset_api_calls(self) -> None:
        self._calls.clear()

    def close(self) -> None:
        self.api.close()
        if self._tunnel is not None:
            self._tunnel.close()

    def __enter__(self) -> DockerEngineClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _hint_for_unreachable(endpoint: Endpoint) -> str:
    if endpoint.host.startswith("unix://"):
        return (
            f"nothing answers on {endpoint.host} ({endpoint.source}). Start the engine "
            "(e.g. `sudo systemctl start docker`) or point DOCKER_HOST / --context at a "
            "running one."
        )
    return (
        f"check that the engine at {endpoint.host} ({endpoint.source}) is running and "
        "reachable, or point DOCKER_HOST / --context at another engine."
    )


def _explain(exc: BaseException, endpoint: Endpoint) -> EngineError:
    """Turn a connection-level failure into a user-facing EngineError."""
    text = str(exc)
    where = f"{endpoint.host} ({endpoint.source})"
    chain: list[BaseException] = []
    cursor: BaseException | None = exc
    while cursor is not None and len(chain) < 10:
        chain.append(cursor)
        cursor = cursor.__cause__ or cursor.__context__
    if isinstance(exc, docker.errors.TLSParameterError):
        return EngineError(
            f"TLS configuration for {where} is incomplete: {exc}",
            hint="DOCKER_CERT_PATH must hold ca.pem, cert.pem and key.pem",
        )
    if isinstance(exc, requests.exceptions.SSLError) or any(
        isinstance(e, ssl.SSLError) for e in chain
    ):
        return EngineError(
            f"TLS handshake with the Docker engine at {where} failed: {exc}",
            hint="check DOCKER_CERT_PATH (ca.pem, cert.pem, key.pem) and DOCKER_TLS_VERIFY; "
            "the engine's certificate must be signed by ca.pem and name this host",
        )
    if any(isinstance(e, PermissionError) for e in chain) or "Permission denied" in text:
        return EngineError(
            f"permission denied talking to the Docker engine at {where}",
            hint="run as a member of the `docker` group (or root), or use a context "
            "with access to the engine",
        )
    if "Connection aborted" in text and endpoint.host.startswith("tcp://") and not endpoint.tls:
        return EngineError(
            f"the Docker engine at {where} closed the connection",
            hint="it may require TLS: set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH",
        )
    return EngineError(
        f"cannot reach the Docker engine at {where}", hint=_hint_for_unreachable(endpoint)
    )


@contextmanager
def engine_errors(endpoint: Endpoint | None = None, action: str = "talk to") -> Iterator[None]:
    """Map docker SDK / transport exceptions raised inside the block to EngineError."""
    try:
        yield
    except EngineError:
        raise
    except docker.errors.APIError as exc:
        explanation = exc.explanation or str(exc)
        if isinstance(explanation, bytes):
            explanation = explanation.decode(errors="replace")
        raise EngineError(f"the Docker engine refused to {action}: {explanation}") from None
    except (requests.exceptions.RequestException, docker.errors.DockerException, OSError) as exc:
        if endpoint is None:
            raise EngineError(f"cannot {action} the Docker engine: {exc}") from None
        raise _explain(exc, endpoint) from None


def _tls_config(endpoint: Endpoint) -> docker.tls.TLSConfig | bool:
    tls = endpoint.tls
    if tls is None:
        return False
    client_cert = (tls.cert, tls.key) if tls.cert and tls.key else None
    ca = tls.ca if tls.verify else None
    return docker.tls.TLSConfig(client_cert=client_cert, ca_cert=ca, verify=tls.verify)


def _api_client(endpoint: Endpoint, base_url: str | None = None) -> docker.APIClient:
    host = base_url or endpoint.host
    if host.startswith("tcp://") and endpoint.tls is not None:
        host = "https://" + host[len("tcp://") :]
    api = docker.APIClient(
        base_url=host, version=API_VERSION, tls=_tls_config(endpoint), timeout=60
    )
    if endpoint.tls is not None:
        # requests would let REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE replace the CA from
        # DOCKER_CERT_PATH or the context; the docker CLI trusts only that CA.
        api.trust_env = False
    return api


def _version_tuple(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in version.split("."))
    except ValueError:
        return (0,)


def _check_engine(client: EngineClient) -> None:
    api, endpoint = client.api, client.endpoint
    where = f"{endpoint.host} ({endpoint.source})"
    try:
        with engine_errors(endpoint):
            version = api.version(api_version=False)
    except EngineError as exc:
        if "too new" in exc.message or "client version" in exc.message.lower():
            raise EngineError(
                f"the Docker engine at {where} is too old: {exc.message}",
                hint=f"stackctl needs Engine API {API_VERSION} or newer (Docker 20.10+)",
            ) from None
        raise
    server_api = str(version.get("ApiVersion", "0"))
    if _version_tuple(server_api) < _version_tuple(API_VERSION):
        raise EngineError(
            f"the Docker engine at {where} speaks API {server_api}, which is too old",
            hint=f"stackctl needs Engine API {API_VERSION} or newer (Docker 20.10+)",
        )
    with engine_errors(endpoint):
        info = api.info()
    swarm = info.get("Swarm") or {}
    if swarm.get("LocalNodeState") != "active":
        raise EngineError(
            f"the Docker engine at {where} is not part of a Swarm",
            hint="run `docker swarm init` (or join it to a Swarm) first",
        )
    if not swarm.get("ControlAvailable"):
        raise EngineError(
            f"the Docker engine at {where} is a Swarm worker, not a manager",
            hint="point DOCKER_HOST or --context at a manager node",
        )


def connect(
    context: str | None = None, *, env: Mapping[str, str] | None = None
) -> DockerEngineClient:
    """Connect to the engine named by ``--context``/DOCKER_HOST/DOCKER_CONTEXT and check it.

    Raises ``EngineError`` when the engine cannot be reached, TLS fails, the API is
    older than 1.41, or the node is not a Swarm manager.
    """
    environment = os.environ if env is None else env
    endpoint = resolve_endpoint(context, environment)
    tunnel = None
    base_url = None
    if endpoint.host.startswith("ssh://"):
        tunnel = SSHTunnel(endpoint.host, environment)
        base_url = tunnel.open()
    try:
        with engine_errors(endpoint):
            api = _api_client(endpoint, base_url)
    except EngineError:
        if tunnel is not None:
            tunnel.close()
        raise
    client = DockerEngineClient(api, endpoint, tunnel=tunnel)
    try:
        _check_engine(client)
    except EngineError:
        client.close()
        raise
    return client
