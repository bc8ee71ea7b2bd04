"""Checks that depend on the cluster: external networks must be swarm-scoped (pure).

``docker stack deploy`` inspects every user-defined external network before it
writes anything and refuses one that is not swarm-scoped; the engine would
refuse the services later anyway ("Only networks scoped to the swarm can be
used"), after other objects were created. The networks every node predefines
(``bridge``, ``host``, ``none``) are not user-defined: docker skips them, and
Swarm attaches services to its own predefined copies.
"""

from __future__ import annotations

from stackctl.core.model.state import ClusterState
from stackctl.errors import StackctlError

PREDEFINED_NETWORKS = frozenset({"bridge", "host", "none", "default"})
SCOPE_KEY = "Scope"  # in an observed external network's ``status``


def external_network_problems(desired: ClusterState, live: ClusterState) -> list[str]:
    """One line per external network the engine cannot attach services to."""
    problems = []
    for name, wanted in sorted(desired.networks.items()):
        if not wanted.external or name in PREDEFINED_NETWORKS or name.startswith("container:"):
            continue
        found = live.networks.get(name)
        scope = None if found is None else found.status.get(SCOPE_KEY)
        if scope is not None and scope != "swarm":
            problems.append(
                f'network "{name}" is declared as external, but it is not in the right scope: '
                f'"{scope}" instead of "swarm"'
            )
    return problems


def check_external_networks(desired: ClusterState, live: ClusterState) -> None:
    """Raise (exit 1, before any write) when an external network is not swarm-scoped."""
    problems = external_network_problems(desired, live)
    if problems:
        raise StackctlError(
            "; ".join(problems) + "; nothing was changed",
            hint="services can only join swarm-scoped networks: create it with "
            "`docker network create --driver overlay --attachable NAME`",
        )
