"""The test bed: systemd hosts with FQDNs, one address per family, IPv6 between hosts."""

from __future__ import annotations

import ipaddress
import json
import os

import pytest
import testinfra

HOSTS = ["mx1", "mx2"]
IPV4_NET = ipaddress.ip_network("198.51.100.0/24")
IPV6_NET = ipaddress.ip_network("2001:db8:25::/64")


def host(name):
    return testinfra.get_host(
        f"ansible://{name}?ansible_inventory={os.environ['MOLECULE_INVENTORY_FILE']}"
    )


def global_addresses(name):
    """Global unicast addresses of eth0, by family."""
    out = host(name).check_output("ip -j addr show dev eth0")
    found = {"inet": [], "inet6": []}
    for info in json.loads(out)[0]["addr_info"]:
        if info.get("scope") == "global":
            found[info["family"]].append(ipaddress.ip_address(info["local"]))
    return found


@pytest.mark.parametrize("name", HOSTS)
def test_host_name_is_fqdn(name):
    assert host(name).check_output("hostname -f") == f"{name}.example.test"


@pytest.mark.parametrize("name", HOSTS)
def test_systemd_is_pid_1_and_running(name):
    h = host(name)
    assert h.check_output("ps -o comm= -p 1") == "systemd"
    assert h.run("systemctl is-system-running").stdout.strip() == "running"


@pytest.mark.parametrize("name", HOSTS)
def test_one_address_of_each_family(name):
    found = global_addresses(name)
    assert len(found["inet"]) == 1 and found["inet"][0] in IPV4_NET
    assert len(found["inet6"]) == 1 and found["inet6"][0] in IPV6_NET


def test_mx1_reaches_mx2_over_ipv6():
    target = global_addresses("mx2")["inet6"][0]
    result = host("mx1").run(f"ping -6 -c 2 -W 2 {target}")
    assert result.rc == 0, result.stderr
    by_name = host("mx1").run("ping -6 -c 1 -W 2 mx2.example.test")
    assert by_name.rc == 0 and str(target) in by_name.stdout
