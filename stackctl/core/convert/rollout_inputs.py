"""What a rollout of stack files needs besides the plan: object payloads and depends_on.

Neither is part of a plan (payloads are secret, depends_on is not an engine
field), so apply hands them to the rollout beside it.
"""

from __future__ import annotations

from stackctl.core.model.model import DependsOn, Stack
from stackctl.core.model.state import LABEL_LOGICAL_NAME, ClusterState, ResourceKind


def file_contents(stack: Stack, desired: ClusterState) -> dict[str, bytes]:
    """Config/secret payloads by engine name, for the writer (never part of a plan)."""
    contents: dict[str, bytes] = {}
    for kind, declared in (
        (ResourceKind.CONFIG, stack.configs),
        (ResourceKind.SECRET, stack.secrets),
    ):
        for name, state in desired.of_kind(kind).items():
            key = (state.spec.get("Labels") or {}).get(LABEL_LOGICAL_NAME)
            obj = declared.get(str(key)) if key is not None else None
            if obj is not None and obj.content is not None:
                contents[name] = obj.content
    return contents


def dependencies_of(stack: Stack, stack_name: str) -> dict[str, tuple[DependsOn, ...]]:
    """``depends_on`` of each service, by full service name (``<stack>_<service>``)."""
    return {
        f"{stack_name}_{name}": service.depends_on
        for name, service in stack.services.items()
        if service.depends_on
    }
