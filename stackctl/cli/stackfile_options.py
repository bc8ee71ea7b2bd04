"""Options and loading shared by commands that read stack files (validate, config, ...)."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stackctl.core.load.loading import LoadResult

FILES_HELP = (
    "Stack file (repeatable; later files override earlier ones; '-' reads standard input). "
    "Default: compose.yaml, compose.yml, docker-compose.yml or stack.yml in the current folder."
)
ENV_FILE_HELP = "File of VAR=value lines for ${VAR} interpolation (repeatable; later wins)."


def load_from_cli(
    files: Sequence[str], env_files: Sequence[str], *, strict: bool = False
) -> LoadResult:
    """Run the stack-file pipeline with the process environment and, for '-', stdin."""
    from stackctl.core.load.loading import load_stack

    stdin_text = sys.stdin.read() if "-" in files else None
    return load_stack(
        list(files),
        env=dict(os.environ),
        env_files=list(env_files),
        strict=strict,
        cwd=os.getcwd(),
        stdin_text=stdin_text,
    )
