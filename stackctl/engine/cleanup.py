"""Remove superseded versions of a stack's content-addressed configs and secrets.

Configs and secrets are named by content (``<stack>_<name>-<hash>``), so every
content change leaves the previous object behind. After a successful apply,
an object is superseded when its logical name (``io.stackctl.name``) is still
declared but under another content name, nothing in the desired state uses it,
and no retained revision needs it (a rollback would). The engine refuses to
remove an object a service still references; that is skipped, not an error.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from stackctl.core.model.state import (
    LABEL_LOGICAL_NAME,
    LABEL_NAMESPACE,
    ClusterState,
    ResourceKind,
)
from stackctl.engine.client import EngineClient, engine_errors
from stackctl.errors import EngineError
from stackctl.rollout.checkpoints import checkpoint


def remove_superseded(
    client: EngineClient,
    desired: ClusterState,
    *,
    keep: Collection[str],
    removed: Callable[[ResourceKind, str], None] = lambda kind, name: None,
) -> list[str]:
    """Remove superseded configs/secrets of ``desired.stack``; return their names."""
    api = client.api
    label = {"label": f"{LABEL_NAMESPACE}={desired.stack}"}
    with engine_errors(client.endpoint, "list the stack's configs and secrets"):
        live = {
            ResourceKind.CONFIG: api.configs(filters=label),
            ResourceKind.SECRET: api.secrets(filters=label),
        }
    gone: list[str] = []
    for kind, objects in live.items():
        wanted = desired.of_kind(kind)
        declared = {
            (state.spec.get("Labels") or {}).get(LABEL_LOGICAL_NAME) for state in wanted.values()
        }
        for raw in objects:
            spec = raw.get("Spec") or {}
            name = str(spec.get("Name", ""))
            logical = (spec.get("Labels") or {}).get(LABEL_LOGICAL_NAME)
            if name in wanted or name in keep or logical is None or logical not in declared:
                continue
            if _remove(client, kind, str(raw["ID"])):
                gone.append(name)
                removed(kind, name)
                checkpoint("cleanup-removing")
    return gone


def _remove(client: EngineClient, kind: ResourceKind, object_id: str) -> bool:
    api = client.api
    try:
        with engine_errors(client.endpoint, f"remove a superseded {kind.value}"):
            if kind is ResourceKind.CONFIG:
                api.remove_config(object_id)
            else:
                api.remove_secret(object_id)
    except EngineError:  # gone already, or still in use by a service: keep going
        return False
    return True
