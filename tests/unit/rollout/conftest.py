"""Fixtures for the rollout tests: the in-memory fake engine, its clock and the events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from support.fake_engine import FakeEngine

from stackctl.rollout.events import Event
from stackctl.rollout.options import ApplyOptions


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine()


@pytest.fixture
def events() -> list[Event]:
    return []


@pytest.fixture
def options_for(engine: FakeEngine) -> Callable[..., ApplyOptions]:
    def build(**overrides: Any) -> ApplyOptions:
        values: dict[str, Any] = {
            "clock": engine.clock,
            "sleep": engine.sleep,
            "timeout": 60.0,
            "pending_timeout": 5.0,
        }
        values.update(overrides)
        return ApplyOptions(**values)

    return build
