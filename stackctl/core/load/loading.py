"""The stack-file pipeline: files on disk -> a validated, normalized ``Stack``.

Steps: find the files -> read them (the only I/O of the stack-file layer lives
here) -> parse -> interpolate -> resolve relative paths and service
environments per file -> merge -> cast interpolated values -> validate ->
normalize -> lint. Findings of every stage are collected, and a
``StackFileError`` carrying all of them is raised when any is an error.

Variables for ``${VAR}`` come from, highest priority first: the process
environment (``env``), ``--env-file`` files (a later file wins), and a ``.env``
file beside the first stack file.

Files whose name ends in ``.age`` (secrets' ``file:``, ``env_file:``,
``--env-file``) are decrypted in memory with the identities of
``age_identity_files`` (``age_files``); values that come from them are marked
sensitive (``sensitive_env``) so that no output, plan or revision shows them.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from stackctl.core.load.age_files import AgeFileError, Decryptor
from stackctl.core.load.age_format import is_age_path
from stackctl.core.load.doc_paths import Path, dotted, make_locator
from stackctl.core.load.envfile import decode_env_file, parse_variable_file
from stackctl.core.load.file_refs import resolve_environments, resolve_paths, scrub_findings
from stackctl.core.load.interpolate import (
    CODE_UNSET,
    InterpolatedStr,
    InterpolationResult,
    interpolate_document,
)
from stackctl.core.load.merge import LocatedDocument, merge_documents
from stackctl.core.load.profiles import select_profiles
from stackctl.core.load.sensitive_env import SensitiveEnv, is_environment_value
from stackctl.core.load.source_map import SourceMap
from stackctl.core.load.yaml_source import MAX_FILE_BYTES, parse_document
from stackctl.core.load.yaml_text import decode_source
from stackctl.core.model.coerce import coerce_marked
from stackctl.core.model.model import Stack, frozen_map
from stackctl.core.model.normalize import normalize_document
from stackctl.core.validate.lint import lint_stack
from stackctl.core.validate.validate import validate_document
from stackctl.errors import Finding, Location, Severity, StackFileError

DEFAULT_FILES = ("compose.yaml", "compose.yml", "docker-compose.yml", "stack.yml")
STDIN = "-"
STDIN_NAME = "<stdin>"
MAX_OBJECT_BYTES = 500 * 1024
"""Swarm refuses configs and secrets larger than this."""

CODE_NO_FILE = "SC030"
CODE_MISSING_FILE = "SC031"
CODE_AGE = "SC032"
CODE_AGE_VALUE_USE = "SC033"


@dataclass(frozen=True)
class LoadResult:
    """A loaded stack, the warnings found on the way, and the files it came from."""

    stack: Stack
    findings: tuple[Finding, ...]
    files: tuple[str, ...]
    source_map: SourceMap = field(default_factory=SourceMap)
    """Where each key of the merged files was written (plans show it per change)."""
    # where each service's ``image`` is declared (errors about images point there)
    image_locations: Mapping[str, Location] = field(default_factory=dict)


def _fail(message: str, file: str | None = None, hint: str | None = None) -> Finding:
    return Finding(Severity.ERROR, message, CODE_NO_FILE, Location(file), hint=hint)


def _read_limited(path: str, limit: int) -> bytes:
    """Read a file, refusing it (without reading it) when it is larger than ``limit``."""
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > limit:
            raise OSError(
                27, f"file is {size / 1024 / 1024:.1f} MB; the limit is {limit // 1024 // 1024} MB"
            )
        data = handle.read(limit + 1)
    if len(data) > limit:  # a growing file or a pipe
        raise OSError(27, f"file is larger than the {limit // 1024 // 1024} MB limit")
    return data


def default_stack_file(cwd: str) -> str | None:
    """The file used when no ``-c`` is given: the first of DEFAULT_FILES found in ``cwd``."""
    for name in DEFAULT_FILES:
        if os.path.isfile(os.path.join(cwd, name)):
            return name
    return None


@dataclass
class _Source:
    given: str  # as the user wrote it: the name used in messages
    path: str  # absolute path, or "-" for stdin
    base_dir: str
    raw: bytes


def _read_sources(
    files: Sequence[str], cwd: str, stdin_text: str | None, findings: list[Finding]
) -> list[_Source]:
    sources: list[_Source] = []
    for given in files:
        if given == STDIN:
            if stdin_text is None:
                findings.append(_fail("'-' means standard input, but none was given"))
                continue
            raw = stdin_text.encode("utf-8", errors="surrogateescape")
            if len(raw) > MAX_FILE_BYTES:
                findings.append(
                    _fail("standard input is larger than 20 MB; refusing it", STDIN_NAME)
                )
                continue
            sources.append(_Source(STDIN_NAME, STDIN, cwd, raw))
            continue
        path = os.path.normpath(os.path.join(cwd, os.path.expanduser(given)))
        try:
            raw = _read_limited(path, MAX_FILE_BYTES)
        except FileNotFoundError:
            findings.append(_fail(f"stack file {given} does not exist", given))
            continue
        except IsADirectoryError:
            findings.append(_fail(f"{given} is a directory, not a stack file", given))
            continue
        except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the name
            reason = exc.strerror if isinstance(exc, OSError) else None
            findings.append(_fail(f"cannot read {given}: {reason or exc}", given))
            continue
        sources.append(_Source(given, path, os.path.dirname(path), raw))
    return sources


@dataclass
class _Variables:
    values: dict[str, str]
    sensitive: frozenset[str]  # names whose value came from an encrypted env file
    undecrypted: bool  # an encrypted env file was not decrypted (checked only, or failed)


def _variables(
    env: Mapping[str, str],
    env_files: Sequence[str],
    first_dir: str,
    cwd: str,
    findings: list[Finding],
    decryptor: Decryptor,
    display: Callable[[str], str],
) -> _Variables:
    """Variables for interpolation: process env > --env-file (later wins) > .env."""
    merged: dict[str, str] = {}
    from_age: dict[str, bool] = {}
    undecrypted = False
    dotenv = os.path.join(first_dir, ".env")
    candidates: list[tuple[str, bool]] = [(dotenv, False)]
    candidates += [(os.path.join(cwd, f), True) for f in env_files]
    for path, required in candidates:
        if not required and not os.path.isfile(path):
            continue  # no .env (a folder named .env is often a Python virtualenv)
        try:
            raw = _read_limited(path, MAX_FILE_BYTES)
        except FileNotFoundError:
            if required:
                findings.append(_fail(f"env file {path} does not exist", path))
            continue
        except OSError as exc:
            if required or os.path.exists(path):
                findings.append(_fail(f"cannot read env file {path}: {exc.strerror or exc}", path))
            continue
        encrypted = is_age_path(path)
        if encrypted:
            try:
                plain = decryptor.decrypt(raw, f"env file {display(path)}")
            except AgeFileError as exc:
                findings.append(_age_finding(exc, Location(display(path))))
                undecrypted = True  # its variables are unknown: no "unset" noise
                continue
            if plain is None:
                undecrypted = True
                continue
            raw = plain
        text, problems = decode_env_file(raw, path)
        findings.extend(scrub_findings(problems) if encrypted else problems)
        if text is not None:
            values, problems = parse_variable_file(text, path)
            findings.extend(scrub_findings(problems) if encrypted else problems)
            merged.update(values)
            from_age.update(dict.fromkeys(values, encrypted))
    merged.update(env)
    from_age.update(dict.fromkeys(env, False))
    sensitive = frozenset(name for name, encrypted in from_age.items() if encrypted)
    return _Variables(merged, sensitive, undecrypted)


def _age_finding(exc: AgeFileError, where: Location, path: str = "") -> Finding:
    return Finding(Severity.ERROR, exc.message, CODE_AGE, where, path, exc.hint)


def _text_reader(decryptor: Decryptor, display: Callable[[str], str]) -> Callable[[str], str]:
    """read_text for service env files; ``.age`` ones are decrypted in memory."""

    def read_text(path: str) -> str:
        raw = _read_limited(path, MAX_FILE_BYTES)
        if is_age_path(path):
            plain = decryptor.decrypt(raw, display(path))
            if plain is None:  # only checked: its variables are unknown
                return ""
            raw = plain
        text, problems = decode_env_file(raw, path)
        if text is None:
            raise OSError(22, problems[0].message if problems else "not valid UTF-8 text")
        return text

    return read_text


def _has_no_templates(text: str) -> bool:
    """True when no value of the document parsed from ``text`` can hold a ``$``.

    Then interpolation has nothing to do and its walk is skipped. A ``$`` can only
    come from the text itself, an escape in a double-quoted scalar or a tag (``!!binary``).
    """
    return "$" not in text and "\\" not in text and "!" not in text


def _object_reader(decrypted: Mapping[str, bytes]) -> Callable[[str], bytes]:
    """read_file for normalize: config/secret files, cached, size-limited.

    ``decrypted`` holds the plaintext of encrypted secret files, by path.
    """
    cache: dict[str, bytes] = dict(decrypted)

    def read_file(path: str) -> bytes:
        if path not in cache:
            cache[path] = _read_limited(path, MAX_OBJECT_BYTES * 8)
        return cache[path]

    return read_file


def _decrypt_secret_files(
    data: Mapping[str, Any],
    locate: Callable[[Path], Location],
    findings: list[Finding],
    decryptor: Decryptor,
    display: Callable[[str], str],
) -> dict[str, bytes]:
    """Plaintext of each secret whose ``file:`` ends in ``.age``, by path.

    In check-only mode the ciphertext stands in (validate never deploys it).
    """
    out: dict[str, bytes] = {}
    secrets = data.get("secrets")
    for name, spec in (secrets or {}).items() if isinstance(secrets, dict) else ():
        if not isinstance(spec, dict) or spec.get("external"):
            continue
        file = spec.get("file")
        if not isinstance(file, str) or not is_age_path(file) or file in out:
            continue
        where: Path = ("secrets", name, "file")
        try:
            raw = _read_limited(file, MAX_OBJECT_BYTES * 8)
        except OSError:
            continue  # reported by _check_object_files
        try:
            plain = decryptor.decrypt(raw, f"secret {name}: {display(file)}")
        except AgeFileError as exc:
            findings.append(_age_finding(exc, locate(where), dotted(where)))
            continue
        out[file] = raw if plain is None else plain
    return out


def _check_object_files(
    data: Mapping[str, Any],
    locate: Callable[[Path], Location],
    findings: list[Finding],
    display: Callable[[str], str],
) -> None:
    """Configs/secrets with ``file:`` must exist and fit Swarm's size limit."""
    for section in ("configs", "secrets"):
        objects = data.get(section)
        if not isinstance(objects, dict):
            continue
        for name, spec in objects.items():
            if not isinstance(spec, dict) or spec.get("external"):
                continue
            file = spec.get("file")
            if not isinstance(file, str):
                continue
            where: Path = (section, name, "file")
            message = None
            try:
                size = os.stat(file).st_size
                if not os.path.isfile(file):
                    message = f"{display(file)} is not a regular file"
                elif size > MAX_OBJECT_BYTES:
                    message = f"{display(file)} is {size // 1024} KB; Swarm allows at most 500 KB"
            except FileNotFoundError:
                message = f"file {display(file)} does not exist"
            except OSError as exc:
                message = f"{display(file)} cannot be read: {exc.strerror or exc}"
            if message:
                findings.append(
                    Finding(
                        Severity.ERROR,
                        f"{section[:-1]} {name}: {message}",
                        CODE_MISSING_FILE,
                        locate(where),
                        ".".join(map(str, where)),
                        "the path is relative to the stack file that names it",
                    )
                )


def load_stack(
    files: Sequence[str],
    *,
    env: Mapping[str, str],
    env_files: Sequence[str] = (),
    strict: bool = False,
    cwd: str | None = None,
    stdin_text: str | None = None,
    age_identity_files: Sequence[str] = (),
    age_check_only: bool = False,
    age_passphrase: Callable[[str], str] | None = None,
    profiles: Sequence[str] = (),
) -> LoadResult:
    """Load, check and normalize a stack from its files.

    Empty ``files`` looks for compose.yaml, compose.yml, docker-compose.yml and
    stack.yml in ``cwd`` (first found wins; ``LoadResult.files`` says which).
    ``-`` reads ``stdin_text``. Raises StackFileError with every finding when
    any of them is an error; otherwise returns the warnings with the stack.

    ``age_identity_files``: files of age identities (``age-keygen`` output or an
    OpenSSH private key) that decrypt the ``.age`` files the stack names.
    ``age_check_only`` (validate): without any identity, ``.age`` files are only
    checked to be well-formed instead of being an error. ``age_passphrase(name)``
    (interactive clients only) returns the passphrase of a passphrase-encrypted file;
    without it such a file is an error.
    """
    cwd = os.path.abspath(cwd or os.getcwd())
    findings: list[Finding] = []
    if not files:
        default = default_stack_file(cwd)
        if default is None:
            raise StackFileError(
                [
                    _fail(
                        f"no stack file given and none found in {cwd}",
                        hint="pass -c FILE, or create one of: " + ", ".join(DEFAULT_FILES),
                    )
                ]
            )
        files = [default]
    sources = _read_sources(files, cwd, stdin_text, findings)
    if findings:
        raise StackFileError(findings)

    def display(path: str) -> str:
        """Paths under the working directory are shown relative to it."""
        return os.path.relpath(path, cwd) if path.startswith(cwd + os.sep) else path

    def read_identity(path: str) -> bytes:
        return _read_limited(os.path.join(cwd, os.path.expanduser(path)), MAX_FILE_BYTES)

    decryptor = Decryptor(
        age_identity_files,
        read_identity,
        check_only=age_check_only,
        ask_passphrase=age_passphrase,
    )
    loaded = _variables(env, env_files, sources[0].base_dir, cwd, findings, decryptor, display)
    variables = loaded.values
    sensitive = SensitiveEnv(variables=loaded.sensitive)
    home = variables.get("HOME")

    documents: list[LocatedDocument] = []
    failed: set[str] = set()  # values left uninterpolated: validation stays quiet on them
    templated = False  # whether any file may hold a ${VAR} (else nothing needs a cast)
    for source in sources:
        try:
            text = decode_source(source.raw, source.given)
            parsed = parse_document(text, source.given)
        except StackFileError as exc:
            findings.extend(exc.findings)
            continue
        findings.extend(parsed.warnings)
        locate = make_locator(parsed.locations, Location(source.given, 1, 1))
        if _has_no_templates(text):
            result = InterpolationResult(parsed.data, [])
        else:
            templated = True
            result = interpolate_document(
                parsed.data, variables, locate, strict=strict, sensitive=sensitive.variables
            )
        findings.extend(_sensitive_misuse(result.sensitive_paths, locate))
        findings.extend(
            f for f in result.findings if not (loaded.undecrypted and f.code == CODE_UNSET)
        )
        sensitive.interpolated.update(result.sensitive_paths)
        failed |= result.failed_paths
        data = result.data
        resolve_paths(data, source.base_dir, home)
        findings.extend(
            resolve_environments(
                data,
                parsed.locations,
                variables,
                _text_reader(decryptor, display),
                display,
                sensitive,
            )
        )
        documents.append(LocatedDocument(data, parsed.locations))
    if len(documents) < len(sources):
        raise StackFileError(_in_reading_order(findings, [s.given for s in sources]))

    merged = merge_documents(documents)
    locate = make_locator(merged.locations, Location(sources[0].given, 1, 1))
    # Only interpolated values are cast: without any, the document is already final.
    data = _coerce(merged.data) if templated else merged.data
    # A value whose interpolation failed is reported once, not again by validation.
    findings.extend(f for f in _validate(data, locate) if f.path not in failed)
    _check_object_files(data, locate, findings, display)
    decrypted = _decrypt_secret_files(data, locate, findings, decryptor, display)
    # The whole file is validated; only the services the active profiles enable go on.
    data, found = select_profiles(data, profiles, locate)
    findings.extend(found)
    stack = Stack()
    if not _has_errors(findings):
        try:
            stack = _normalize(data, _object_reader(decrypted), locate)
            stack = _with_sensitive_env(stack, sensitive)
        except StackFileError as exc:
            findings.extend(exc.findings)
    if not _has_errors(findings):
        findings.extend(_lint(stack, data, locate, strict))
    findings = _in_reading_order(findings, [s.given for s in sources])
    if _has_errors(findings):
        raise StackFileError(findings)

    digest = hashlib.sha256()
    for source in sources:
        digest.update(source.raw)
    stack = _with_sources(stack, tuple(s.path for s in sources), digest.hexdigest())
    images = {name: locate(("services", name, "image")) for name in stack.services}
    return LoadResult(
        stack,
        tuple(findings),
        tuple(s.path for s in sources),
        SourceMap.of(data, merged.locations),
        images,
    )


def _sensitive_misuse(paths: Sequence[Path], locate: Callable[[Path], Location]) -> list[Finding]:
    """A value from an encrypted env file may only become a service's environment value.

    Anywhere else (a label, a command, an image) it would be shown by plans and
    stored in revisions in clear, since only environment values are redacted.
    """
    return [
        Finding(
            Severity.ERROR,
            "a variable from an encrypted env file is used here; such values may only be "
            "used in a service's environment",
            CODE_AGE_VALUE_USE,
            locate(path),
            dotted(path),
            "put the secret in a service's environment (or in a Swarm secret) instead",
        )
        for path in dict.fromkeys(paths)
        if not is_environment_value(path)
    ]


def _with_sensitive_env(stack: Stack, sensitive: SensitiveEnv) -> Stack:
    """Record on each service which environment names hold decrypted values."""

    if not sensitive.names:
        return stack
    services = {
        name: replace(service, sensitive_env=tuple(sorted(sensitive.names[name])))
        if sensitive.names.get(name)
        else service
        for name, service in stack.services.items()
    }
    return replace(stack, services=frozen_map(services))


def _in_reading_order(findings: list[Finding], files: list[str]) -> list[Finding]:
    """Stack files in the order given, then other files; by line and column within each."""
    rank = {name: index for index, name in enumerate(files)}

    def key(finding: Finding) -> tuple[int, str, int, int]:
        where = finding.location
        file = where.file or ""
        return (rank.get(file, len(rank)), file, where.line or 0, where.column or 0)

    return sorted(dict.fromkeys(findings), key=key)


def _has_errors(findings: Sequence[Finding]) -> bool:
    return any(f.severity is Severity.ERROR for f in findings)


def _coerce(data: dict[str, Any]) -> dict[str, Any]:
    # docker casts only the values interpolation produced; every other string stays
    return coerce_marked(data, InterpolatedStr)


def _validate(data: dict[str, Any], locate: Callable[[Path], Location]) -> list[Finding]:
    return validate_document(data, locate)


def _normalize(
    data: dict[str, Any], read_file: Callable[[str], bytes], locate: Callable[[Path], Location]
) -> Stack:
    return normalize_document(data, read_file=read_file, locate=locate)


def _lint(
    stack: Stack, data: dict[str, Any], locate: Callable[[Path], Location], strict: bool
) -> list[Finding]:
    found = lint_stack(stack, data, locate)
    if not strict:
        return found
    return [
        Finding(Severity.ERROR, f.message, f.code, f.location, f.path, f.hint)
        if f.severity is Severity.WARNING
        else f
        for f in found
    ]


def _with_sources(stack: Stack, files: tuple[str, ...], digest: str) -> Stack:
    return replace(stack, source_files=files, source_digest=digest)
