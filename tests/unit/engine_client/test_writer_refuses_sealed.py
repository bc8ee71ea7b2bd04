"""The writer never sends a revision's sealed digest to the engine as an env value."""

from __future__ import annotations

from types import SimpleNamespace
from typing import cast

import pytest

from stackctl.core.history.sealed_env import seal_value
from stackctl.engine.client import EngineClient
from stackctl.engine.writer import SwarmWriter
from stackctl.errors import EngineError


class _NoCalls:
    """An engine API that fails the test if the writer reaches it."""

    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"the writer called the engine ({name}) with a sealed value")


def test_the_writer_refuses_to_send_a_sealed_digest_as_a_value() -> None:
    writer = SwarmWriter(cast(EngineClient, SimpleNamespace(api=_NoCalls())))
    sealed = seal_value("shop_web", "DB_PASSWORD", "hunter2")
    spec = {
        "Name": "shop_web",
        "TaskTemplate": {"ContainerSpec": {"Image": "web:1", "Env": [f"DB_PASSWORD={sealed}"]}},
    }
    with pytest.raises(EngineError, match="DB_PASSWORD is a sealed digest"):
        writer.create_service(spec)
    with pytest.raises(EngineError, match="DB_PASSWORD is a sealed digest"):
        writer.update_service("id", 7, spec)
