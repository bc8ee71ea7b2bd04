"""Revision history stored in the cluster itself, as Swarm configs.

Why configs: they live in the Raft store, replicated to every manager, so the
history survives the machine (or CI runner) that deployed, and any manager can
answer ``history``/``rollback`` with no local files.

Layout of revision N of stack S:

- config ``stackctl-rev-S-N`` holds the gzip-compressed revision JSON; its labels
  carry the summary (number, outcome, time, who, digest, changes) so ``list()``
  never decodes a payload;
- if the compressed payload exceeds one config (Swarm allows < 500 KB on older
  engines), the rest goes into ``stackctl-rev-S-N.1``, ``.2``... and the first
  config's ``io.stackctl.chunks`` label says how many there are.

Revision configs carry only ``io.stackctl.*`` labels, deliberately NOT
``com.docker.stack.namespace``: with it, ``docker stack rm`` would wipe the
history and observe/prune would mistake revisions for the stack's own configs.

Numbering is safe under races: the next number is claimed by creating the
config named after it; Swarm refuses a duplicate name (409), and the loser
retries with the next number.

Write-ahead: apply and rollback record their revision *before* the first write
to the cluster, with outcome ``in_progress`` (``begin``), and set the real
outcome when the rollout ends (``finish``). A config's data is immutable, but
Swarm lets a config's *labels* be updated (with the object's version index, so
the update is atomic in Raft): the payload holds the intent, and the labels hold
how it ended (``io.stackctl.outcome``, ``io.stackctl.ended-at``) plus the image
digests learned only after the rollout. One object per revision, no second
"status" object to keep in step with it, and ``list()`` still reads labels only.
A revision still ``in_progress`` while no live stackctl holds the stack lock
belongs to an apply that died part way: readers see it as ``interrupted``.
"""

from __future__ import annotations

import base64
import builtins
import contextlib
import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

import docker
import docker.errors

from stackctl.core.history.basis import drift_basis
from stackctl.core.history.revision import (
    GitOrigin,
    Outcome,
    Revision,
    RevisionFormatError,
    current_number,
    decode_revision,
    encode_revision,
    objects_needed_by,
    revisions_needing,
    with_number,
)
from stackctl.core.model.state import ClusterState
from stackctl.engine.client import EngineClient
from stackctl.engine.lock import lock_info, lock_name
from stackctl.engine.observe import observe_stack  # only here: a rare path
from stackctl.errors import EngineError, StackctlError

REVISION_NAME_PREFIX = "stackctl-rev-"
LABEL_REV_KIND = "io.stackctl.kind"  # "revision": tells them from other stackctl objects
LABEL_REV_STACK = "io.stackctl.stack"  # the stack a revision belongs to
LABEL_REV_NUMBER = "io.stackctl.revision"
LABEL_REV_CHUNK = "io.stackctl.chunk"  # 0 on the first config, 1.. on the rest
LABEL_REV_CHUNKS = "io.stackctl.chunks"
LABEL_REV_OUTCOME = "io.stackctl.outcome"
LABEL_REV_CREATED = "io.stackctl.created-at"
LABEL_REV_WHO = "io.stackctl.who"
LABEL_REV_DIGEST = "io.stackctl.source-digest"
LABEL_REV_CHANGES = "io.stackctl.changes"
LABEL_REV_ROLLBACK_TO = "io.stackctl.rollback-to"
LABEL_REV_ENDED = "io.stackctl.ended-at"  # set by ``finish``
LABEL_REV_IMAGE_DIGESTS = "io.stackctl.image-digests"  # JSON, set by ``finish`` when known
LABEL_REV_GIT_REPO = "io.stackctl.git.repo"  # set on revisions applied from git (the agent)
LABEL_REV_GIT_COMMIT = "io.stackctl.git.commit"
LABEL_REV_GIT_REF = "io.stackctl.git.ref"
LABEL_REV_GIT_FILES = "io.stackctl.git.files"  # comma-separated
LABEL_REV_COMPLETES = "io.stackctl.completes"  # the interrupted revision this one finished

# Room left under the smallest config limit across engine versions (500 KiB).
CHUNK_BYTES = 480 * 1024
MAX_NAME = 64  # Swarm's limit on object names
DEFAULT_HISTORY_MAX = 10
_RECORD_ATTEMPTS = 50


class RevisionNotFound(StackctlError):
    """The requested revision does not exist (or was pruned)."""


@dataclass(frozen=True)
class RevisionSummary:
    """What ``history`` shows, read from labels alone."""

    number: int
    created_at: datetime | None
    who: str
    outcome: Outcome | None
    source_digest: str | None
    changes: str
    rollback_to: int | None
    git: GitOrigin | None = None
    ended_at: datetime | None = None  # when the rollout ended; None while unfinished
    completes: int | None = None  # the interrupted revision whose release this one finished


def _time(text: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(text or "")
    except ValueError:
        return None


def low_level_api(client: EngineClient | docker.APIClient) -> docker.APIClient:
    """The docker SDK's ``APIClient`` behind ``client``.

    Accepts the project's ``EngineClient`` wrapper, a ``docker.DockerClient`` or
    an ``APIClient``, so the store does not depend on the wrapper's details.
    """
    if isinstance(client, docker.APIClient):
        return client
    for attribute in ("api", "client", "docker", "sdk"):
        inner = getattr(client, attribute, None)
        if inner is not None and inner is not client:
            return low_level_api(inner)
    raise TypeError(f"cannot find a docker APIClient in {type(client).__name__}")


def _revision_name(stack: str, number: int, chunk: int = 0) -> str:
    name = f"{REVISION_NAME_PREFIX}{stack}-{number}" + (f".{chunk}" if chunk else "")
    if len(name) > MAX_NAME:
        raise StackctlError(
            f"stack name {stack!r} is too long to keep revisions "
            f"(object names are limited to {MAX_NAME} characters)",
            hint="use a stack name of at most 40 characters",
        )
    return name


def _parse_int(text: str | None) -> int | None:
    try:
        return int(text) if text not in (None, "") else None
    except ValueError:
        return None


def _summary_from_labels(labels: Mapping[str, str]) -> RevisionSummary | None:
    number = _parse_int(labels.get(LABEL_REV_NUMBER))
    if number is None:
        return None
    try:
        outcome: Outcome | None = Outcome(labels.get(LABEL_REV_OUTCOME, ""))
    except ValueError:
        outcome = None
    return RevisionSummary(
        number=number,
        created_at=_time(labels.get(LABEL_REV_CREATED)),
        ended_at=_time(labels.get(LABEL_REV_ENDED)),
        who=labels.get(LABEL_REV_WHO, ""),
        outcome=outcome,
        source_digest=labels.get(LABEL_REV_DIGEST) or None,
        changes=labels.get(LABEL_REV_CHANGES, ""),
        rollback_to=_parse_int(labels.get(LABEL_REV_ROLLBACK_TO)),
        git=_git_from_labels(labels),
        completes=_parse_int(labels.get(LABEL_REV_COMPLETES)),
    )


def _git_from_labels(labels: Mapping[str, str]) -> GitOrigin | None:
    commit = labels.get(LABEL_REV_GIT_COMMIT)
    if not commit:
        return None
    files = labels.get(LABEL_REV_GIT_FILES, "")
    return GitOrigin(
        repo=labels.get(LABEL_REV_GIT_REPO, ""),
        commit=commit,
        ref=labels.get(LABEL_REV_GIT_REF, ""),
        files=tuple(f for f in files.split(",") if f),
    )


def _labels_for(revision: Revision, chunks: int) -> dict[str, str]:
    labels = {
        LABEL_REV_KIND: "revision",
        LABEL_REV_STACK: revision.stack,
        LABEL_REV_NUMBER: str(revision.number),
        LABEL_REV_CHUNK: "0",
        LABEL_REV_CHUNKS: str(chunks),
        LABEL_REV_OUTCOME: revision.outcome.value,
        LABEL_REV_CREATED: revision.created_at.isoformat(),
        LABEL_REV_WHO: revision.actor.describe(),
        LABEL_REV_CHANGES: revision.describe(),
    }
    if revision.source_digest:
        labels[LABEL_REV_DIGEST] = revision.source_digest
    if revision.rollback_to is not None:
        labels[LABEL_REV_ROLLBACK_TO] = str(revision.rollback_to)
    if revision.completes is not None:
        labels[LABEL_REV_COMPLETES] = str(revision.completes)
    if revision.git is not None:
        labels[LABEL_REV_GIT_REPO] = revision.git.repo
        labels[LABEL_REV_GIT_COMMIT] = revision.git.commit
        labels[LABEL_REV_GIT_REF] = revision.git.ref
        labels[LABEL_REV_GIT_FILES] = ",".join(revision.git.files)
    return labels


class RevisionStore:
    """The revision history of one stack, kept in the cluster."""

    def __init__(
        self, client: EngineClient, stack_name: str, *, history_max: int = DEFAULT_HISTORY_MAX
    ) -> None:
        if history_max < 1:
            raise StackctlError("--history-max must be at least 1")
        self._client = client
        self._api = low_level_api(client)
        self.stack = stack_name
        self.history_max = history_max

    # -- reading -----------------------------------------------------------

    def _configs(self) -> builtins.list[dict[str, Any]]:
        """Every config of this stack's history (all chunks), in one list call."""
        try:
            result: builtins.list[dict[str, Any]] = self._api.configs(
                filters={"label": [f"{LABEL_REV_KIND}=revision", f"{LABEL_REV_STACK}={self.stack}"]}
            )
        except docker.errors.APIError as exc:
            raise EngineError(f"cannot list revisions of {self.stack}: {exc.explanation}") from exc
        return result

    def list(self) -> builtins.list[RevisionSummary]:
        """Every retained revision, oldest first (labels only; no payload decoded)."""
        return self._summaries(self._configs())

    def _summaries(self, configs: Iterable[Mapping[str, Any]]) -> builtins.list[RevisionSummary]:
        summaries = []
        for config in configs:
            labels = config["Spec"].get("Labels") or {}
            if labels.get(LABEL_REV_CHUNK, "0") != "0":
                continue
            summary = _summary_from_labels(labels)
            if summary is not None:
                summaries.append(summary)
        summaries.sort(key=lambda s: s.number)
        if any(s.outcome is Outcome.IN_PROGRESS for s in summaries) and not self._lock_alive():
            summaries = [_as_interrupted(s) for s in summaries]
        return summaries

    def _lock_alive(self) -> bool:
        """Whether a live stackctl holds the stack lock (so its revision is really in progress)."""
        try:
            raw = self._api.inspect_config(lock_name(self.stack))
        except docker.errors.NotFound:
            return False
        except docker.errors.APIError as exc:
            raise EngineError(f"cannot read the lock of {self.stack}: {exc.explanation}") from exc
        return not lock_info(raw).expired(time.time())

    def _decode(
        self, first: Mapping[str, Any], all_configs: Iterable[Mapping[str, Any]]
    ) -> Revision:
        labels = first["Spec"].get("Labels") or {}
        number = labels.get(LABEL_REV_NUMBER)
        chunks = _parse_int(labels.get(LABEL_REV_CHUNKS)) or 1
        parts: dict[int, bytes] = {}
        for config in all_configs:
            cl = config["Spec"].get("Labels") or {}
            if cl.get(LABEL_REV_NUMBER) == number:
                index = _parse_int(cl.get(LABEL_REV_CHUNK)) or 0
                parts[index] = base64.b64decode(config["Spec"].get("Data") or "")
        missing = [i for i in range(chunks) if i not in parts]
        if missing:
            raise RevisionFormatError(
                f"revision {number} of {self.stack} is incomplete (missing part(s) {missing})",
                hint="it may still be being written; try again",
            )
        revision = decode_revision(b"".join(parts[i] for i in range(chunks)))
        return _with_ending(revision, labels)

    def _decode_all(self) -> builtins.list[Revision]:
        configs = self._configs()
        firsts = [
            c for c in configs if (c["Spec"].get("Labels") or {}).get(LABEL_REV_CHUNK, "0") == "0"
        ]
        revisions = sorted(
            (self._decode(first, configs) for first in firsts), key=lambda r: r.number
        )
        if any(r.outcome is Outcome.IN_PROGRESS for r in revisions) and not self._lock_alive():
            revisions = [_as_interrupted(r) for r in revisions]
        return revisions

    def get(self, number: int) -> Revision:
        """Revision ``number``; raises ``RevisionNotFound`` with the numbers that exist."""
        return self._get(number, self._configs())

    def _get(self, number: int, configs: builtins.list[dict[str, Any]]) -> Revision:
        for config in configs:
            labels = config["Spec"].get("Labels") or {}
            if labels.get(LABEL_REV_NUMBER) == str(number) and labels.get(LABEL_REV_CHUNK) == "0":
                revision = self._decode(config, configs)
                if revision.outcome is Outcome.IN_PROGRESS and not self._lock_alive():
                    revision = _as_interrupted(revision)
                return revision
        known = [s.number for s in self._summaries(configs)]
        raise RevisionNotFound(
            f"stack {self.stack} has no revision {number}",
            hint=(
                f"retained revisions: {', '.join(map(str, known))}"
                if known
                else "this stack has no recorded revisions"
            ),
        )

    def all(self) -> builtins.list[Revision]:
        """Every retained revision, decoded, oldest first."""
        return self._decode_all()

    def latest_applied(self) -> Revision | None:
        """The newest revision whose apply converged, or None."""
        for summary in reversed(self.list()):
            if summary.outcome is Outcome.APPLIED:
                return self.get(summary.number)
        return None

    def unfinished(self) -> RevisionSummary | None:
        """The current revision when its rollout never finished (interrupted or running)."""
        summaries = self.list()
        current = current_number((s.number, s.outcome) for s in summaries)
        summary = next((s for s in summaries if s.number == current), None)
        if summary is not None and summary.outcome is not None and summary.outcome.unfinished:
            return summary
        return None

    def drift_basis(self) -> ClusterState | None:
        """What stackctl last wrote, for drift marks (``stackctl.core.history.basis``):
        the last applied revision, overlaid with what interrupted applies since then
        visibly wrote. Observes the stack only when there is such an apply."""
        configs = self._configs()  # one list call: summaries and payloads from one snapshot
        summaries = self._summaries(configs)
        applied = [s.number for s in summaries if s.outcome is Outcome.APPLIED]
        after = applied[-1] if applied else 0
        base = self._get(after, configs).state if applied else None
        newer = [
            s.number
            for s in summaries
            if s.number > after and s.outcome is not None and s.outcome.unfinished
        ]
        if not newer:
            return base

        live = observe_stack(self._client, self.stack)
        return drift_basis(base, [self._get(n, configs).state for n in newer], live)

    def referenced_objects(self) -> set[str]:
        """Config/secret names that retained revisions need; cleanup must keep them."""
        return set(revisions_needing(self._decode_all()))

    def objects_needed(self) -> dict[str, tuple[int, ...]]:
        """``referenced_objects`` with the numbers of the revisions needing each."""
        return objects_needed_by(self._decode_all())

    # -- writing -----------------------------------------------------------

    def record(self, revision: Revision) -> int:
        """Store ``revision`` under the next free number, prune old ones, return the number."""
        if revision.stack != self.stack:
            raise ValueError(f"revision of {revision.stack!r} recorded in {self.stack!r}")
        number = max((s.number for s in self.list()), default=0) + 1
        for _ in range(_RECORD_ATTEMPTS):
            numbered = with_number(revision, number)
            if self._try_create(numbered):
                break
            number += 1  # another recorder won this number; take the next
        else:
            raise EngineError(f"could not allocate a revision number for {self.stack}")
        self.prune()
        return number

    def begin(self, revision: Revision) -> int:
        """Record ``revision`` before the first write (write-ahead); return its number.
        Its outcome should be ``in_progress``; ``finish`` sets the real one."""
        return self.record(revision)

    def finish(
        self,
        number: int,
        outcome: Outcome,
        *,
        image_digests: Mapping[str, str] | None = None,
    ) -> None:
        """Set how revision ``number``'s rollout ended (a label update, see the module doc)."""
        extra = {LABEL_REV_ENDED: datetime.now(UTC).isoformat()}
        if image_digests:
            extra[LABEL_REV_IMAGE_DIGESTS] = json.dumps(dict(image_digests), sort_keys=True)
        self._relabel(number, outcome, extra)

    def discard(self, number: int) -> None:
        """Remove revision ``number``: its rollout ended before writing anything."""
        self._delete_numbers({number})

    def mark_interrupted(self) -> builtins.list[int]:
        """Record as ``interrupted`` every revision left ``in_progress`` by a dead apply.

        Call with the stack lock held: no other rollout can be running then.
        """
        stale = []
        for config in self._configs():
            labels = config["Spec"].get("Labels") or {}
            if labels.get(LABEL_REV_CHUNK, "0") == "0" and (
                labels.get(LABEL_REV_OUTCOME) == Outcome.IN_PROGRESS.value
            ):
                number = _parse_int(labels.get(LABEL_REV_NUMBER))
                if number is not None:
                    self._relabel(number, Outcome.INTERRUPTED, {})
                    stale.append(number)
        return sorted(stale)

    def _relabel(self, number: int, outcome: Outcome, extra: Mapping[str, str]) -> None:
        name = _revision_name(self.stack, number)
        for _ in range(5):  # the version index moves only if someone else relabels
            try:
                raw = self._api.inspect_config(name)
                spec = dict(raw["Spec"])
                labels = {**(spec.get("Labels") or {}), **extra}
                labels[LABEL_REV_OUTCOME] = outcome.value
                body = {"Name": spec["Name"], "Labels": labels, "Data": spec.get("Data", "")}
                response = self._api._post_json(
                    self._api._url("/configs/{0}/update", raw["ID"]),
                    data=body,
                    params={"version": int(raw["Version"]["Index"])},
                )
                self._api._raise_for_status(response)
                return
            except docker.errors.NotFound as exc:
                raise EngineError(f"revision {number} of {self.stack} is gone") from exc
            except docker.errors.APIError as exc:
                if exc.status_code != 409 and "out of sequence" not in str(exc.explanation):
                    raise EngineError(
                        f"cannot mark revision {name} {outcome.value}: {exc.explanation}"
                    ) from exc
        raise EngineError(f"cannot mark revision {name} {outcome.value}: it kept changing")

    def _try_create(self, revision: Revision) -> bool:
        payload = encode_revision(revision)
        parts = [payload[i : i + CHUNK_BYTES] for i in range(0, len(payload), CHUNK_BYTES)]
        labels = _labels_for(revision, len(parts))
        first_name = _revision_name(self.stack, revision.number)
        try:
            first = self._api.create_config(first_name, parts[0], labels=labels)
        except docker.errors.APIError as exc:
            if exc.status_code == 409:
                return False
            raise EngineError(f"cannot store revision {first_name}: {exc.explanation}") from exc
        created = [first["ID"]]
        try:
            for index, part in enumerate(parts[1:], start=1):
                chunk_labels = {
                    LABEL_REV_KIND: "revision",
                    LABEL_REV_STACK: self.stack,
                    LABEL_REV_NUMBER: str(revision.number),
                    LABEL_REV_CHUNK: str(index),
                }
                name = _revision_name(self.stack, revision.number, index)
                created.append(self._api.create_config(name, part, labels=chunk_labels)["ID"])
        except docker.errors.APIError as exc:
            for config_id in created:
                self._remove(config_id)
            raise EngineError(
                f"cannot store revision {first_name} ({len(payload)} bytes): {exc.explanation}"
            ) from exc
        return True

    def _remove(self, config_id: str) -> None:
        try:
            self._api.remove_config(config_id)
        except docker.errors.NotFound:
            pass  # already gone (a concurrent prune): fine
        except docker.errors.APIError as exc:
            raise EngineError(f"cannot remove revision config: {exc.explanation}") from exc

    def prune(self) -> builtins.list[int]:
        """Delete the oldest revisions beyond ``history_max``; return their numbers.

        The newest applied revision is always kept (status and rollback need a
        basis) even when newer failed attempts fill the window.
        """
        summaries = self.list()
        keep = {s.number for s in summaries[-self.history_max :]}
        # an unfinished rollout's revision is what the next apply resolves: keep it
        keep |= {s.number for s in summaries if s.outcome is Outcome.IN_PROGRESS}
        applied = [s.number for s in summaries if s.outcome is Outcome.APPLIED]
        if applied:
            keep.add(applied[-1])
        doomed = {s.number for s in summaries if s.number not in keep}
        if not doomed:
            return []
        self._delete_numbers(doomed)
        return sorted(doomed)

    def _delete_numbers(self, numbers: set[int]) -> None:
        wanted = {str(n) for n in numbers}
        for config in self._configs():
            if (config["Spec"].get("Labels") or {}).get(LABEL_REV_NUMBER) in wanted:
                self._remove(config["ID"])

    def delete_all(self) -> int:
        """Remove the whole history of the stack (``stackctl rm``); return how many."""
        numbers = {s.number for s in self.list()}
        configs = self._configs()
        for config in configs:
            self._remove(config["ID"])
        return len(numbers)


def _as_interrupted(item: Any) -> Any:
    """A revision (or its summary) left ``in_progress`` by a dead apply, as readers see it."""
    if item.outcome is Outcome.IN_PROGRESS:
        return replace(item, outcome=Outcome.INTERRUPTED)
    return item


def _with_ending(revision: Revision, labels: Mapping[str, str]) -> Revision:
    """The payload holds the intent; the labels hold how the rollout ended."""
    try:
        outcome = Outcome(labels.get(LABEL_REV_OUTCOME, ""))
    except ValueError:
        outcome = revision.outcome
    digests = revision.image_digests
    text = labels.get(LABEL_REV_IMAGE_DIGESTS)
    if text:
        # unreadable: keep the payload's (none); a rollback then re-applies the tags
        with contextlib.suppress(ValueError, AttributeError):
            digests = MappingProxyType(dict(sorted(json.loads(text).items())))
    return replace(revision, outcome=outcome, image_digests=digests)
