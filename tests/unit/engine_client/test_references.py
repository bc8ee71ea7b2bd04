"""Comparable spec -> write body: the writer gives config/secret names their IDs back."""

from __future__ import annotations

from collections.abc import Iterable
from types import SimpleNamespace
from typing import Any, cast

import pytest
from support.stack_builders import every_key_stack

from stackctl.core.convert.convert import convert_stack
from stackctl.core.model.state import ClusterState
from stackctl.engine.client import EngineClient
from stackctl.engine.writer import SwarmWriter
from stackctl.errors import EngineError


class _Listing:
    """The engine's object lists, which is all the writer reads to resolve names."""

    def __init__(self, networks: Iterable[str], configs: Iterable[str], secrets: Iterable[str]):
        self._networks, self._configs, self._secrets = list(networks), configs, secrets

    def networks(self) -> list[dict[str, str]]:
        return [{"Name": name, "Id": f"id-{name}"} for name in self._networks]

    def configs(self) -> list[dict[str, Any]]:
        return [{"Spec": {"Name": name}, "ID": f"id-{name}"} for name in self._configs]

    def secrets(self) -> list[dict[str, Any]]:
        return [{"Spec": {"Name": name}, "ID": f"id-{name}"} for name in self._secrets]


def _writer(state: ClusterState, *, secrets: bool = True) -> SwarmWriter:
    networks = {
        str(n["Target"])
        for service in state.services.values()
        for n in service.spec.get("TaskTemplate", {}).get("Networks") or []
    }
    api = _Listing(networks, list(state.configs), list(state.secrets) if secrets else [])
    return SwarmWriter(cast(EngineClient, SimpleNamespace(api=api, endpoint=None)))


def test_ids_are_filled_in_and_the_comparable_spec_is_untouched() -> None:
    state = convert_stack(every_key_stack(), "st")
    writer = _writer(state)
    for service in state.services.values():
        body = writer._engine_spec(service.spec)
        container = body["TaskTemplate"]["ContainerSpec"]
        for ref in container.get("Configs", []):
            assert ref["ConfigID"] == f"id-{ref['ConfigName']}"
        for ref in container.get("Secrets", []):
            assert ref["SecretID"] == f"id-{ref['SecretName']}"
        credential = container["Privileges"]["CredentialSpec"]
        if credential:
            assert credential["Config"].startswith("id-st_cred_spec-")
        original = service.spec["TaskTemplate"]["ContainerSpec"]
        assert all("ConfigID" not in ref for ref in original.get("Configs", []))


def test_a_missing_object_is_named_in_the_error() -> None:
    state = convert_stack(every_key_stack(), "st")
    with pytest.raises(EngineError, match=r"secret st_api_key-[0-9a-f]+ does not exist"):
        _writer(state, secrets=False)._engine_spec(state.services["st_web"].spec)
