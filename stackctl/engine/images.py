"""Resolve declared image tags to registry digests, as ``docker stack deploy`` does.

``--resolve-image`` (docker's flag and default, ``always``) is decided per service
before anything is planned, so the plan and the stored revision hold the digest
each service will run:

- ``always``: ask the registry (the engine's ``GET /distribution/{image}/json``)
  for every service;
- ``changed``: only for services whose declared image differs from the one the
  live service was deployed with (its ``com.docker.stack.image`` label) or that do
  not exist yet; the others keep the image reference they run;
- ``never``: no registry is contacted; a service whose declared image is unchanged
  keeps the reference it runs (so a digest pinned earlier stays pinned, as docker
  does), others use the tag.

The registry does not know the image (HTTP 404 "manifest unknown"): a
``ImageNotFoundError`` naming every such service and where its image is declared,
before anything is written. The registry cannot be asked (unreachable, refuses the
credentials, ...): docker's own warning, once per image, and the tag as declared;
unlike docker (which writes the bare tag and so restarts the tasks), a service whose
declared image is unchanged then keeps the digest it runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

import docker.errors

from stackctl.core.convert.pinning import declared_image, image_of, pinned_digest, with_digest
from stackctl.core.model.state import ClusterState, ResourceState
from stackctl.engine.client import EngineClient
from stackctl.errors import Location, StackctlError

RESOLVE_CHOICES = ("always", "changed", "never")
DEFAULT_RESOLVE = "always"  # docker stack deploy's default
# Registry lookups in flight at once: enough for a stack's distinct images, few
# enough that a large stack does not flood the engine or the registry.
_LOOKUP_WORKERS = 8


class ImageNotFoundError(StackctlError):
    """An image the files declare is not in its registry."""


def digest_warning(image: str) -> str:
    """docker/cli's warning, word for word (moby client ``digestWarning``)."""
    return (
        f"image {image} could not be accessed on a registry to record\n"
        f"its digest. Each node will access {image} independently,\n"
        "possibly leading to different nodes running different\n"
        "versions of the image.\n"
    )


@dataclass(frozen=True)
class _Answer:
    """What the registry said about one image (through the engine)."""

    digest: str | None = None
    missing: str | None = None  # "not found": the registry's explanation
    unreachable: bool = False  # no answer: docker's warning, the tag as declared


class ImageResolver:
    """Pins each desired service's image to the digest ``mode`` asks for.

    ``registry_auth`` maps a registry host to the encoded ``X-Registry-Auth``
    header value (``--with-registry-auth``); without it no credentials are sent,
    as docker sends none. ``locations`` maps a service's name in the file to where
    its ``image`` is declared, for the not-found error.
    """

    def __init__(
        self,
        client: EngineClient,
        mode: str,
        *,
        registry_auth: Callable[[str], str | None] = lambda image: None,
        locations: Mapping[str, Location] | None = None,
        warn: Callable[[str], None] = lambda message: None,
    ) -> None:
        if mode not in RESOLVE_CHOICES:
            raise StackctlError(f"--resolve-image must be always, changed or never, not {mode!r}")
        self.client = client
        self.mode = mode
        self.registry_auth = registry_auth
        self.locations = dict(locations or {})
        self.warn = warn
        self._digests: dict[str, str | None] = {}
        self._missing: dict[str, str] = {}  # image -> what the registry said
        self._fetched: dict[str, _Answer] = {}  # prefetched answers not yet recorded

    def resolve(self, desired: ClusterState, live: ClusterState) -> ClusterState:
        self._prefetch(
            self._lookup_wanted(service, live.services.get(name))
            for name, service in desired.services.items()
        )
        services: dict[str, ResourceState] = {}
        missing: list[tuple[str, str]] = []  # (service name in the file, image)
        for name, service in desired.services.items():
            pinned, lookup_failed = self._pin(service, live.services.get(name))
            if lookup_failed:
                missing.append((_short_name(name, desired.stack), image_of(service.spec) or ""))
            services[name] = pinned
        if missing:
            raise self._not_found(missing)
        return replace(desired, services=MappingProxyType(services))

    def _lookup_wanted(self, want: ResourceState, have: ResourceState | None) -> str | None:
        """The image ``_pin`` will ask the registry about for this service, if any."""
        if self.mode == "never":
            return None
        image, declared = image_of(want.spec), declared_image(want.spec)
        if image is None or declared is None or "@" in image or want.external:
            return None
        unchanged = have is not None and declared_image(have.spec) == declared
        if self.mode == "never" or (self.mode == "changed" and unchanged):
            return None
        return image

    def _prefetch(self, wanted: Iterable[str | None]) -> None:
        """Ask the registry about every image at once: each lookup is a round trip
        through the engine to the registry, so a stack of N images waits for one
        instead of N. Only the answers are fetched here; ``_lookup`` records them in
        the services' order, so warnings come out as they would one by one."""
        images = sorted({image for image in wanted if image is not None} - self._digests.keys())
        if len(images) < 2:
            return
        with ThreadPoolExecutor(max_workers=min(len(images), _LOOKUP_WORKERS)) as pool:
            self._fetched.update(zip(images, pool.map(self._fetch, images), strict=True))

    def _pin(self, want: ResourceState, have: ResourceState | None) -> tuple[ResourceState, bool]:
        image, declared = image_of(want.spec), declared_image(want.spec)
        if image is None or declared is None or "@" in image or want.external:
            return want, False  # declared by digest already: nothing to resolve
        unchanged = have is not None and declared_image(have.spec) == declared
        running = None
        if unchanged and have is not None:
            running = have.status.get("ImageDigest") or pinned_digest(have.spec)
        if self.mode == "never" or (self.mode == "changed" and unchanged):
            return _with(want, running), False
        digest = self._lookup(image)
        if image in self._missing:
            return want, True
        return _with(want, digest if digest is not None else running), False

    def _fetch(self, image: str) -> _Answer:
        """The registry's answer for ``image``: a digest, "not found", or no answer."""
        headers: dict[str, str] = {}
        encoded = self.registry_auth(image)
        if encoded:
            headers["X-Registry-Auth"] = encoded
        api = self.client.api
        try:
            url = api._url("/distribution/{0}/json", image)
            result: Any = api._result(api._get(url, headers=headers), True)
            return _Answer(digest=str(result["Descriptor"]["digest"]))
        except docker.errors.NotFound as error:
            return _Answer(missing=str(error.explanation or error))
        except (docker.errors.APIError, docker.errors.DockerException, KeyError, OSError):
            return _Answer(unreachable=True)

    def _lookup(self, image: str) -> str | None:
        if image in self._digests:
            return self._digests[image]
        answer = self._fetched.pop(image, None) or self._fetch(image)
        if answer.missing is not None:
            self._missing[image] = answer.missing
        elif answer.unreachable:
            # what docker does: warn, and let every node pull the tag itself
            self.warn(digest_warning(image))
        self._digests[image] = answer.digest
        return answer.digest

    def _not_found(self, missing: list[tuple[str, str]]) -> ImageNotFoundError:
        lines = []
        for service, image in sorted(missing):
            where = self.locations.get(service)
            at = f"{where}: " if where is not None else ""
            lines.append(f"{at}service {service}: image {image} not found in registry")
        return ImageNotFoundError(
            "\n".join(lines),
            hint="push the image (or fix its name or tag); nothing was written",
        )


def _with(service: ResourceState, digest: str | None) -> ResourceState:
    spec = with_digest(service.spec, digest)
    return service if spec is service.spec else replace(service, spec=spec)


def _short_name(name: str, stack: str) -> str:
    return name.removeprefix(f"{stack}_")


def pinned_like(reference: ClusterState) -> Callable[[ClusterState, ClusterState], ClusterState]:
    """A ``resolve`` step that pins each service to the digest ``reference`` (a state
    resolved earlier) pinned it to, asking no registry: re-planning an approved plan
    under the lock must not move its digests."""

    def resolve(desired: ClusterState, live: ClusterState) -> ClusterState:
        del live
        services = {}
        for name, service in desired.services.items():
            earlier = reference.services.get(name)
            digest = pinned_digest(earlier.spec) if earlier is not None else None
            services[name] = _with(service, digest) if digest is not None else service
        return replace(desired, services=MappingProxyType(services))

    return resolve
