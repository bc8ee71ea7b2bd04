"""Fixtures for the revision model tests."""

from __future__ import annotations

import pytest
from support.revision_builders import sample_revision

from stackctl.core.history.revision import Revision


@pytest.fixture
def revision() -> Revision:
    return sample_revision()
