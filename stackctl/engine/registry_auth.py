"""``--with-registry-auth``: registry credentials from the docker client's config.

Like docker/cli (``command.RetrieveAuthTokenFromImage``), the credentials for an
image's registry come from the docker client configuration (``$DOCKER_CONFIG`` or
``~/.docker/config.json``, with its credential helpers) and travel to the engine
only as the ``X-Registry-Auth`` header of that deploy's requests: the distribution
inspect that resolves the digest, and the service create/update (the manager hands
them to the nodes that pull). They are never part of a spec, plan, event or revision.
"""

from __future__ import annotations

from collections.abc import Callable

import docker.auth
import docker.errors

from stackctl.errors import StackctlError

RegistryAuth = Callable[[str], str | None]


def no_registry_auth(image: str) -> str | None:
    """Without ``--with-registry-auth`` docker sends no credentials; nor does stackctl."""
    return None


def registry_auth_from_config() -> RegistryAuth:
    """``image -> encoded X-Registry-Auth`` from the docker client config (read once)."""
    try:
        config = docker.auth.load_config()
    except (docker.errors.DockerException, OSError, ValueError) as error:
        raise StackctlError(
            f"--with-registry-auth: cannot read the docker client config: {error}",
            hint="check $DOCKER_CONFIG/config.json (or ~/.docker/config.json)",
        ) from None
    cache: dict[str, str | None] = {}

    def for_image(image: str) -> str | None:
        registry, _ = docker.auth.resolve_repository_name(image)
        if registry not in cache:
            try:
                found = docker.auth.resolve_authconfig(config, registry)
            except docker.errors.DockerException as error:  # a credential helper failed
                raise StackctlError(
                    f"--with-registry-auth: no credentials for {registry}: {error}"
                ) from None
            cache[registry] = docker.auth.encode_header(found).decode("ascii") if found else None
        return cache[registry]

    return for_image
