"""The loader's reading of every-key.yml converts to the same state as the hand-normalized one."""

from __future__ import annotations

import pytest
from convert_builders import FIXTURES, every_key_stack

from stackctl.core.convert.convert import convert_stack


def test_loaded_every_key_converts_like_the_hand_normalized_stack() -> None:
    loading = pytest.importorskip("stackctl.core.load.loading")
    file = FIXTURES / "every-key.yml"
    loaded = loading.load_stack([str(file)], env={}, cwd=str(file.parent)).stack
    assert convert_stack(loaded, "st") == convert_stack(every_key_stack(), "st")
