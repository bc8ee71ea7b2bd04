"""Checks API answers against schemas/agent-api.schema.json (by their ``kind``)."""

from __future__ import annotations

import json
from typing import Any

from jsonschema import Draft7Validator

from support.testkit import REPO_ROOT


def check_api_document(document: Any) -> None:
    schema = json.loads((REPO_ROOT / "schemas" / "agent-api.schema.json").read_text())
    Draft7Validator(schema).validate(document)
