"""Image references pinned to a registry digest: ``image:tag@sha256:...``.

When an image is resolved against its registry (``--resolve-image always|changed``,
docker's behaviour) the service spec's ``ContainerSpec.Image`` holds the tagged
reference with the digest appended, and the ``com.docker.stack.image`` label keeps
the image as declared. These pure helpers split such a spec into the declared
(tagged) image and the digest, so plans compare tags and digests separately and
can say "tag unchanged, digest moved".
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from stackctl.core.convert.convert_service import engine_image
from stackctl.core.model.state import LABEL_IMAGE

DIGEST_PREFIX = "sha256:"
# The plan's pseudo field for the digest a tag resolves to (not an Engine API field).
DIGEST_FIELD = ("TaskTemplate", "ContainerSpec", "ImageDigest")


def image_of(spec: Mapping[str, Any]) -> str | None:
    image = ((spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}).get("Image")
    return image if isinstance(image, str) else None


def declared_image(spec: Mapping[str, Any]) -> str | None:
    label = (spec.get("Labels") or {}).get(LABEL_IMAGE)
    return label if isinstance(label, str) else None


def pinned_digest(spec: Mapping[str, Any]) -> str | None:
    """The digest a service spec pins its declared tag to, if it does.

    Only ``<the declared image, tagged>@sha256:...`` counts: an image the file itself
    declares by digest, or one changed behind stackctl's back, is a plain image.
    """
    image, declared = image_of(spec), declared_image(spec)
    if image is None or declared is None or "@" in declared or "@" not in image:
        return None
    name, _, digest = image.partition("@")
    if not digest.startswith(DIGEST_PREFIX) or engine_image(declared) != engine_image(name):
        return None
    return digest


def unpinned(spec: Mapping[str, Any]) -> Mapping[str, Any]:
    """``spec`` with its pinned digest removed (the declared tag), else ``spec`` itself."""
    digest = pinned_digest(spec)
    if digest is None:
        return spec
    out: dict[str, Any] = copy.deepcopy(dict(spec))
    container = out["TaskTemplate"]["ContainerSpec"]
    container["Image"] = str(container["Image"]).partition("@")[0]
    return out


def with_digest(spec: Mapping[str, Any], digest: str | None) -> Mapping[str, Any]:
    """``spec`` with its (tagged) image pinned to ``digest``; ``None`` unpins it."""
    base = unpinned(spec)
    image = image_of(base)
    if image is None or "@" in image:
        return base
    out: dict[str, Any] = copy.deepcopy(dict(base))
    if digest is not None:
        out["TaskTemplate"]["ContainerSpec"]["Image"] = f"{image}@{digest}"
    return out


def short_digest(digest: str | None) -> str:
    """``sha256:0123456789ab…``: enough to tell digests apart in a plan."""
    if not digest:
        return "(none)"
    algo, _, hexpart = digest.partition(":")
    return f"{algo}:{hexpart[:12]}…" if len(hexpart) > 12 else digest
