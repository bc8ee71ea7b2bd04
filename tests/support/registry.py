"""Helpers shared by the registry tests."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable

REGISTRY = "127.0.0.1:5000"  # the registry ./dev cluster runs

# push(local_tag, "registry/repo:tag") -> the manifest digest the registry serves
Push = Callable[[str, str], str]


def registry_answers(address: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://{address}/v2/", timeout=5) as response:
            return bool(response.status == 200)
    except urllib.error.HTTPError as error:
        return error.code == 401  # up, and asks for credentials
    except OSError:
        return False
