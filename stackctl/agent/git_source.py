"""The stack files of one commit, fetched with the ``git`` command-line client.

Why the git CLI (not dulwich): it is what users already configure and debug
(SSH keys and ``known_hosts``, credential helpers, proxies, ``insteadOf``
rewrites, every transport), it ships as one Debian package, and shallow
single-branch fetches are its native operations. dulwich would be a new
runtime dependency re-implementing that configuration surface.

Each stack gets its own clone under ``state_dir/git/<stack>``. A pass first asks
the remote which commit the branch (or tag) points at (``git ls-remote``: one
round trip, no objects); only when that commit is not checked out yet does it
``git fetch --depth 1`` that one ref and check it out. Nothing here is needed
across restarts: a lost clone is fetched again.

HTTP(S) credentials (``GitCredentials``) reach git through a credential helper
given in the environment (``GIT_CONFIG_COUNT``/``GIT_CONFIG_KEY_n``), not on the
command line: the helper is a shell function that reads the password file when
git asks, so the secret is in no argv, no environment variable, no log line and
no config dump; only the file's path travels.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from stackctl.errors import StackctlError

_SHA = re.compile(r"^[0-9a-f]{40}$")


# git runs ``!``-helpers with sh and appends the action (get/store/erase). Only ``get``
# answers; ``read`` is a shell builtin (busybox sh in the agent image has it) and drops
# the file's trailing newline. Values come from the environment git passes on.
_HELPER = (
    '!f() { test "$1" = get || exit 0; '
    'IFS= read -r p < "$STACKCTL_GIT_PASSWORD_FILE" || test -n "$p" || exit 1; '
    'test -z "$STACKCTL_GIT_USERNAME" || printf "username=%s\\n" "$STACKCTL_GIT_USERNAME"; '
    'printf "password=%s\\n" "$p"; }; f'
)


@dataclass(frozen=True)
class GitCredentials:
    """HTTP basic auth for one repository: a user name and the file holding the password."""

    username: str  # "" : the user in the repo URL
    password_file: str


class GitError(StackctlError):
    """A git operation failed (remote unreachable, bad credentials, missing ref...)."""


@dataclass(frozen=True)
class Checkout:
    """A commit's files on disk."""

    commit: str
    path: str


def redact_url(url: str) -> str:
    """``url`` without a password or token (``https://user:tok@host/x`` -> ``https://host/x``)."""
    if "://" not in url:
        return url
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def _git_env(credentials: GitCredentials | None = None) -> dict[str, str]:
    env = dict(os.environ)
    # Fail instead of prompting for a password or a host key nobody can answer.
    env["GIT_TERMINAL_PROMPT"] = "0"
    env.setdefault("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")
    env["LC_ALL"] = "C"  # error texts we can show as they are
    if credentials is not None:
        # After any configuration the environment already carries: an empty helper
        # resets the list (no user-level helper answers first), then ours.
        count = int(env.get("GIT_CONFIG_COUNT", "0") or 0)
        for offset, value in enumerate(("", _HELPER)):
            env[f"GIT_CONFIG_KEY_{count + offset}"] = "credential.helper"
            env[f"GIT_CONFIG_VALUE_{count + offset}"] = value
        env["GIT_CONFIG_COUNT"] = str(count + 2)
        env["STACKCTL_GIT_USERNAME"] = credentials.username
        env["STACKCTL_GIT_PASSWORD_FILE"] = credentials.password_file
    return env


class GitSource:
    """Fetches one repository's branch or ref into ``directory``."""

    def __init__(
        self,
        repo: str,
        directory: str,
        *,
        branch: str | None,
        ref: str | None,
        timeout: float,
        credentials: GitCredentials | None = None,
    ) -> None:
        self.repo = repo
        self.credentials = credentials
        self.directory = directory
        self.branch = branch
        self.ref = ref
        self.timeout = timeout
        self.shown = redact_url(repo)

    def _check_credentials(self) -> None:
        """A missing password file, said plainly (git would only say "authentication failed")."""
        if self.credentials is None:
            return
        path = self.credentials.password_file
        if not os.access(path, os.R_OK):
            raise GitError(
                f"{self.shown}: cannot read the credentials password_file {path}",
                hint="agent.yml credentials.password_file (a Swarm secret: /run/secrets/NAME)",
            )

    def _run(self, *args: str, cwd: str | None = None) -> str:
        if args[0] in ("ls-remote", "fetch"):
            self._check_credentials()
        try:
            done = subprocess.run(
                ["git", *args],
                cwd=cwd,
                env=_git_env(self.credentials),
                capture_output=True,
                text=True,
                timeout=self.timeout,
                check=False,
            )
        except FileNotFoundError:
            raise GitError(
                "the git command is not installed", hint="Debian: apt-get install git"
            ) from None
        except subprocess.TimeoutExpired:
            raise GitError(
                f"git {args[0]} {self.shown}: no answer within {self.timeout:g}s",
                hint="is the repository reachable from here? (git_timeout in agent.yml)",
            ) from None
        if done.returncode != 0:
            raise GitError(f"git {args[0]} {self.shown}: {self._explain(done.stderr)}")
        return done.stdout

    def _explain(self, stderr: str) -> str:
        lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
        text = "; ".join(ln.removeprefix("fatal: ") for ln in lines[-3:]) or "failed"
        # git echoes the URL it was given: never show credentials from it.
        return text.replace(self.repo, self.shown)[:500]

    def _wanted_ref(self) -> str:
        if self.branch is not None:
            return f"refs/heads/{self.branch}"
        assert self.ref is not None
        return self.ref

    def remote_commit(self) -> str:
        """The commit the branch or ref points at on the remote (``ls-remote``, no objects)."""
        if self.ref is not None and _SHA.match(self.ref):
            return self.ref
        wanted = self._wanted_ref()
        patterns = [wanted] if self.branch else [f"refs/tags/{wanted}", f"refs/heads/{wanted}"]
        out = self._run("ls-remote", "--", self.repo, *patterns)
        found: dict[str, str] = {}
        for line in out.splitlines():
            sha, _, name = line.partition("\t")
            found[name] = sha
        for name in (f"refs/tags/{wanted}^{{}}", *patterns):  # annotated tag: its commit
            if name in found:
                return found[name]
        raise GitError(f"{self.shown} has no {self.tracking}", hint="check branch/ref in agent.yml")

    @property
    def tracking(self) -> str:
        return f"branch {self.branch}" if self.branch else f"ref {self.ref}"

    def checked_out(self) -> str | None:
        """The commit currently checked out, if any."""
        if not os.path.isdir(os.path.join(self.directory, ".git")):
            return None
        try:
            return self._run("rev-parse", "--verify", "-q", "HEAD", cwd=self.directory).strip()
        except GitError:
            return None

    def checkout(self, commit: str) -> Checkout:
        """Make ``commit``'s files present in ``directory`` (fetching it if needed)."""
        if self.checked_out() == commit:
            return Checkout(commit, self.directory)
        if not os.path.isdir(os.path.join(self.directory, ".git")):
            shutil.rmtree(self.directory, ignore_errors=True)  # a half-made clone is ours
            os.makedirs(self.directory, exist_ok=True)
            self._run("init", "-q", cwd=self.directory)
        target = commit if self.ref is not None and _SHA.match(self.ref) else self._wanted_ref()
        self._run(
            "fetch", "-q", "--depth", "1", "--no-tags", "--", self.repo, target, cwd=self.directory
        )
        fetched = self._run("rev-parse", "FETCH_HEAD^{commit}", cwd=self.directory).strip()
        if fetched != commit:
            commit = fetched  # the branch moved between ls-remote and fetch: take the newer
        self._run("checkout", "-q", "--force", "--detach", commit, cwd=self.directory)
        self._run("clean", "-q", "-fdx", cwd=self.directory)
        return Checkout(commit, self.directory)
