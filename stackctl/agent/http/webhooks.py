"""Webhook deliveries: who sent it (verified), which repository and branch, once only.

Providers, told apart by their headers, each verified before anything else:

- GitHub: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>``;
  delivery id ``X-GitHub-Delivery``; event ``X-GitHub-Event`` (``push``; ``ping``
  answers without a run; others are ignored).
- GitLab: ``X-Gitlab-Token: <the secret>``; delivery id ``X-Gitlab-Event-UUID``;
  ``Push Hook`` and ``Tag Push Hook`` events.
- Generic: ``X-Stackctl-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>``;
  delivery id ``X-Stackctl-Delivery`` (optional); body ``{"repo": URL, "branch": NAME}``
  (schemas/webhook-generic.schema.json).

Comparisons are constant-time (``hmac.compare_digest``). Repository URLs are
compared normalised: scheme, credentials, port and a ``.git`` suffix dropped,
lower-cased, so a GitHub payload's ``clone_url`` matches an agent.yml ``repo``
written as ``git@github.com:org/repo.git``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from stackctl.agent.config import StackConfig

GITHUB_SIGNATURE = "x-hub-signature-256"
GITLAB_TOKEN = "x-gitlab-token"
GENERIC_SIGNATURE = "x-stackctl-signature-256"
DELIVERY_HEADERS = {
    "github": "x-github-delivery",
    "gitlab": "x-gitlab-event-uuid",
    "generic": "x-stackctl-delivery",
}
MAX_DELIVERIES = 10000
_SCP = re.compile(r"^(?:[^@/]+@)?(?P<host>[^:/]+):(?P<path>.+)$")


class Rejected(Exception):
    """The delivery is not accepted: ``status`` (401, 400) and why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Push:
    """What a verified delivery says was pushed (``ref`` None: an event with no push)."""

    provider: str
    event: str
    repos: tuple[str, ...]  # every URL the payload gives for the repository
    ref: str | None  # refs/heads/main, refs/tags/v1
    delivery: str | None


def sign(secret: bytes, body: bytes) -> str:
    """The ``sha256=<hex>`` value of a GitHub or generic signature header."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify(secret: bytes | None, headers: Mapping[str, str], body: bytes) -> str:
    """The provider whose signature checks out; ``Rejected(401)`` otherwise."""
    if secret is None:
        raise Rejected(401, "webhooks are disabled: agent.yml sets no webhook_secret_file")
    if GITHUB_SIGNATURE in headers:
        provider, given, wanted = "github", headers[GITHUB_SIGNATURE], sign(secret, body)
    elif GENERIC_SIGNATURE in headers:
        provider, given, wanted = "generic", headers[GENERIC_SIGNATURE], sign(secret, body)
    elif GITLAB_TOKEN in headers:
        provider, given, wanted = "gitlab", headers[GITLAB_TOKEN], secret.decode("latin-1")
    else:
        raise Rejected(
            401,
            "unsigned delivery: send X-Hub-Signature-256 (GitHub), X-Gitlab-Token (GitLab) "
            "or X-Stackctl-Signature-256",
        )
    if not hmac.compare_digest(
        given.strip().encode("latin-1", "replace"), wanted.encode("latin-1")
    ):
        raise Rejected(401, f"the {provider} signature does not match the webhook secret")
    return provider


def parse(provider: str, headers: Mapping[str, str], body: bytes) -> Push:
    """The pushed repository and ref from a verified delivery's body."""
    delivery = headers.get(DELIVERY_HEADERS[provider]) or None
    try:
        data: Any = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise Rejected(400, "the body is not JSON") from None
    if not isinstance(data, dict):
        raise Rejected(400, "the body is not a JSON object")
    if provider == "github":
        event = headers.get("x-github-event", "push")
        repository = data.get("repository") or {}
        urls = _strings(repository, ("clone_url", "ssh_url", "html_url", "git_url"))
        ref = data.get("ref") if event == "push" else None
    elif provider == "gitlab":
        event = headers.get("x-gitlab-event", "Push Hook")
        project = data.get("project") or {}
        urls = _strings(project, ("git_http_url", "git_ssh_url", "web_url"))
        ref = data.get("ref") if event in ("Push Hook", "Tag Push Hook") else None
    else:
        event = "push"
        repo, branch = data.get("repo"), data.get("branch")
        if not isinstance(repo, str) or not repo or not isinstance(branch, str) or not branch:
            raise Rejected(400, 'the generic payload is {"repo": URL, "branch": NAME}')
        urls, ref = (repo,), f"refs/heads/{branch}"
    if ref is not None and (not isinstance(ref, str) or not urls):
        raise Rejected(400, f"the {provider} payload has no repository URL or ref")
    return Push(provider, str(event), urls, ref, delivery)


def _strings(source: Any, keys: Sequence[str]) -> tuple[str, ...]:
    if not isinstance(source, dict):
        return ()
    return tuple(str(source[k]) for k in keys if isinstance(source.get(k), str) and source[k])


def normalize_repo(url: str) -> str:
    """``host/path`` without scheme, credentials, port, trailing slash or ``.git``; lower case.

    Local paths and ``file://`` URLs become their path.
    """
    text = url.strip()
    if "://" in text:
        parts = urlsplit(text)
        host = "" if parts.scheme == "file" else (parts.hostname or "")
        path = parts.path
    elif (found := _SCP.match(text)) is not None and not text.startswith(("/", ".")):
        host, path = found.group("host"), found.group("path")
    else:
        host, path = "", text
    path = path.rstrip("/")
    if path.endswith(".git"):
        path = path[: -len(".git")]
    return f"{host}/{path.lstrip('/')}".lower()


def matching(push: Push, stacks: Iterable[StackConfig]) -> list[str]:
    """The stacks that follow the pushed repository and branch (or tag, for ``ref:``)."""
    if push.ref is None:
        return []
    repos = {normalize_repo(url) for url in push.repos}
    kind, _, name = push.ref.removeprefix("refs/").partition("/")
    found = []
    for stack in stacks:
        if normalize_repo(stack.repo) not in repos:
            continue
        if (kind == "heads" and stack.branch == name) or (kind == "tags" and stack.ref == name):
            found.append(stack.name)
    return found


class Deliveries:
    """Delivery ids already accepted, with their run id (bounded: the newest are kept)."""

    def __init__(self, limit: int = MAX_DELIVERIES) -> None:
        self.limit = limit
        self._seen: OrderedDict[tuple[str, str], str | None] = OrderedDict()
        self._lock = threading.Lock()

    def once(
        self, provider: str, delivery: str, create: Callable[[], str | None]
    ) -> tuple[bool, str | None]:
        """``(True, create())`` the first time; ``(False, that run id)`` for a replay.

        ``create`` runs under the lock, so two copies arriving together run once.
        """
        key = (provider, delivery)
        with self._lock:
            if key in self._seen:
                return False, self._seen[key]
            run_id = create()
            self._seen[key] = run_id
            while len(self._seen) > self.limit:
                self._seen.popitem(last=False)
            return True, run_id
