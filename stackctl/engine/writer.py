"""The real ``EngineAdapter``: writes and watches through the Docker SDK's low-level API.

Specs arrive in the comparable form (references by name, see
``stackctl.core.model.state``); this module resolves network, config and secret
names to IDs when it writes them. Images are written as the desired spec holds
them (pinned to a digest by ``stackctl.engine.images`` before the plan, or the tag);
registry credentials are sent only when ``registry_auth`` gives some for the image
(``--with-registry-auth``). Service updates carry the version index they were planned against, so a
service someone changed in the meantime is refused, never silently
overwritten.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import docker.errors

from stackctl.core.convert.convert import network_create_body
from stackctl.core.history.sealed_env import sealed_names
from stackctl.core.model.state import LABEL_NAMESPACE, ResourceKind, ResourceState
from stackctl.engine.client import EngineClient, engine_errors
from stackctl.engine.containers import wait_for_containers_gone
from stackctl.errors import EngineError
from stackctl.rollout.adapter import ServiceInfo, TaskInfo, VersionConflictError

# Swarm removes a network asynchronously: it stays listed (and its name taken)
# for a few seconds after the removal was accepted, and a service created on
# it then fails with "network <id> not found".
NETWORK_GONE_TIMEOUT_S = 60.0
_POLL_S = 0.5
_NETWORK_NOT_FOUND = re.compile(r"network (\S+) not found")
_PATHS = {
    ResourceKind.NETWORK: "networks",
    ResourceKind.CONFIG: "configs",
    ResourceKind.SECRET: "secrets",
}


class SwarmWriter:
    """Implements ``stackctl.rollout.adapter.EngineAdapter`` against a real engine.

    ``registry_auth(image)``: the encoded ``X-Registry-Auth`` value to send with
    a service create/update of that image (the engine hands it to the nodes that
    pull it), or ``None`` to send none.

    Removing a network waits (bounded, saying so through ``warn``) until Swarm
    no longer lists it. Creating a service on a stack network that Swarm is
    still removing (removed by an earlier rollback, ``rm`` or prune) waits for
    it to go and creates it again from ``networks`` (the desired ones).
    """

    def __init__(
        self,
        client: EngineClient,
        *,
        registry_auth: Callable[[str], str | None] = lambda image: None,
        warn: Callable[[str], None] = lambda message: None,
        networks: Mapping[str, ResourceState] | None = None,
    ) -> None:
        self.client = client
        self.api = client.api
        self.registry_auth = registry_auth
        self.warn = warn
        self._ids: dict[ResourceKind, dict[str, str]] = {}
        # Services this writer removed: their containers may still be starting or
        # stopping, attached to the networks a rollback removes next.
        self._removed_services: set[str] = set()
        # The desired networks: one still being removed when a service needs it
        # is created afresh once it is gone.
        self._networks = dict(networks or {})

    # -- networks, configs, secrets -------------------------------------------

    def create_object(self, resource: ResourceState, content: bytes | None) -> str:
        body: dict[str, Any] = copy.deepcopy(dict(resource.spec))
        if resource.kind is ResourceKind.NETWORK:
            body = network_create_body(resource.spec)
            path = "/networks/create"
        else:
            if content is None:
                raise EngineError(f"no content for {resource.kind.value} {resource.name}")
            body["Data"] = base64.b64encode(content).decode("ascii")
            path = f"/{_PATHS[resource.kind]}/create"
        with engine_errors(self.client.endpoint, f"create {resource.kind.value} {resource.name}"):
            result = self._post(path, body)
        object_id = str(result.get("Id") or result.get("ID"))
        self._ids.setdefault(resource.kind, {})[resource.name] = object_id
        return object_id

    def update_object_labels(self, resource: ResourceState, object_id: str, version: int) -> None:
        if resource.kind is ResourceKind.NETWORK:
            raise EngineError(f"network {resource.name} cannot be updated; it must be re-created")
        body = {"Name": resource.name, "Labels": dict(resource.spec.get("Labels") or {})}
        path = f"/{_PATHS[resource.kind]}/{object_id}/update"
        with engine_errors(self.client.endpoint, f"update {resource.kind.value} {resource.name}"):
            self._checked_update(path, version, body, f"{resource.kind.value} {resource.name}")

    def remove_object(self, kind: ResourceKind, name_or_id: str) -> None:
        if kind is ResourceKind.NETWORK:
            # a container of a service removed just before would keep (or bring
            # back) the node's copy of the network: see engine/containers.py
            self._wait_removed_containers_gone()
        with (
            engine_errors(self.client.endpoint, f"remove {kind.value} {name_or_id}"),
            contextlib.suppress(docker.errors.NotFound),
        ):
            self.api._result(self.api._delete(self.api._url(f"/{_PATHS[kind]}/{{0}}", name_or_id)))
        self._ids.get(kind, {}).pop(name_or_id, None)
        if kind is ResourceKind.NETWORK:
            self.wait_network_gone(name_or_id)

    def _wait_removed_containers_gone(self) -> None:
        deadline = time.monotonic() + NETWORK_GONE_TIMEOUT_S
        with engine_errors(self.client.endpoint, "list containers"):
            wait_for_containers_gone(self.api, self._removed_services, deadline)

    def wait_network_gone(self, name_or_id: str) -> bool:
        """Poll until no network has this name or ID (True), or the bound passed (False)."""
        deadline = time.monotonic() + NETWORK_GONE_TIMEOUT_S
        announced = False
        while self._network_listed(name_or_id):
            if time.monotonic() >= deadline:
                self.warn(
                    f"network {name_or_id} is still being removed after {NETWORK_GONE_TIMEOUT_S:g}s"
                )
                return False
            if not announced:
                self.warn(
                    f"waiting for Swarm to finish removing network {name_or_id} "
                    f"(it removes networks asynchronously; up to {NETWORK_GONE_TIMEOUT_S:g}s)"
                )
                announced = True
            time.sleep(_POLL_S)
        return True

    def _network_listed(self, name_or_id: str) -> bool:
        with engine_errors(self.client.endpoint, "list networks"):
            listed = self.api.networks(filters={"name": name_or_id}) + self.api.networks(
                filters={"id": name_or_id}
            )
        return any(name_or_id in (n.get("Name"), n.get("Id")) for n in listed)

    # -- services ---------------------------------------------------------------

    def create_service(self, spec: Mapping[str, Any]) -> str:
        body = self._engine_spec(spec)
        headers = self._auth_headers(body)
        try:
            with engine_errors(self.client.endpoint, f"create service {spec.get('Name')}"):
                result = self._post("/services/create", body, headers=headers)
        except EngineError as error:
            if not self._recreate_removed_network(str(error)):
                raise
            body = self._engine_spec(spec)
            with engine_errors(self.client.endpoint, f"create service {spec.get('Name')}"):
                result = self._post("/services/create", body, headers=headers)
        return str(result["ID"])

    def _recreate_removed_network(self, error: str) -> bool:
        """After "network <id> not found": if that is a desired stack network Swarm is
        still removing, wait until it is gone and create it afresh (True)."""
        match = _NETWORK_NOT_FOUND.search(error)
        if match is None:
            return False
        ids = self._ids.get(ResourceKind.NETWORK, {})
        name = next((n for n, i in ids.items() if i == match.group(1)), None)
        wanted = self._networks.get(name) if name else None
        if name is None or wanted is None or wanted.external:
            return False
        ids.pop(name, None)
        if not self.wait_network_gone(name):
            return False
        self.create_object(wanted, None)
        return True

    def update_service(self, service_id: str, version: int, spec: Mapping[str, Any]) -> None:
        body = self._engine_spec(spec)
        name = f"service {spec.get('Name')}"
        with engine_errors(self.client.endpoint, f"update {name}"):
            self._checked_update(
                f"/services/{service_id}/update", version, body, name, self._auth_headers(body)
            )

    def remove_service(self, service_id: str) -> None:
        with (
            engine_errors(self.client.endpoint, f"remove service {service_id}"),
            contextlib.suppress(docker.errors.NotFound),
        ):
            self.api.remove_service(service_id)
        self._removed_services.add(service_id)

    def list_services(self, stack: str) -> Sequence[ServiceInfo]:
        with engine_errors(self.client.endpoint, "list the stack's services"):
            raw = self.api.services(filters={"label": f"{LABEL_NAMESPACE}={stack}"}, status=True)
        return [service_info(s) for s in raw]

    def list_tasks(self, stack: str, *, current_only: bool = True) -> Sequence[TaskInfo]:
        # "_up-to-date" keeps only tasks on their service's current spec (what
        # `docker service create/update` uses to show progress); one call per poll.
        filters = {"label": f"{LABEL_NAMESPACE}={stack}"}
        if current_only:
            filters["_up-to-date"] = "true"
        with engine_errors(self.client.endpoint, "list the stack's tasks"):
            raw = self.api.tasks(filters=filters)
        return [task_info(t) for t in raw]

    # -- helpers ------------------------------------------------------------------

    def _auth_headers(self, body: Mapping[str, Any]) -> dict[str, str] | None:
        image = ((body.get("TaskTemplate") or {}).get("ContainerSpec") or {}).get("Image")
        encoded = self.registry_auth(image) if isinstance(image, str) else None
        return {"X-Registry-Auth": encoded} if encoded else None

    def _post(
        self, path: str, body: Mapping[str, Any], headers: dict[str, str] | None = None
    ) -> dict[str, Any]:
        response = self.api._post_json(self.api._url(path), data=body, **_with_headers(headers))
        result = self.api._result(response, json=True)
        return result if isinstance(result, dict) else {}

    def _checked_update(
        self,
        path: str,
        version: int,
        body: Mapping[str, Any],
        what: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        try:
            response = self.api._post_json(
                self.api._url(path),
                data=body,
                params={"version": version},
                **_with_headers(headers),
            )
            self.api._raise_for_status(response)
        except docker.errors.APIError as error:
            text = str(error.explanation or error)
            if "out of sequence" in text or "update out of sequence" in text:
                raise VersionConflictError(
                    f"{what} changed in the cluster since it was planned (version {version})",
                    hint="someone else updated it; run `stackctl diff` and apply again",
                ) from None
            raise

    def _engine_spec(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        """The comparable spec with names resolved to IDs, ready to send."""
        body: dict[str, Any] = copy.deepcopy(dict(spec))
        task = body.get("TaskTemplate") or {}
        container = task.get("ContainerSpec") or {}
        sealed = sealed_names(spec)
        if sealed:  # a revision's digest in place of a value: never run a service with it
            raise EngineError(
                f"refusing to write service {spec.get('Name')}: the value of "
                f"{', '.join(sealed)} is a sealed digest from a revision, not the value",
                hint="re-apply the stack file that sets it (`stackctl apply -c FILE`)",
            )
        for network in task.get("Networks") or []:
            network["Target"] = self._id_of(ResourceKind.NETWORK, str(network["Target"]))
        for ref in container.get("Configs") or []:
            ref["ConfigID"] = self._id_of(ResourceKind.CONFIG, str(ref["ConfigName"]))
        for ref in container.get("Secrets") or []:
            ref["SecretID"] = self._id_of(ResourceKind.SECRET, str(ref["SecretName"]))
        credential = (container.get("Privileges") or {}).get("CredentialSpec") or {}
        if credential.get("Config"):
            credential["Config"] = self._id_of(ResourceKind.CONFIG, str(credential["Config"]))
        return body

    def _id_of(self, kind: ResourceKind, name: str) -> str:
        ids = self._ids.get(kind)
        if ids is None or name not in ids:
            ids = self._list_ids(kind)
            self._ids[kind] = ids
        wanted = self._networks.get(name) if kind is ResourceKind.NETWORK else None
        if name not in ids and wanted is not None and not wanted.external:
            # A stack network listed when the plan was made, removed since (its
            # removal was still finishing): create it afresh.
            self.warn(f"network {name} was removed meanwhile; creating it again")
            return self.create_object(wanted, None)
        if name not in ids:
            raise EngineError(
                f"{kind.value} {name} does not exist",
                hint="declare it in the stack file, or create it (external objects must exist)",
            )
        return ids[name]

    def _list_ids(self, kind: ResourceKind) -> dict[str, str]:
        with engine_errors(self.client.endpoint, f"list {kind.value}s"):
            if kind is ResourceKind.NETWORK:
                return {n["Name"]: n["Id"] for n in self.api.networks()}
            raw = self.api.configs() if kind is ResourceKind.CONFIG else self.api.secrets()
        return {o["Spec"]["Name"]: o["ID"] for o in raw}


def service_info(raw: Mapping[str, Any]) -> ServiceInfo:
    """The rollout's view of one ``GET /services?status=true`` entry."""
    spec = raw.get("Spec") or {}
    mode_spec = spec.get("Mode") or {}
    mode, replicas, completions = "replicated", None, None
    if "Global" in mode_spec:
        mode = "global"
    elif "ReplicatedJob" in mode_spec:
        mode = "replicated-job"
        completions = (mode_spec["ReplicatedJob"] or {}).get("TotalCompletions")
        if completions is None:
            completions = (mode_spec["ReplicatedJob"] or {}).get("MaxConcurrent", 1)
    elif "GlobalJob" in mode_spec:
        mode = "global-job"
    else:
        replicas = int((mode_spec.get("Replicated") or {}).get("Replicas", 1))
    update = raw.get("UpdateStatus") or {}
    job = (raw.get("JobStatus") or {}).get("JobIteration") or {}
    restart = ((spec.get("TaskTemplate") or {}).get("RestartPolicy") or {}).get("Condition")
    return ServiceInfo(
        id=str(raw["ID"]),
        name=str(spec.get("Name", "")),
        version=int((raw.get("Version") or {}).get("Index", 0)),
        mode=mode,
        replicas=replicas,
        desired_tasks=(raw.get("ServiceStatus") or {}).get("DesiredTasks"),
        total_completions=completions,
        job_iteration=job.get("Index"),
        update_state=update.get("State"),
        update_message=str(update.get("Message") or ""),
        restart_condition=str(restart or "any"),
    )


def task_info(raw: Mapping[str, Any]) -> TaskInfo:
    status = raw.get("Status") or {}
    container = status.get("ContainerStatus") or {}
    return TaskInfo(
        id=str(raw["ID"]),
        service_id=str(raw.get("ServiceID", "")),
        state=str(status.get("State", "")),
        desired_state=str(raw.get("DesiredState", "")),
        slot=raw.get("Slot"),
        node_id=raw.get("NodeID"),
        message=str(status.get("Message") or ""),
        error=str(status.get("Err") or ""),
        exit_code=container.get("ExitCode"),
        job_iteration=(raw.get("JobIteration") or {}).get("Index"),
        # an engine that omits a zero PID still names the container it ran
        pid=container.get("PID", 0 if container.get("ContainerID") else None),
    )


def _with_headers(headers: dict[str, str] | None) -> dict[str, Any]:
    # the SDK's _post_json adds Content-Type to the headers it is given: never pass None
    return {"headers": dict(headers)} if headers else {}
