"""The agent's per-stack state, kept in the cluster as the labels of one Swarm config.

Config ``stackctl-agent-<stack>`` (labels only; its data is a fixed marker).
Like revisions and the lock, it lives in the Raft store, so ``stackctl agent
suspend|resume|retry|status`` work from any machine and every agent on the
cluster sees the same answer. Labels are the one part of a config Swarm lets
us change; updates pass the version index, so two writers never lose each
other's change silently (the loser re-reads and re-applies its edit).

Writes happen only when a value changes: an idle pass reads this config and
writes nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping

import docker.errors

from stackctl.engine.client import EngineClient, engine_errors

STATE_PREFIX = "stackctl-agent-"
LABEL_KIND = "io.stackctl.kind"
LABEL_STACK = "io.stackctl.stack"
_MARKER = "c3RhY2tjdGwgYWdlbnQgc3RhdGUK"  # "stackctl agent state\n"
_ATTEMPTS = 5


def state_name(stack: str) -> str:
    return f"{STATE_PREFIX}{stack}"


Labels = Mapping[str, str]


def read_state_labels(client: EngineClient, stack: str) -> Labels:
    """The stack's agent-state labels (empty when none were ever written)."""
    labels, _, _ = _read(client, stack)
    return labels


def _read(client: EngineClient, stack: str) -> tuple[Labels, str | None, int]:
    with engine_errors(client.endpoint, "read the agent state"):
        try:
            raw = client.api.inspect_config(state_name(stack))
        except docker.errors.NotFound:
            return {}, None, 0
    labels: Labels = (raw.get("Spec") or {}).get("Labels") or {}
    own = {k: v for k, v in labels.items() if k not in (LABEL_KIND, LABEL_STACK)}
    return own, str(raw["ID"]), int(raw["Version"]["Index"])


def update_state_labels(
    client: EngineClient, stack: str, change: Callable[[Labels], Labels]
) -> Labels:
    """Apply ``change`` to the stored labels; write only when it changes anything."""
    api = client.api
    for _ in range(_ATTEMPTS):
        current, config_id, version = _read(client, stack)
        wanted = dict(change(current))
        if wanted == current:
            return current
        labels = {**wanted, LABEL_KIND: "agent-state", LABEL_STACK: stack}
        with engine_errors(client.endpoint, "store the agent state"):
            try:
                if config_id is None:
                    body = {"Name": state_name(stack), "Labels": labels, "Data": _MARKER}
                    response = api._post_json(api._url("/configs/create"), data=body)
                else:
                    response = api._post_json(
                        api._url("/configs/{0}/update", config_id),
                        data={"Name": state_name(stack), "Labels": labels},
                        params={"version": version},
                    )
                api._raise_for_status(response)
                return wanted
            except docker.errors.APIError as error:
                if error.status_code in (409, 500) or "out of sequence" in str(error):
                    continue  # someone else wrote meanwhile: re-read and re-apply
                raise
    return read_state_labels(client, stack)


def remove_state(client: EngineClient, stack: str) -> None:
    with (
        engine_errors(client.endpoint, "remove the agent state"),
        contextlib.suppress(docker.errors.NotFound),
    ):
        client.api.remove_config(state_name(stack))


def list_state_labels(client: EngineClient) -> dict[str, Labels]:
    """Every stack's agent-state labels, by stack name (one list call)."""
    with engine_errors(client.endpoint, "list the agent state"):
        configs = client.api.configs(filters={"label": f"{LABEL_KIND}=agent-state"})
    states: dict[str, Labels] = {}
    for config in configs:
        labels = (config.get("Spec") or {}).get("Labels") or {}
        stack = labels.get(LABEL_STACK)
        if stack:
            states[stack] = {k: v for k, v in labels.items() if k not in (LABEL_KIND, LABEL_STACK)}
    return states
