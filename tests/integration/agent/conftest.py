"""Fixtures of the agent tests: a git repository, served by git daemon on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.git_repo import GitDaemon, GitRepo


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return GitRepo(tmp_path / "git")


@pytest.fixture
def daemon(repo: GitRepo) -> Iterator[GitDaemon]:
    served = GitDaemon(repo.root)
    yield served
    served.stop()
