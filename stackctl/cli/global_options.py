"""Options that apply to every command: ``-v/--verbose``, ``-q/--quiet``, ``--no-color``.

They are given before the command (``stackctl -v diff web``) and set up here
once, so the commands themselves stay unaware of them:

- ``--no-color`` sets ``NO_COLOR=1`` for this process, which every renderer
  already honours (``stackctl.cli.common.use_color``).
- ``-q`` sends standard output to ``/dev/null``; errors and warnings (standard
  error) and the exit code remain, like ``grep -q``.
- ``-v`` prints every Engine API request (method, path, HTTP status) on standard
  error as it happens, and the totals of ``EngineClient.api_calls()`` at exit.
  Commands reach the engine through ``stackctl.cli.stack_views.connect``, which
  hands each client to ``watch_client``.
"""

from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote, urlencode, urlsplit

if TYPE_CHECKING:
    from stackctl.engine.client import EngineClient

_Client = TypeVar("_Client", bound="EngineClient")


@dataclass
class _State:
    verbose: bool = False
    clients: list[Any] = field(default_factory=list)
    saved_stdout: IO[str] | None = None


_STATE = _State()
_PRINT_LOCK = threading.Lock()


def set_global_options(*, verbose: bool, quiet: bool, no_color: bool) -> None:
    """Record the root options; called once by the root callback."""
    _STATE.verbose = verbose
    _STATE.clients.clear()
    if no_color:
        os.environ["NO_COLOR"] = "1"
    if quiet and _STATE.saved_stdout is None:
        _STATE.saved_stdout = sys.stdout
        sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - closed in finish()


def is_verbose() -> bool:
    """Whether ``-v`` was given before the command."""
    return _STATE.verbose


def watch_client(client: _Client) -> _Client:
    """With ``-v``, log every Engine API request ``client`` makes; return ``client``."""
    if not _STATE.verbose:
        return client
    _STATE.clients.append(client)
    inner = client.api.request

    def logging_request(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        response = inner(method, url, *args, **kwargs)
        _log(
            f"engine API: {method.upper()} {_path(url, kwargs.get('params'))} -> "
            f"{response.status_code}"
        )
        return response

    client.api.request = logging_request
    return client


def finish() -> None:
    """At exit: print the call totals (``-v``) and restore standard output (``-q``)."""
    if _STATE.verbose:
        for client in _STATE.clients:
            calls = client.api_calls()
            methods = ", ".join(f"{m} {n}" for m, n in sorted(calls.by_method.items()))
            _log(
                f"engine API calls: {calls.total} ({calls.writes} writes; {methods or 'none'})"
                f" to {client.endpoint.host}"
            )
    _STATE.clients.clear()
    if _STATE.saved_stdout is not None:
        quiet_stream = sys.stdout
        sys.stdout = _STATE.saved_stdout
        _STATE.saved_stdout = None
        quiet_stream.close()


def _path(url: str, params: Any = None) -> str:
    """``http+docker://localhost/v1.41/services`` + params -> ``/v1.41/services?filters=...``."""
    parts = urlsplit(url)
    query = parts.query
    if isinstance(params, dict):
        shown = {k: v for k, v in params.items() if v is not None}
        query = "&".join(filter(None, [query, urlencode(shown, safe='{}[]:",= ', quote_via=quote)]))
    return parts.path + (f"?{query}" if query else "")


def _log(line: str) -> None:
    with _PRINT_LOCK:
        print(f"stackctl: {line}", file=sys.stderr, flush=True)
