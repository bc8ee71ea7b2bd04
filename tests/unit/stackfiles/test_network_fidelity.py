"""Networks as docker creates them, and what the engine refuses, found before any write."""

from __future__ import annotations

from types import MappingProxyType

import pytest
from support.validation import errors

from stackctl.core.convert.convert import network_create_body, network_spec
from stackctl.core.model.model import IPAMPool, Network
from stackctl.core.model.state import ClusterState, ResourceKind, ResourceState
from stackctl.core.validate.external_networks import (
    check_external_networks,
    external_network_problems,
)
from stackctl.errors import StackctlError


def test_create_body_is_what_docker_sends() -> None:
    spec = network_spec("shop", "shop_net", Network(name="net"))
    body = network_create_body(spec)
    # No Scope (the engine scopes an overlay network to the swarm itself; sending
    # it would make any driver swarm-scoped) and no IPAM block when none is declared.
    assert "Scope" not in body and "IPAM" not in body
    assert body == {
        "Name": "shop_net",
        "Driver": "overlay",
        "Internal": False,
        "Attachable": False,
        "Options": {},
        "Labels": {"com.docker.stack.namespace": "shop"},
        "CheckDuplicate": True,
    }


def test_create_body_keeps_declared_ipam_and_options() -> None:
    network = Network(
        name="net",
        attachable=True,
        driver_opts=MappingProxyType({"com.docker.network.driver.mtu": "1400"}),
        ipam_config=(IPAMPool(subnet="10.9.0.0/24"),),
    )
    body = network_create_body(network_spec("shop", "shop_net", network))
    assert body["IPAM"] == {"Driver": "default", "Config": [{"Subnet": "10.9.0.0/24"}]}
    assert body["Options"] == {"com.docker.network.driver.mtu": "1400"}
    assert body["Attachable"] is True


NETWORK_FILE = """\
services:
  web:
    image: nginx:1.25
    networks: [{key}]
networks:
  {key}:
{body}
"""


@pytest.mark.parametrize("key", ["my.net", "net-", "net_", "a b", "net!"])
def test_network_key_the_engine_refuses(key: str) -> None:
    text = NETWORK_FILE.format(key=f'"{key}"', body="    {}")
    (finding,) = [f for f in errors(text) if f.code == "SC222"]
    assert finding.location.line == 6
    assert "valid DNS name component" in finding.message
    assert "letters and digits, with '-' or '_' only between them" in finding.message


@pytest.mark.parametrize("key", ["net", "front-end", "back_end", "_private", "n1"])
def test_network_key_the_engine_accepts(key: str) -> None:
    text = NETWORK_FILE.format(key=key, body="    {}")
    assert not [f for f in errors(text) if f.code == "SC222"]


def test_explicit_network_name_is_checked_instead_of_the_key() -> None:
    ok = NETWORK_FILE.format(key="my.net", body="    name: my-net")
    assert not errors(ok)
    bad = NETWORK_FILE.format(key="net", body="    name: my.net")
    (finding,) = errors(bad)
    assert finding.code == "SC222" and finding.path == "networks.net.name"


def test_external_and_unused_networks_are_not_created_so_not_checked() -> None:
    external = NETWORK_FILE.format(key='"my.net"', body="    external: true")
    assert not errors(external)
    unused = NETWORK_FILE.format(key="net", body="    {}") + '  "my.net": {}\n'
    assert not errors(unused)


@pytest.mark.parametrize("driver", ["bridge", "macvlan", "host"])
def test_local_scope_driver_is_refused_like_docker(driver: str) -> None:
    (finding,) = errors(NETWORK_FILE.format(key="net", body=f"    driver: {driver}"))
    assert finding.code == "SC223" and finding.path == "networks.net.driver"
    assert finding.location.line == 7
    assert "swarm-scoped" in finding.message


def test_overlay_and_plugin_drivers_are_accepted() -> None:
    for driver in ("overlay", "weaveworks/net-plugin:latest"):
        assert not errors(NETWORK_FILE.format(key="net", body=f"    driver: {driver}"))


def test_service_on_predefined_bridge_is_accepted_like_docker() -> None:
    # docker stack deploy skips non-user-defined networks; Swarm attaches the
    # service to its predefined `bridge`.
    assert not errors(NETWORK_FILE.format(key="bridge", body="    external: true"))


def _state(*networks: ResourceState) -> ClusterState:
    return ClusterState(stack="shop", networks=MappingProxyType({n.name: n for n in networks}))


def _external(name: str, scope: str | None = None) -> ResourceState:
    status = MappingProxyType({"Scope": scope} if scope else {})
    return ResourceState(ResourceKind.NETWORK, name, {"Name": name}, external=True, status=status)


def test_external_network_with_local_scope_is_refused() -> None:
    desired = _state(_external("shared"), _external("bridge"), _external("proxy"))
    live = _state(
        _external("shared", "local"), _external("bridge", "local"), _external("proxy", "swarm")
    )
    assert external_network_problems(desired, live) == [
        'network "shared" is declared as external, but it is not in the right scope: '
        '"local" instead of "swarm"'
    ]
    with pytest.raises(StackctlError, match="nothing was changed"):
        check_external_networks(desired, live)


def test_missing_external_network_is_left_to_the_plan() -> None:
    assert external_network_problems(_state(_external("shared")), _state()) == []
