"""Fixtures for the docs tests: load scripts/*.py (not a package) by path."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

import pytest
from support.testkit import REPO_ROOT as REPO


def load_script(name: str) -> ModuleType:
    """Import ``scripts/<name>.py`` as a module (cached in sys.modules)."""
    module_name = f"_stackctl_script_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, REPO / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def gen_docs() -> ModuleType:
    return load_script("gen_docs")
