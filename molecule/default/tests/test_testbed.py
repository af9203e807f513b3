"""The test bed: systemd hosts with FQDNs, one address per family, IPv6 between hosts."""

from __future__ import annotations

import ipaddress

import pytest

HOSTS = ["mx1", "mx2"]
IPV4_NET = ipaddress.ip_network("198.51.100.0/24")
IPV6_NET = ipaddress.ip_network("2001:db8:25::/64")


@pytest.mark.parametrize("name", HOSTS)
def test_host_name_is_fqdn(host_named, name):
    assert host_named(name).check_output("hostname -f") == f"{name}.example.test"


@pytest.mark.parametrize("name", HOSTS)
def test_systemd_is_pid_1_and_running(host_named, name):
    h = host_named(name)
    assert h.check_output("ps -o comm= -p 1") == "systemd"
    assert h.run("systemctl is-system-running").stdout.strip() == "running"


@pytest.mark.parametrize("name", HOSTS)
def test_one_address_of_each_family(addresses, name):
    found = addresses(name)
    assert len(found["inet"]) == 1 and found["inet"][0] in IPV4_NET
    assert len(found["inet6"]) == 1 and found["inet6"][0] in IPV6_NET


def test_mx1_reaches_mx2_over_ipv6(host_named, addresses):
    target = addresses("mx2")["inet6"][0]
    result = host_named("mx1").run(f"ping -6 -c 2 -W 2 {target}")
    assert result.rc == 0, result.stderr
    by_name = host_named("mx1").run("ping -6 -c 1 -W 2 mx2.example.test")
    assert by_name.rc == 0 and str(target) in by_name.stdout
