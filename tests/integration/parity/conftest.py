"""Fixtures for the conversion/observe parity tests (real single-node Swarm)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from stackctl.engine.client import EngineClient, connect


@pytest.fixture(scope="session")
def engine() -> Iterator[EngineClient]:
    client = connect()
    yield client
    client.close()
