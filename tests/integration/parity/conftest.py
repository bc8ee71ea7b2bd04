"""Fixtures for the conversion/observe parity tests (real single-node Swarm)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from stackctl.engine.client import EngineClient, connect

REPO = Path(__file__).resolve().parents[3]
# The hand-normalized every-key stack lives with the unit tests of convert.
sys.path.insert(0, str(REPO / "tests" / "unit" / "convert"))


@pytest.fixture(scope="session")
def engine() -> Iterator[EngineClient]:
    client = connect()
    yield client
    client.close()
