"""Options and loading shared by commands that read stack files (validate, config, ...)."""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from stackctl.errors import Severity, StackFileError

if TYPE_CHECKING:
    from stackctl.core.load.loading import LoadResult

FILES_HELP = (
    "Stack file (repeatable; later files override earlier ones; '-' reads standard input). "
    "Default: compose.yaml, compose.yml, docker-compose.yml or stack.yml in the current folder."
)
PROFILE_HELP = (
    "Activate a profile (repeatable; '*' activates all): services with `profiles:` are "
    "deployed only when one of theirs is active; services without are always."
)
ENV_FILE_HELP = (
    "File of VAR=value lines for ${VAR} interpolation (repeatable; later wins; "
    "a name ending in .age is decrypted with --age-identity)."
)
AGE_IDENTITY_ENV = "STACKCTL_AGE_IDENTITY_FILE"
AGE_IDENTITY_HELP = (
    "age identity file (age-keygen output or an SSH private key) that decrypts the .age "
    f"secret and env files (repeatable). Default: ${AGE_IDENTITY_ENV}."
)


def age_identities(given: Sequence[str]) -> list[str]:
    """--age-identity files, or the one named by STACKCTL_AGE_IDENTITY_FILE."""
    if given:
        return list(given)
    from_env = os.environ.get(AGE_IDENTITY_ENV, "")
    return [from_env] if from_env else []


def _ask_passphrase(name: str) -> str:
    try:
        return getpass.getpass(f"Passphrase for {name}: ", stream=sys.stderr)
    except EOFError:
        return ""


def passphrase_prompt() -> Callable[[str], str] | None:
    """Asks for an age passphrase, when a person at a terminal can be asked; else None
    (a pipeline gets a clear error)."""
    return _ask_passphrase if sys.stdin.isatty() and sys.stderr.isatty() else None


def load_from_cli(
    files: Sequence[str],
    env_files: Sequence[str],
    *,
    strict: bool = False,
    identities: Sequence[str] = (),
    check_only: bool = False,
    stack_name: str | None = None,
    profiles: Sequence[str] = (),
) -> LoadResult:
    """Run the stack-file pipeline with the process environment and, for '-', stdin.

    ``identities``: the --age-identity files; ``check_only`` (validate): .age files
    are only checked to be well-formed when no identity is given at all.
    With ``stack_name``, the names derived from it (``<stack>_<key>``...) are
    checked as well: one the engine would refuse is an error in the result.
    """
    # lazy: help listings import every command module; load this on use
    from stackctl.core.load.loading import load_stack  # noqa: PLC0415

    stdin_text = sys.stdin.read() if "-" in files else None
    result = load_stack(
        list(files),
        env=dict(os.environ),
        env_files=list(env_files),
        strict=strict,
        cwd=os.getcwd(),
        stdin_text=stdin_text,
        age_identity_files=age_identities(identities),
        age_check_only=check_only,
        age_passphrase=passphrase_prompt(),
        profiles=list(profiles),
    )
    if stack_name is None:
        return result
    # lazy: help listings import every command module; load this on use
    from stackctl.core.validate.stack_name import derived_name_findings  # noqa: PLC0415

    derived = derived_name_findings(stack_name, result.stack)
    if any(f.severity is Severity.ERROR for f in derived):
        raise StackFileError([*result.findings, *derived])
    return result
