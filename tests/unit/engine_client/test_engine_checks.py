"""connect()'s checks of the engine it reached, and the call counter (no engine needed).

The engine's answers (``GET /version``, ``GET /info``) are given as plain dicts:
what is tested is how stackctl judges them, not the transport.
"""

from __future__ import annotations

from typing import Any

import pytest

from stackctl.engine.client import DockerEngineClient, _check_engine
from stackctl.engine.contexts import Endpoint
from stackctl.errors import EngineError

ENDPOINT = Endpoint(host="tcp://10.0.0.5:2376", source="context 'prod'")


class Answers:
    """Stands in for the SDK's APIClient: fixed answers to /version and /info."""

    def __init__(self, version: dict[str, Any], info: dict[str, Any]) -> None:
        self._version, self._info = version, info

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> None:
        return None

    def version(self, api_version: bool = True) -> dict[str, Any]:
        self.request("GET", "/version")
        return self._version

    def info(self) -> dict[str, Any]:
        self.request("GET", "/info")
        return self._info

    def close(self) -> None:
        pass


def _client(api_version: str, swarm: dict[str, Any]) -> DockerEngineClient:
    return DockerEngineClient(Answers({"ApiVersion": api_version}, {"Swarm": swarm}), ENDPOINT)  # type: ignore[arg-type]


MANAGER = {"LocalNodeState": "active", "ControlAvailable": True}


def test_a_manager_with_api_141_passes_and_calls_are_counted() -> None:
    client = _client("1.41", MANAGER)
    _check_engine(client)
    calls = client.api_calls()
    assert (calls.total, calls.writes, dict(calls.by_method)) == (2, 0, {"GET": 2})
    client.reset_api_calls()
    assert client.api_calls().total == 0


def test_newer_api_passes() -> None:
    _check_engine(_client("1.45", MANAGER))


def test_api_too_old() -> None:
    with pytest.raises(EngineError) as caught:
        _check_engine(_client("1.40", MANAGER))
    assert "too old" in caught.value.message and "1.40" in caught.value.message
    assert caught.value.hint and "1.41" in caught.value.hint


def test_not_in_a_swarm() -> None:
    with pytest.raises(EngineError) as caught:
        _check_engine(_client("1.41", {"LocalNodeState": "inactive"}))
    assert "not part of a Swarm" in caught.value.message
    assert "tcp://10.0.0.5:2376" in caught.value.message
    assert caught.value.hint and "docker swarm init" in caught.value.hint


def test_worker_node() -> None:
    with pytest.raises(EngineError) as caught:
        _check_engine(_client("1.41", {"LocalNodeState": "active", "ControlAvailable": False}))
    assert "worker" in caught.value.message
    assert caught.value.hint and "manager" in caught.value.hint
