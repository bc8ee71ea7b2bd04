"""The loader's reading of every-key.yml converts to the same state as the hand-normalized one."""

from __future__ import annotations

from support.stack_builders import FIXTURES, every_key_stack

from stackctl.core.convert.convert import convert_stack
from stackctl.core.load.loading import load_stack


def test_loaded_every_key_converts_like_the_hand_normalized_stack() -> None:
    file = FIXTURES / "every-key.yml"
    loaded = load_stack([str(file)], env={}, cwd=str(file.parent)).stack
    assert convert_stack(loaded, "st") == convert_stack(every_key_stack(), "st")
