"""agent.yml -> a typed, frozen ``AgentConfig``, every problem located by file:line.

The file is parsed with the same located YAML loader as stack files
(``core.load.yaml_source``) and checked against ``schemas/agent.schema.json``;
schema errors become ``Finding``s at the line of the offending key, exactly
like stack-file errors, and are all raised at once as a ``StackFileError``.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from jsonschema import Draft7Validator

from stackctl.agent.git_source import GitCredentials
from stackctl.core.load.age_files import IDENTITY_ENV as AGE_IDENTITY_ENV
from stackctl.core.load.doc_paths import Path, make_locator
from stackctl.core.load.yaml_source import parse_document
from stackctl.core.load.yaml_text import decode_source
from stackctl.core.model.units import UnitError, parse_duration
from stackctl.core.validate.schema_errors import SchemaErrorTranslator, dotted, suggest
from stackctl.errors import Finding, Location, Severity, StackctlError, StackFileError

if TYPE_CHECKING:
    from jsonschema import ValidationError

SCHEMA_FILE = "agent.schema.json"
DEFAULT_STATE_DIR = "/var/lib/stackctl-agent"
DEFAULT_INTERVAL = 60.0
DEFAULT_BACKOFF_MAX = 600.0
DEFAULT_GIT_TIMEOUT = 120.0
DEFAULT_CONCURRENCY = 4
DEFAULT_LISTEN = "127.0.0.1:8476"


@functools.cache
def agent_schema() -> dict[str, Any]:
    """The agent.yml JSON Schema (shipped as ``stackctl.schemas``)."""
    text = (resources.files("stackctl.schemas") / SCHEMA_FILE).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@dataclass(frozen=True)
class ApplySettings:
    """apply's rollout options for one stack (seconds for durations)."""

    timeout: float = 600.0
    pending_timeout: float = 120.0
    lock_timeout: float = 0.0
    on_failure: str = "rollback"
    max_concurrent: int | None = None
    resolve_image: str = "never"
    history_max: int = 10


@dataclass(frozen=True)
class StackConfig:
    """One stack the agent keeps in sync with a git repository."""

    name: str
    repo: str
    files: tuple[str, ...]
    branch: str | None = "main"  # None when ``ref`` is given
    ref: str | None = None
    credentials: GitCredentials | None = None  # http(s) basic auth; the secret stays in a file
    env_files: tuple[str, ...] = ()
    # absolute paths of the age identities that decrypt .age files (agent-wide setting)
    age_identity_files: tuple[str, ...] = ()
    drift: str = "report"  # report | correct
    prune: bool = False
    interval: float = DEFAULT_INTERVAL
    apply: ApplySettings = field(default_factory=ApplySettings)

    @property
    def tracking(self) -> str:
        """What is followed, for messages: ``branch main`` or ``ref v1.2``."""
        return f"branch {self.branch}" if self.branch else f"ref {self.ref}"


@dataclass(frozen=True)
class NotifySinkConfig:
    """One ``notify:`` entry (docs/agent.md, "Notifications")."""

    type: str  # json | slack | command
    url: str | None = None
    url_file: str | None = None  # absolute path; the URL is read when the agent starts
    command: tuple[str, ...] = ()
    outcomes: tuple[str, ...] = ()  # empty: every outcome
    timeout: float = 10.0


@dataclass(frozen=True)
class AgentConfig:
    stacks: tuple[StackConfig, ...]
    interval: float = DEFAULT_INTERVAL
    state_dir: str = DEFAULT_STATE_DIR
    listen: str = DEFAULT_LISTEN
    # where agent.yml sets listen (None: not set, the default applies), for its errors
    listen_location: Location | None = None
    concurrency: int = DEFAULT_CONCURRENCY
    backoff_max: float = DEFAULT_BACKOFF_MAX
    git_timeout: float = DEFAULT_GIT_TIMEOUT
    source: str = "agent.yml"
    api_token_file: str | None = None  # absolute paths (relative ones: beside agent.yml)
    webhook_secret_file: str | None = None
    notify: tuple[NotifySinkConfig, ...] = ()

    def stack(self, name: str) -> StackConfig:
        for stack in self.stacks:
            if stack.name == name:
                return stack
        raise StackctlError(
            f"stack {name!r} is not in {self.source}",
            hint="stacks there: " + ", ".join(s.name for s in self.stacks),
        )


class _AgentTranslator(SchemaErrorTranslator):
    """Schema errors in agent.yml words: no hints about where stack-file keys belong."""

    def translate(self, error: ValidationError) -> list[Finding]:
        if error.validator == "minItems":
            path = tuple(error.absolute_path)
            return [self.finding(path, "must not be empty", "SC010", "list at least one")]
        return super().translate(error)

    def _unknown_key(
        self, path: tuple[str | int, ...], key: str, allowed: list[str], has_patterns: bool
    ) -> Finding:
        where = f"in {dotted(path)}" if path else "at the top level"
        guess = suggest(key, allowed)
        hint = (
            f"did you mean '{guess}'?"
            if guess
            else "allowed keys here: " + ", ".join(sorted(allowed))
        )
        return self.finding((*path, key), f"unknown key '{key}' {where}", "SC010", hint)


def _error(message: str, location: Location, path: str, hint: str | None = None) -> Finding:
    return Finding(Severity.ERROR, message, "SC010", location, path, hint)


def parse_config(text: str, file: str) -> AgentConfig:
    """Parse and check agent.yml's text; ``StackFileError`` lists every problem."""

    document = parse_document(text, file)
    locate = make_locator(document.locations, Location(file, 1, 1))
    schema = agent_schema()
    validator = Draft7Validator(schema)

    def resolve(ref: str) -> Any:
        node: Any = schema
        for part in ref.lstrip("#/").split("/"):
            node = node[part]
        return node

    translator = _AgentTranslator(locate, resolve)
    findings: list[Finding] = []
    for error in sorted(validator.iter_errors(document.data), key=lambda e: list(e.path)):
        findings.extend(translator.translate(error))
    if not findings:
        findings.extend(_semantic_checks(document.data, locate))
    if findings:
        findings.sort(key=lambda f: (f.location.line or 0, f.location.column or 0))
        raise StackFileError(findings)
    return _build(document.data, file, locate(("listen",)) if "listen" in document.data else None)


def load_config(path: str) -> AgentConfig:
    """Read agent.yml from ``path`` (see ``parse_config``)."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(1024 * 1024 + 1)
    except OSError as error:
        raise StackctlError(f"cannot read the agent config {path}: {error.strerror}") from None
    if len(raw) > 1024 * 1024:
        raise StackctlError(f"the agent config {path} is larger than 1 MiB")
    return parse_config(decode_source(raw, path), path)


def _semantic_checks(data: dict[str, Any], locate: Any) -> list[Finding]:
    """What the schema cannot say: unique names, branch xor ref, usable credentials."""
    findings: list[Finding] = []
    seen: dict[str, int] = {}
    for index, stack in enumerate(data.get("stacks", [])):
        path: Path = ("stacks", index)
        name = stack["name"]
        if name in seen:
            findings.append(
                _error(
                    f"stack '{name}' is listed twice (first as stacks[{seen[name]}])",
                    locate((*path, "name")),
                    dotted((*path, "name")),
                    "each stack may be watched once; give it one entry",
                )
            )
        seen.setdefault(name, index)
        if "branch" in stack and "ref" in stack:
            findings.append(
                _error(
                    "give either branch or ref, not both",
                    locate((*path, "ref")),
                    dotted((*path, "ref")),
                    "branch follows a branch's head; ref pins a tag or a commit",
                )
            )
        if "credentials" in stack:
            findings.extend(_credential_checks(stack, path, locate))
    for index, sink in enumerate(data.get("notify", [])):
        findings.extend(_notify_checks(sink, ("notify", index), locate))
    return findings


def _credential_checks(stack: dict[str, Any], path: Path, locate: Any) -> list[Finding]:
    """``credentials`` is HTTP basic auth: an http(s) repo and a user name are needed."""
    parts = urlsplit(str(stack["repo"]))
    where: Path = (*path, "credentials")
    if parts.scheme not in ("http", "https"):
        return [
            _error(
                "credentials apply to http:// and https:// repositories only",
                locate(where),
                dotted(where),
                "for ssh, give the agent a key (~/.ssh, or a Swarm secret in a service)",
            )
        ]
    if "username" not in stack["credentials"] and not parts.username:
        return [
            _error(
                "credentials need a username (or a user in the repo URL: https://USER@host/...)",
                locate(where),
                dotted(where),
                "add username: next to password_file",
            )
        ]
    return []


def _notify_checks(sink: dict[str, Any], path: Path, locate: Any) -> list[Finding]:
    """A webhook sink names one URL (url or url_file); a command sink names a command."""
    where = dotted(path)
    if sink["type"] == "command":
        wrong = [key for key in ("url", "url_file") if key in sink]
        if wrong:
            return [
                _error(
                    f"a command sink takes no {wrong[0]}",
                    locate((*path, wrong[0])),
                    dotted((*path, wrong[0])),
                    "give command: [argv...]; the notification comes on its stdin",
                )
            ]
        if "command" not in sink:
            return [
                _error("a command sink needs command", locate(path), where, "command: [argv...]")
            ]
        return []
    if "command" in sink:
        return [
            _error(
                f"a {sink['type']} sink takes no command",
                locate((*path, "command")),
                dotted((*path, "command")),
                "use type: command to run a command",
            )
        ]
    if ("url" in sink) == ("url_file" in sink):
        key = "url_file" if "url" in sink else "type"
        return [
            _error(
                f"a {sink['type']} sink needs exactly one of url and url_file",
                locate((*path, key)),
                where,
                "url_file keeps a URL that carries a token out of agent.yml",
            )
        ]
    return []


def seconds(text: str) -> float:
    """A schema-checked duration string in seconds."""
    try:
        return parse_duration(text) / 1e9
    except UnitError as error:  # the schema's pattern makes this unreachable in practice
        raise StackctlError(str(error)) from None


def _build(data: dict[str, Any], file: str, listen_location: Location | None) -> AgentConfig:
    interval = seconds(data["interval"]) if "interval" in data else DEFAULT_INTERVAL
    identities = _age_identities(data, file)
    base = os.path.dirname(os.path.abspath(file))
    stacks = tuple(_stack(item, interval, identities, base) for item in data["stacks"])
    return AgentConfig(
        stacks=stacks,
        interval=interval,
        state_dir=str(data.get("state_dir", DEFAULT_STATE_DIR)),
        listen=str(data.get("listen", DEFAULT_LISTEN)),
        listen_location=listen_location,
        concurrency=int(data.get("concurrency", DEFAULT_CONCURRENCY)),
        backoff_max=seconds(data["backoff_max"]) if "backoff_max" in data else DEFAULT_BACKOFF_MAX,
        git_timeout=seconds(data["git_timeout"]) if "git_timeout" in data else DEFAULT_GIT_TIMEOUT,
        source=file,
        api_token_file=_beside(file, data.get("api_token_file")),
        webhook_secret_file=_beside(file, data.get("webhook_secret_file")),
        notify=tuple(_notify_sink(item, file) for item in data.get("notify", [])),
    )


def _notify_sink(item: dict[str, Any], file: str) -> NotifySinkConfig:
    return NotifySinkConfig(
        type=str(item["type"]),
        url=str(item["url"]) if "url" in item else None,
        url_file=_beside(file, item.get("url_file")),
        command=tuple(str(a) for a in item.get("command", [])),
        outcomes=tuple(str(o) for o in item.get("on", [])),
        timeout=seconds(item["timeout"]) if "timeout" in item else 10.0,
    )


def _beside(file: str, name: object) -> str | None:
    """A path named in agent.yml, relative ones read from agent.yml's folder."""
    if name is None:
        return None
    return os.path.join(os.path.dirname(os.path.abspath(file)), str(name))


def _age_identities(data: dict[str, Any], file: str) -> tuple[str, ...]:
    """The identity files as absolute paths: relative ones are read beside agent.yml.

    Without the key, the variable the CLI honours names one (as for ``stackctl apply``).
    """
    names = [str(n) for n in data.get("age_identity_files", [])]
    if not names and os.environ.get(AGE_IDENTITY_ENV):
        names = [os.environ[AGE_IDENTITY_ENV]]
    base = os.path.dirname(os.path.abspath(file))
    return tuple(os.path.join(base, name) for name in names)


def _credentials(item: dict[str, Any], base: str) -> GitCredentials | None:
    """The password file as an absolute path (relative ones beside agent.yml, like age keys)."""
    if "credentials" not in item:
        return None
    given = item["credentials"]
    return GitCredentials(
        username=str(given.get("username", "")),
        password_file=os.path.join(base, str(given["password_file"])),
    )


def _stack(
    item: dict[str, Any], interval: float, identities: tuple[str, ...], base: str
) -> StackConfig:
    options = item.get("apply", {})
    apply = ApplySettings(
        timeout=seconds(options.get("timeout", "10m")),
        pending_timeout=seconds(options.get("pending_timeout", "2m")),
        lock_timeout=seconds(options.get("lock_timeout", "0s")),
        on_failure=str(options.get("on_failure", "rollback")),
        max_concurrent=int(options["max_concurrent"]) or None
        if "max_concurrent" in options
        else None,
        resolve_image=str(options.get("resolve_image", "never")),
        history_max=int(options.get("history_max", 10)),
    )
    ref = item.get("ref")
    return StackConfig(
        name=str(item["name"]),
        repo=str(item["repo"]),
        files=tuple(str(f) for f in item["files"]),
        branch=None if ref is not None else str(item.get("branch", "main")),
        ref=None if ref is None else str(ref),
        credentials=_credentials(item, base),
        env_files=tuple(str(f) for f in item.get("env_files", [])),
        age_identity_files=identities,
        drift=str(item.get("drift", "report")),
        prune=bool(item.get("prune", False)),
        interval=seconds(item["interval"]) if "interval" in item else interval,
        apply=apply,
    )
