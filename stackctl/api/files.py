"""Stack files: load them into a ``Stack`` or check them (``stackctl.api.load`` and
``stackctl.api.validate``)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from stackctl.core.load.loading import load_stack
from stackctl.core.validate.stack_name import check_stack_name, derived_name_findings
from stackctl.errors import Finding, Severity, StackFileError

if TYPE_CHECKING:
    from stackctl.core.load.source_map import SourceMap
    from stackctl.core.model.model import Stack


@dataclass(frozen=True)
class Validation:
    """The result of checking stack files: every finding, and the stack when valid."""

    stack: Stack | None  # None when the files have errors
    findings: tuple[Finding, ...]
    files: tuple[str, ...]  # the files read (absolute paths; "-" for standard input)
    source_map: SourceMap | None = field(default=None, repr=False)  # file:line of each key

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.WARNING)

    @property
    def valid(self) -> bool:
        return self.stack is not None and not self.errors


def load(
    files: Sequence[str] = (),
    *,
    env_files: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    strict: bool = False,
    stack_name: str | None = None,
    age_identity_files: Sequence[str] = (),
    age_passphrase: Callable[[str], str] | None = None,
    profiles: Sequence[str] = (),
    cwd: str | None = None,
    stdin_text: str | None = None,
) -> Validation:
    """Load stack files into a ``Stack``; raise ``StackFileError`` when they have errors.

    ``files`` are merged in order (later ones override earlier ones); none given
    means compose.yaml, compose.yml, docker-compose.yml or stack.yml in ``cwd``.
    ``${VAR}`` comes from ``env`` (default: this process's environment), then
    ``env_files``, then a ``.env`` beside the first file. ``"-"`` reads
    ``stdin_text``. ``strict`` turns warnings (lints, unset variables) into errors.
    ``age_identity_files`` decrypt ``.age`` secret and env files;
    ``age_passphrase(name)`` returns the passphrase of a passphrase-encrypted one
    (without it, such a file is an error); ``profiles``
    enable the services of those Compose profiles. With
    ``stack_name``, the names derived from it (``<stack>_<service>``...) are
    checked too. The returned ``Validation`` is valid and holds the warnings.
    """
    return _load(
        files,
        env_files=env_files,
        env=env,
        strict=strict,
        stack_name=stack_name,
        age_identity_files=age_identity_files,
        age_passphrase=age_passphrase,
        age_check_only=False,
        profiles=profiles,
        cwd=cwd,
        stdin_text=stdin_text,
    )


def validate(
    files: Sequence[str] = (),
    *,
    env_files: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    strict: bool = False,
    stack_name: str | None = None,
    age_identity_files: Sequence[str] = (),
    age_passphrase: Callable[[str], str] | None = None,
    profiles: Sequence[str] = (),
    cwd: str | None = None,
    stdin_text: str | None = None,
) -> Validation:
    """Check stack files and return every finding; never raises for problems in them.

    Arguments as ``load``; without ``age_identity_files``, ``.age`` files are only
    checked to be well-formed. A ``stack_name`` the engine would refuse raises
    ``StackctlError`` before anything is read. ``Validation.valid`` says whether
    ``apply`` would accept the files.
    """
    if stack_name is not None:
        check_stack_name(stack_name)
    try:
        return _load(
            files,
            env_files=env_files,
            env=env,
            strict=strict,
            stack_name=stack_name or None,
            age_identity_files=age_identity_files,
            age_passphrase=age_passphrase,
            age_check_only=True,
            profiles=profiles,
            cwd=cwd,
            stdin_text=stdin_text,
            derived_as_findings=True,
        )
    except StackFileError as error:
        return Validation(stack=None, findings=tuple(error.findings), files=tuple(files))


def _load(
    files: Sequence[str],
    *,
    env_files: Sequence[str],
    env: Mapping[str, str] | None,
    strict: bool,
    stack_name: str | None,
    age_identity_files: Sequence[str],
    age_passphrase: Callable[[str], str] | None,
    age_check_only: bool,
    profiles: Sequence[str],
    cwd: str | None,
    stdin_text: str | None,
    derived_as_findings: bool = False,
) -> Validation:
    result = load_stack(
        list(files),
        env=dict(os.environ) if env is None else env,
        env_files=list(env_files),
        strict=strict,
        cwd=cwd or os.getcwd(),
        stdin_text=stdin_text,
        age_identity_files=list(age_identity_files),
        age_check_only=age_check_only,
        age_passphrase=age_passphrase,
        profiles=list(profiles),
    )
    findings = result.findings
    if stack_name is not None:
        derived = tuple(derived_name_findings(stack_name, result.stack))
        if derived_as_findings:  # validate: reported with the others
            return Validation(
                None if _errors(derived) else result.stack,
                findings + derived,
                result.files,
                result.source_map,
            )
        if _errors(derived):  # load: invalid, like any other error in the files
            raise StackFileError([*findings, *derived])
    return Validation(result.stack, findings, result.files, result.source_map)


def _errors(findings: Sequence[Finding]) -> bool:
    return any(f.severity is Severity.ERROR for f in findings)
