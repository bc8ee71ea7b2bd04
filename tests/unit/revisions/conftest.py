"""Fixtures for the revision model tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from revision_builders import sample_revision

from stackctl.core.history.revision import Revision


@pytest.fixture
def revision() -> Revision:
    return sample_revision()
