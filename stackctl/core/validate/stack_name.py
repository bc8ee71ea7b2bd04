"""The stack name, checked before anything else is read or written (pure).

Every name stackctl derives from the stack name must be one the engine accepts
(swarmkit's ``manager/controlapi``):

- services and networks, ``<stack>_<key>``: a DNS name component, i.e. letters
  and digits, with ``-`` or ``_`` only between them, at most 63 characters;
- configs and secrets, ``<stack>_<key>-<hash>``: letters, digits, ``-``, ``_``
  and ``.``, starting and ending with a letter or digit, at most 64 characters;
- stackctl's own objects: the lock ``stackctl-lock-<stack>`` and the revisions
  ``stackctl-rev-<stack>-<number>[.<chunk>]`` (configs, the same 64).

The stack name itself must therefore satisfy the strictest rule (the DNS one;
a dot, a space or a leading ``-`` fails it) and leave room for the longest
derived name: a revision's. 40 characters leave 10 for ``-<number>.<chunk>``.
``docker stack deploy`` only refuses an empty or blank name and lets the
engine reject the rest one object at a time, after some were created.
"""

from __future__ import annotations

import re

from stackctl.core.model.model import Stack
from stackctl.errors import Finding, Severity, StackctlError

# swarmkit: isValidDNSName (services, networks)
DNS_NAME = re.compile(r"^[a-zA-Z0-9](?:[-_]*[A-Za-z0-9]+)*$")
SERVICE_NAME_MAX = 63
CONFIG_NAME_MAX = 64
STACK_NAME_MAX = 40
CONTENT_SUFFIX_HEX = 10  # convert.CONTENT_HASH_CHARS
CODE_DERIVED_NAME = "SC212"
DNS_RULE = (
    "letters and digits, with '-' or '_' only between them "
    "(the engine requires a valid DNS name component)"
)


def stack_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a stack name, or None when it can."""
    if not name.strip():
        return "the stack name is empty"
    if not DNS_NAME.fullmatch(name):  # Go's `$` is the end of text, not of a line
        return f"stack name {name!r} is not valid: use {DNS_RULE}"
    if len(name) > STACK_NAME_MAX:
        return (
            f"stack name {name[:20]!r}... is {len(name)} characters long; at most "
            f"{STACK_NAME_MAX} are allowed, so that every name derived from it (services, "
            "networks, configs, secrets, revisions) fits the engine's limit of 63/64"
        )
    return None


def check_stack_name(name: str) -> None:
    """Raise (exit 1, nothing written) when ``name`` cannot be a stack name."""
    problem = stack_name_problem(name)
    if problem is not None:
        raise StackctlError(problem, hint="e.g. `shop`, `shop-prod` or `shop_v2`")


def derived_name_findings(stack_name: str, stack: Stack) -> list[Finding]:
    """Names derived from ``stack_name`` and the file that the engine would refuse.

    Only lengths can fail here: the keys' characters are checked by ``validate``
    and the stack name's by ``check_stack_name``. Configs and secrets named by
    content get a ``-<10 hex>`` suffix; explicit ``name:`` and external objects
    keep their own name.
    """
    findings: list[Finding] = []

    def error(path: str, full: str, limit: int, length: int | None = None) -> None:
        findings.append(
            Finding(
                severity=Severity.ERROR,
                code=CODE_DERIVED_NAME,
                message=f"the engine name '{full}' is {length or len(full)} characters long; "
                f"Swarm allows at most {limit}",
                path=path,
                hint="use a shorter stack name or key",
            )
        )

    for key in stack.services:
        full = f"{stack_name}_{key}"
        if len(full) > SERVICE_NAME_MAX:
            error(f"services.{key}", full, SERVICE_NAME_MAX)
    for key, network in stack.networks.items():
        full = f"{stack_name}_{key}"
        if not network.external and not network.external_name and len(full) > SERVICE_NAME_MAX:
            error(f"networks.{key}", full, SERVICE_NAME_MAX)
    for kind, objects in (("configs", stack.configs), ("secrets", stack.secrets)):
        for key, obj in objects.items():
            length = len(stack_name) + 1 + len(key) + 1 + CONTENT_SUFFIX_HEX
            if not obj.external and not obj.external_name and length > CONFIG_NAME_MAX:
                error(f"{kind}.{key}", f"{stack_name}_{key}-<hash>", CONFIG_NAME_MAX, length)
    return findings
