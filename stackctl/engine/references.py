"""Comparable spec -> the body the engine accepts: names back to IDs.

The comparable form (``stackctl.core.model.state``) references configs and secrets
by name only; ``POST /services/create`` and ``/services/{id}/update`` need
``ConfigID``/``SecretID`` too, and a credential spec that uses a config needs
that config's ID. Networks may stay names: the engine resolves
``TaskTemplate.Networks[].Target`` names itself (that is what ``docker stack
deploy`` relies on).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from stackctl.errors import EngineError


def _lookup(ids: Mapping[str, str], name: str, kind: str, service: str) -> str:
    try:
        return ids[name]
    except KeyError:
        raise EngineError(
            f"service {service} refers to {kind} {name!r}, which does not exist",
            hint=f"create the {kind} first (external {kind}s must exist before apply)",
        ) from None


def engine_service_spec(
    spec: Mapping[str, Any],
    *,
    config_ids: Mapping[str, str],
    secret_ids: Mapping[str, str],
) -> dict[str, Any]:
    """A copy of the comparable service ``spec`` with config/secret IDs filled in.

    ``config_ids`` / ``secret_ids`` map engine object names to IDs.
    """
    out: dict[str, Any] = copy.deepcopy(dict(spec))
    service = str(out.get("Name", "?"))
    container = (out.get("TaskTemplate") or {}).get("ContainerSpec") or {}
    for ref in container.get("Configs") or []:
        ref["ConfigID"] = _lookup(config_ids, ref["ConfigName"], "config", service)
    for ref in container.get("Secrets") or []:
        ref["SecretID"] = _lookup(secret_ids, ref["SecretName"], "secret", service)
    credential = (container.get("Privileges") or {}).get("CredentialSpec")
    if isinstance(credential, dict) and credential.get("Config"):
        credential["Config"] = _lookup(config_ids, credential["Config"], "config", service)
    return out
