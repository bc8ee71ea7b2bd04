"""Which values a plan must never show.

The rule for environment variables, by name (case-insensitive):

- the name, with separators removed, *contains* one of ``PASSWORD``, ``PASSWD``,
  ``SECRET``, ``CREDENTIAL``, ``APIKEY``, ``PRIVATEKEY``, ``ACCESSKEY``
  (``DB_PASSWORD``, ``MYSQLPASSWD``, ``AWS_SECRET_ACCESS_KEY``, ``API-KEY``);
- or one of its *words* (split at ``_``, ``-``, ``.`` and camelCase humps) is
  ``KEY``/``KEYS``, ``PASS``, ``AUTH``, ``PRIVATE``, or is/ends with ``TOKEN``/``TOKENS``
  (``API_KEY``, ``DB_PASS``, ``AUTH_HEADER``, ``GITHUB_ACCESSTOKEN``).

Whole-word matching for the short stems avoids the obvious false positives:
``KEYBOARD_LAYOUT``, ``MONKEY``, ``AUTHOR``, ``PASSENGER_COUNT``, ``TOKENIZERS_PARALLELISM``
are shown. The rule errs on the side of hiding (``SSH_KEY_PATH`` is hidden): a hidden
value costs a reviewer a look at the file, a shown one can leak.

Whatever the name, values decrypted from an ``.age`` env file are sensitive: the
loader lists their names in the service label ``io.stackctl.sensitive-env``
(``sensitive_env_names``), and each function here takes those names as ``also``.

Config and secret payloads never reach a spec (``stackctl.core.model.state``), so there is
nothing to redact for them here: plans name them and their content hashes only.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

from stackctl.core.model.state import LABEL_SENSITIVE_ENV
from stackctl.core.plan.plan_model import SENSITIVE

_CONTAINED = ("PASSWORD", "PASSWD", "SECRET", "CREDENTIAL", "APIKEY", "PRIVATEKEY", "ACCESSKEY")
_WORDS = frozenset({"KEY", "KEYS", "PASS", "AUTH", "PRIVATE"})
_WORD_SUFFIXES = ("TOKEN", "TOKENS")

_CAMEL_HUMP = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SEPARATORS = re.compile(r"[^A-Za-z0-9]+")

# Env items are addressed as ``...ContainerSpec.Env[NAME]`` in plan paths.
_ENV_PATH = re.compile(r"(?:^|\.)Env\[(?P<name>[^\]]*)\]$")


def sensitive_env_names(spec: Mapping[str, Any] | None) -> frozenset[str]:
    """Env names a service spec declares sensitive (decrypted from an ``.age`` file)."""
    labels = (spec or {}).get("Labels") or {}
    value = labels.get(LABEL_SENSITIVE_ENV) if isinstance(labels, Mapping) else None
    if not isinstance(value, str):
        return frozenset()
    return frozenset(name for name in value.split(",") if name)


def is_sensitive_name(name: str, also: Collection[str] = ()) -> bool:
    """Whether an environment variable called ``name`` holds a value not to be shown."""
    if name in also:
        return True
    compact = _SEPARATORS.sub("", name).upper()
    if any(stem in compact for stem in _CONTAINED):
        return True
    words = [w.upper() for w in _SEPARATORS.split(_CAMEL_HUMP.sub("_", name)) if w]
    return any(w in _WORDS or w.endswith(_WORD_SUFFIXES) for w in words)


def is_sensitive_path(path: str, also: Collection[str] = ()) -> bool:
    """Whether a plan field path addresses a sensitive env value (``...Env[DB_PASSWORD]``)."""
    match = _ENV_PATH.search(path)
    return match is not None and is_sensitive_name(match.group("name"), also)


def redact_env_list(env: list[str], also: Collection[str] = ()) -> list[str]:
    """``["A=1", "DB_PASSWORD=x"]`` -> ``["A=1", "DB_PASSWORD=(sensitive)"]``."""
    out = []
    for item in env:
        name, sep, _ = item.partition("=")
        out.append(f"{name}={SENSITIVE}" if sep and is_sensitive_name(name, also) else item)
    return out
