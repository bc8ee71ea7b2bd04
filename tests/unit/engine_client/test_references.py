"""Comparable spec -> write body: config/secret names get their IDs back."""

from __future__ import annotations

import pytest
from convert_builders import every_key_stack

from stackctl.core.convert.convert import convert_stack
from stackctl.engine.references import engine_service_spec
from stackctl.errors import EngineError


def test_ids_are_filled_in_and_the_comparable_spec_is_untouched() -> None:
    state = convert_stack(every_key_stack(), "st")
    config_ids = {name: f"id-{name}" for name in state.configs}
    secret_ids = {name: f"id-{name}" for name in state.secrets}
    for service in state.services.values():
        body = engine_service_spec(service.spec, config_ids=config_ids, secret_ids=secret_ids)
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
    config_ids = {name: "id" for name in state.configs}
    with pytest.raises(EngineError, match="st_web refers to secret 'st_api_key-"):
        engine_service_spec(state.services["st_web"].spec, config_ids=config_ids, secret_ids={})
